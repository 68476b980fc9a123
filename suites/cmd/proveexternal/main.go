// Command proveexternal proves the external path end to end, the way an
// implementer of another gateway would use it:
//
//  1. it starts the reference gateway outside the suite, by hand as a user
//     would (bin/gateway with flags): one cluster of replicas with auth off
//     and one with auth on (suites/targets/tokens.txt), each on its own
//     Redis;
//
//  2. it writes a target file for the external driver whose upstream hooks
//     are the shell scripts of suites/targets/hooks (curl to the admin API),
//     without the admin-api capability, so every upstream goes through them;
//
//  3. it runs the suites against that target, and against the process
//     driver (suites/targets/reference-process.yaml, or an existing report);
//
//  4. it checks that every requirement has the same result (pass, fail,
//     warn, skip) in both runs, except those the external run skipped for
//     external-driver reasons ("external driver: ..."), that enough
//     requirements were compared, and that JUnit test names carry the
//     requirement IDs. It writes comparison.md and the gateway x
//     requirement matrix (compare.md, compare.html) to --out.
//
//     go run ./suites/cmd/proveexternal --gateway-bin bin/gateway --ginkgo bin/ginkgo --out out/external
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/child"
	"github.com/mcpgw/conformance/suites/cmd/internal/suitepkgs"
	"github.com/mcpgw/conformance/suites/driver"
)

func main() {
	o := options{}
	flag.StringVar(&o.gatewayBin, "gateway-bin", "bin/gateway", "the reference gateway binary to start by hand")
	flag.StringVar(&o.ginkgo, "ginkgo", "bin/ginkgo", "ginkgo CLI")
	flag.StringVar(&o.suites, "suites", "", "suite packages, space-separated (default: every suite suites/all imports)")
	flag.StringVar(&o.out, "out", "out/external", "output directory")
	flag.IntVar(&o.procs, "procs", 4, "parallel Ginkgo processes for the process-driver run")
	flag.StringVar(&o.processReport, "process-report", "", "compare with this process-driver JSON report instead of running the suites again")
	flag.StringVar(&o.redisServer, "redis-server", "", "redis-server binary for the clusters (empty: an embedded Redis in this process)")
	flag.IntVar(&o.replicas, "replicas", 3, "replicas per cluster")
	flag.IntVar(&o.minCompared, "min-compared", 30, "fail unless at least this many requirements were compared")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proveexternal:", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

type options struct {
	gatewayBin, ginkgo, suites, out, processReport, redisServer string
	procs, replicas, minCompared                                int
}

func run(ctx context.Context, o options) (int, error) {
	root, err := driver.ModuleRoot(".")
	if err != nil {
		return 2, err
	}
	suites := strings.Fields(o.suites)
	if len(suites) == 0 {
		if suites, err = suitepkgs.List("go"); err != nil {
			return 2, err
		}
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	o.gatewayBin, o.ginkgo, o.out = abs(o.gatewayBin), abs(o.ginkgo), abs(o.out)
	if err := os.RemoveAll(o.out); err != nil {
		return 2, err
	}
	if err := os.MkdirAll(filepath.Join(o.out, "gateways"), 0o755); err != nil {
		return 2, err
	}

	// 1. The gateway, started outside the suite.
	adminToken := "admin-" + randomHex(12)
	var started []*gatewayProc
	defer func() {
		for _, g := range started {
			g.stop(5 * time.Second)
		}
	}()
	clusters := map[string][]string{} // "plain" | "auth" -> base URLs
	for _, name := range []string{"plain", "auth"} {
		redisURL, closeRedis, err := startRedis(ctx, o.redisServer)
		if err != nil {
			return 2, err
		}
		defer closeRedis()
		secret := "cluster-" + randomHex(12)
		for i := 1; i <= o.replicas; i++ {
			addr, err := driver.FreeAddr()
			if err != nil {
				return 2, err
			}
			args := []string{
				"--listen", addr, "--replica-id", fmt.Sprintf("r%d", i), "--advertise-url", "http://" + addr,
				"--redis", redisURL, "--cluster-secret", secret, "--admin-token", adminToken,
				"--shutdown-timeout", "1s",
			}
			if name == "auth" {
				args = append(args, "--auth-tokens", filepath.Join(root, "suites/targets/tokens.txt"))
			}
			g, err := startGateway(ctx, o.gatewayBin, args, filepath.Join(o.out, "gateways", fmt.Sprintf("%s-r%d.log", name, i)))
			if err != nil {
				return 2, err
			}
			started = append(started, g)
			clusters[name] = append(clusters[name], g.url)
		}
	}
	for _, g := range started {
		if err := g.waitReady(ctx, 15*time.Second); err != nil {
			return 2, err
		}
	}
	fmt.Printf("proveexternal: %d reference replicas running outside the suite: %s (auth: %s)\n",
		len(started), strings.Join(clusters["plain"], " "), strings.Join(clusters["auth"], " "))

	// 2. The target file: external driver, shell hooks.
	targetFile := filepath.Join(o.out, "target.yaml")
	if err := os.WriteFile(targetFile, []byte(targetYAML(root, clusters, adminToken)), 0o644); err != nil {
		return 2, err
	}

	// 3. Both runs.
	extDir := filepath.Join(o.out, "external")
	fmt.Println("proveexternal: the suites against the external target", targetFile)
	extStatus := runGinkgo(ctx, o.ginkgo, root, extDir, 1, []string{"MCPCONF_TARGET=" + targetFile}, suites)
	procReport, procDir := o.processReport, ""
	if procReport == "" {
		procDir = filepath.Join(o.out, "process")
		fmt.Println("proveexternal: the suites against the process driver (suites/targets/reference-process.yaml)")
		runGinkgo(ctx, o.ginkgo, root, procDir, o.procs,
			[]string{"MCPCONF_TARGET=" + filepath.Join(root, "suites/targets/reference-process.yaml")}, suites)
		procReport = filepath.Join(procDir, "report.json")
	}
	if ctx.Err() != nil {
		return 2, ctx.Err()
	}

	// 4. The comparison.
	c := catalog.MustLoad()
	procRuns, err := reports.Load(abs(procReport))
	if err != nil {
		return 2, fmt.Errorf("process-driver run: %w", err)
	}
	extRuns, err := reports.Load(filepath.Join(extDir, "report.json"))
	if err != nil {
		return 2, fmt.Errorf("external run (ginkgo exit %v): %w", extStatus, err)
	}
	proc, ext := reports.Build(c, procRuns), reports.Build(c, extRuns)
	written := map[string]*reports.Matrix{extDir: ext}
	if procDir != "" {
		written[procDir] = proc
	}
	var junitProblems []string
	for dir, m := range written {
		if err := writeReports(m, dir); err != nil {
			return 2, err
		}
		problems, err := reports.CheckJUnit(filepath.Join(dir, "junit.xml"), c)
		if err != nil {
			return 2, err
		}
		junitProblems = append(junitProblems, problems...)
	}
	cmp := reports.CompareRuns(proc, ext, reports.ExternalDriverSkip)
	if err := os.WriteFile(filepath.Join(o.out, "comparison.md"), []byte(cmp.Markdown("process driver", "external driver")), 0o644); err != nil {
		return 2, err
	}
	matrix := reports.NewComparison([]reports.Run{{Label: "process driver", Matrix: proc}, {Label: "external driver + hooks", Matrix: ext}})
	if err := matrix.WriteFiles(filepath.Join(o.out, "compare.md"), filepath.Join(o.out, "compare.html")); err != nil {
		return 2, err
	}

	fmt.Printf("proveexternal: %d requirements compared, %d excluded (skipped for external-driver reasons), %d different; see %s\n",
		len(cmp.Same), len(cmp.Excluded), len(cmp.Different), filepath.Join(o.out, "comparison.md"))
	for _, e := range cmp.Excluded {
		fmt.Printf("  excluded %s: %s\n", e.ID, e.Note)
	}
	var problems []string
	for _, d := range cmp.Different {
		problems = append(problems, fmt.Sprintf("%s: process driver %s, external driver %s (%s)", d.ID, d.Process, d.External, d.Note))
	}
	if len(cmp.Same) < o.minCompared {
		problems = append(problems, fmt.Sprintf("only %d requirements compared, want at least %d: the external run skipped too much", len(cmp.Same), o.minCompared))
	}
	problems = append(problems, junitProblems...)
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "proveexternal: the external path does not match the process driver:\n  "+strings.Join(problems, "\n  "))
		return 1, nil
	}
	fmt.Println("proveexternal: the external driver with shell hooks gives the process driver's results")
	return 0, nil
}

// targetYAML is the target file a user of another gateway would write.
func targetYAML(root string, clusters map[string][]string, adminToken string) string {
	list := func(urls []string) string {
		var b strings.Builder
		for _, u := range urls {
			b.WriteString("\n      - " + u)
		}
		return b.String()
	}
	hooks := filepath.Join(root, "suites/targets/hooks")
	return fmt.Sprintf(`# Written by suites/cmd/proveexternal: the reference gateway, started by
# hand, as an external target wired only through shell hooks.
name: reference gateway (external + hooks)
driver: external
external:
  replicas:%s
  auth:
    tokens: %s
    replicas:%s
  adminToken: %s
capabilities: [auth, multi-replica, cluster-headers]
profiles: [strict-405, "2026-07-28"]
eras: [session, "2026-07-28"]
readyTimeout: 5s
upstreams:
  register: hooks
  add: %s/add.sh
  change: %s/change.sh
  remove: %s/remove.sh
  timeout: 10s
`, list(clusters["plain"]), filepath.Join(root, "suites/targets/tokens.txt"), list(clusters["auth"]), adminToken, hooks, hooks, hooks)
}

// runGinkgo runs the suites into dir and returns ginkgo's exit error (a
// failing run still writes its reports, which is what is compared).
func runGinkgo(ctx context.Context, ginkgo, root, dir string, procs int, env, suites []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := []string{"--procs=" + fmt.Sprint(procs), "--timeout=10m", "--keep-going", "--succinct", "--silence-skips",
		"--output-dir=" + dir, "--junit-report=junit.xml", "--json-report=report.json"}
	if procs > 1 {
		args = append([]string{"-p"}, args...)
	}
	cmd := exec.CommandContext(ctx, ginkgo, append(args, suites...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.WaitDelay = 10 * time.Second
	return cmd.Run()
}

func writeReports(m *reports.Matrix, dir string) error {
	return m.WriteFiles(filepath.Join(dir, "summary.md"), filepath.Join(dir, "report.html"))
}

// startRedis returns a Redis URL for one cluster: a throwaway redis-server
// when bin is given, else an embedded Redis served by this process.
func startRedis(ctx context.Context, bin string) (string, func(), error) {
	if bin != "" {
		s, err := driver.StartRedisServer(ctx, bin, 10*time.Second)
		if err != nil {
			return "", nil, err
		}
		return s.URL(0), s.Close, nil
	}
	r, err := driver.StartRedis()
	if err != nil {
		return "", nil, err
	}
	return r.URL(), r.Close, nil
}

// gatewayProc is one replica started by hand.
type gatewayProc struct {
	url  string
	log  string
	proc *child.Process
}

func startGateway(ctx context.Context, bin string, args []string, logPath string) (*gatewayProc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	url := "http://" + args[1]
	// DieWithParent: an interrupted proof leaves no replica behind.
	p, err := child.Start(child.Options{Path: bin, Args: args, Name: "gateway " + url, DieWithParent: true, Tee: logFile})
	if err != nil {
		logFile.Close()
		return nil, err
	}
	go func() { <-p.Exited(); logFile.Close() }()
	return &gatewayProc{url: url, log: logPath, proc: p}, nil
}

func (g *gatewayProc) waitReady(ctx context.Context, within time.Duration) error {
	if err := g.proc.WaitReady(ctx, within, child.HTTPStatus(g.url+"/readyz", http.StatusOK)); err != nil {
		return fmt.Errorf("gateway %s: %w; log: %s", g.url, err, g.log)
	}
	return nil
}

// stop sends SIGTERM and SIGKILL after grace.
func (g *gatewayProc) stop(grace time.Duration) { g.proc.Stop(grace) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("no randomness"))
	}
	return hex.EncodeToString(b)
}

// Command repro shows a scenario against the reference gateway twice: once
// as it is, and once with an emulated bug. For each run it starts a fresh
// counter upstream (the counter binary) per upstream id the scenario names
// and a gateway replica, replays the scenario, prints the transcript and
// stops everything.
//
// It exits 0 when the scenario passes on the normal gateway and fails with
// the bug: the bug is reproduced and the scenario catches it.
//
//	go run ./scenarios/cmd/repro --gateway-bin bin/gateway --counter-bin bin/counter \
//	    --file scenarios/counter-bug.yaml --bug shared-upstream
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/scenarios"
	"github.com/mcpgw/conformance/suites/child"
	"github.com/mcpgw/conformance/suites/driver"
)

func main() {
	gatewayBin := flag.String("gateway-bin", "bin/gateway", "reference gateway binary")
	counterBin := flag.String("counter-bin", "bin/counter", "counter upstream binary")
	file := flag.String("file", "scenarios/counter-bug.yaml", "scenario YAML file")
	bug := flag.String("bug", "shared-upstream", "the --emulate-bug of the second run")
	flag.Parse()

	sc, err := scenarios.Load(*file)
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	normal, err := runOnce(ctx, sc, *gatewayBin, *counterBin, "")
	if err != nil {
		fail(err)
	}
	fmt.Println()
	buggy, err := runOnce(ctx, sc, *gatewayBin, *counterBin, *bug)
	if err != nil {
		fail(err)
	}
	fmt.Println()
	switch {
	case normal.OK() && !buggy.OK():
		fmt.Printf("reproduced: %s passes on the reference gateway and fails with --emulate-bug=%s\n", sc.Name, *bug)
	case !normal.OK():
		fail(fmt.Errorf("%s fails on the reference gateway without any emulated bug", sc.Name))
	default:
		fail(fmt.Errorf("%s passes even with --emulate-bug=%s: the bug was not reproduced", sc.Name, *bug))
	}
}

func runOnce(ctx context.Context, sc *scenarios.Scenario, gatewayBin, counterBin, bug string) (*scenarios.Result, error) {
	title := "reference gateway"
	if bug != "" {
		title += " with --emulate-bug=" + bug
	}
	fmt.Printf("=== %s\n", title)
	dir, err := os.MkdirTemp("", "mcpconf-repro-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	var ups []driver.Upstream
	for _, id := range sc.Upstreams {
		url, stopCounter, err := startCounter(ctx, counterBin)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", id, err)
		}
		defer stopCounter()
		ups = append(ups, driver.Upstream{ID: id, URL: url})
	}
	r, err := driver.StartReplica(ctx, driver.ReplicaConfig{
		Bin: gatewayBin, Dir: dir, ID: "repro", Upstreams: ups, Tokens: sc.Tokens,
		ShutdownTimeout: time.Second, EmulateBug: bug,
	})
	if err != nil {
		return nil, err
	}
	defer r.Stop(5 * time.Second)
	return scenarios.Run(ctx, sc, r.URL(), os.Stdout, scenarios.Options{}), nil
}

// startCounter runs the counter binary on a free loopback port and waits for
// its /stats to answer.
func startCounter(ctx context.Context, bin string) (string, func(), error) {
	var lastErr error
	for range 3 {
		addr, err := driver.FreeAddr()
		if err != nil {
			return "", nil, err
		}
		p, err := child.Start(child.Options{Path: bin, Args: []string{"--listen", addr}, Name: "counter", DieWithParent: true})
		if err != nil {
			return "", nil, err
		}
		stop := func() { p.Stop(3 * time.Second) }
		if err := p.WaitReady(ctx, 10*time.Second, child.HTTPStatus("http://"+addr+"/stats", http.StatusOK)); err != nil {
			stop()
			lastErr = fmt.Errorf("%w\n%s", err, p.Log()) // its log, shown only if it fails to come up
			continue
		}
		return "http://" + addr + "/mcp", stop, nil
	}
	return "", nil, fmt.Errorf("counter did not come up: %w", lastErr)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "repro:", err)
	os.Exit(1)
}

// Command bench measures the reference gateway against a bare reverse proxy
// in front of the counter fake, and checks the performance bounds README's
// "Performance" section lists. `make bench` runs it; results go to
// out/bench.{json,md,svg}.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/bench"
)

func main() {
	var (
		serveProxy = flag.String("serve-proxy", "", "internal: run the bare proxy in front of this upstream URL")
		listen     = flag.String("listen", "127.0.0.1:0", "internal: the bare proxy's address")
		binDir     = flag.String("bin", "bin", "directory holding gateway, counter and wedge")
		outDir     = flag.String("out", "out", "where bench.json, bench.md and bench.svg go")
		rounds     = flag.Int("rounds", 3, "interleaved rounds (at least 3)")
		sessions   = flag.Int("sessions", 500, "held sessions for the memory figure")
		crossCheck = flag.Int("cross-check-sessions", 2000, "held sessions for the memory figure's cross-check at a larger scale; 0 = none")
		wedged     = flag.Int("wedged", 1000, "wedged upstream sessions for the shutdown figure")
		only       = flag.String("only", "", "comma list of parts to run: load, memory, shutdown, nonowner (default all)")
		gatewayEnv = flag.String("gateway-env", "", "comma list of KEY=VALUE added to each gateway's environment, e.g. GOGC=200")
	)
	flag.Parse()
	if *serveProxy != "" {
		if err := bench.ServeProxy(*listen, *serveProxy); err != nil {
			fmt.Fprintln(os.Stderr, "bench proxy:", err)
			os.Exit(1)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	bin, _ := filepath.Abs(*binDir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	cfg := bench.Config{
		BinDir: bin, Self: self, OutDir: *outDir, Rounds: *rounds, Sessions: *sessions, Wedged: *wedged,
		CrossCheckSessions: *crossCheck,
		Only:               map[string]bool{}, GatewayEnv: map[string]string{},
		Logf: func(format string, args ...any) { fmt.Printf("bench: "+format+"\n", args...) },
	}
	if *crossCheck == 0 {
		cfg.CrossCheckSessions = -1 // the library's zero means its default
	}
	for _, part := range strings.Split(*only, ",") {
		if part = strings.TrimSpace(part); part != "" {
			cfg.Only[part] = true
		}
	}
	for _, kv := range strings.Split(*gatewayEnv, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			cfg.GatewayEnv[k] = v
		}
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Println()
	fmt.Print(bench.Markdown(res))
	fmt.Printf("\nwritten: %s/bench.json, bench.md, bench.svg (took %s)\n", *outDir, time.Since(start).Round(time.Second))
	for _, c := range res.Checks {
		if !c.OK {
			os.Exit(1)
		}
	}
}

// Command soak runs the reference gateway's reliability checks under load
// and faults (suites/soak): `make soak` for the full run, `make soak-short`
// for the variant `make test` runs. It prints one table of figures and
// checks, writes it to --out, and exits 1 when a check fails, 2 when the
// soak could not run.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/soak"
)

func main() {
	var (
		gatewayBin  = flag.String("gateway-bin", "bin/gateway", "the gateway binary")
		redisServer = flag.String("redis-server", "redis-server", "a real redis-server binary")
		short       = flag.Bool("short", false, "the short variant (about a minute)")
		out         = flag.String("out", "out/soak", "where soak.md and soak.json go")
		budget      = flag.Duration("timeout", 10*time.Minute, "the whole run's deadline")
		only        = flag.String("only", "", "comma list of phases to run (load, kill, stop, redis, idle, malformed); default all")
	)
	flag.Parse()
	cfg := soak.Full()
	if *short {
		cfg = soak.Short()
	}
	cfg.GatewayBin, cfg.RedisServer = *gatewayBin, *redisServer
	if *only != "" {
		cfg.Only = map[string]bool{}
		for _, p := range strings.Split(*only, ",") {
			name, ok := soak.PhaseByKey(strings.TrimSpace(p))
			if !ok {
				fmt.Fprintf(os.Stderr, "soak: unknown phase %q (load, kill, stop, redis, idle, malformed)\n", p)
				os.Exit(2)
			}
			cfg.Only[name] = true
		}
	}
	cfg.Logf = func(format string, args ...any) { fmt.Printf("soak: "+format+"\n", args...) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *budget)
	defer cancel()
	rep, err := soak.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak: could not run:", err)
		os.Exit(2)
	}
	md := rep.Markdown()
	fmt.Print("\n" + md)
	if err := os.MkdirAll(*out, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(*out, "soak.md"), []byte(md), 0o644)
		if b, err := json.MarshalIndent(rep, "", "  "); err == nil {
			_ = os.WriteFile(filepath.Join(*out, "soak.json"), b, 0o644)
		}
	}
	if len(rep.Failed()) > 0 {
		os.Exit(1)
	}
}

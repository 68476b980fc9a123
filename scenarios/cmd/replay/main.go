// Command replay runs one scenario against a running gateway and prints its
// transcript. It exits 1 when an expectation fails or a step cannot run.
//
//	go run ./scenarios/cmd/replay --gateway http://127.0.0.1:8080 --file scenarios/counter-bug.yaml
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/mcpgw/conformance/scenarios"
)

func main() {
	gateway := flag.String("gateway", "", "gateway base URL, e.g. http://127.0.0.1:8080 (sessions open on <url><route>)")
	file := flag.String("file", "", "scenario YAML file")
	stepTimeout := flag.Duration("step-timeout", 10*time.Second, "bound on each step")
	flag.Parse()
	if *gateway == "" || *file == "" {
		fmt.Fprintln(os.Stderr, "usage: replay --gateway URL --file SCENARIO.yaml")
		os.Exit(2)
	}
	sc, err := scenarios.Load(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if res := scenarios.Run(ctx, sc, *gateway, os.Stdout, scenarios.Options{StepTimeout: *stepTimeout}); !res.OK() {
		os.Exit(1)
	}
}

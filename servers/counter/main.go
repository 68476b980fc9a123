// Command counter runs the counter fake upstream MCP server: tools increment,
// get and reset over one counter per upstream session, plus GET /stats.
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mcpgw/conformance/fakes/counter"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}

// run is main without the process: flags from args, logs to stderr.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("counter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9001", "address to serve /mcp, /stats and /control on")
	name := fs.String("name", "", "the upstream id it is known by: names its resource template counter://<name>/{name} (default random)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	err := counter.ListenAndServe(ctx, log, *listen, counter.New(counter.Options{Logger: log, Name: *name}))
	if err != nil {
		log.Error("counter failed", "err", err)
	}
	return err
}

// Command wedge runs the wedge fake upstream MCP server: the counter, with
// the operations named by --wedge made to hang for real.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/mcpgw/conformance/fakes/wedge"
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
	fs := flag.NewFlagSet("wedge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9002", "address to serve /mcp, /stats and /control on")
	wedges := fs.String("wedge", "", fmt.Sprintf("comma separated operations to wedge: %v", wedge.Modes))
	name := fs.String("name", "", "the upstream id it is known by: names its resource template counter://<name>/{name} (default random)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	modes, err := wedge.ParseModes(*wedges)
	if err != nil {
		log.Error("bad --wedge", "err", err)
		return err
	}
	log.Info("wedging", "modes", modes)
	err = counter.ListenAndServe(ctx, log, *listen, wedge.New(wedge.Options{Logger: log, Modes: modes, Name: *name}))
	if err != nil {
		log.Error("wedge failed", "err", err)
	}
	return err
}

// Command withredis runs a command against a throwaway real Redis: it starts
// redis-server on a free loopback port with persistence off, runs the
// command with MCPCONF_REDIS pointing at database 0 of it, and stops the
// server afterwards whether the command passed, failed or was interrupted.
// It exits with the command's exit code.
//
//	go run ./suites/cmd/withredis -- bin/ginkgo --label-filter=multi-replica ./suites/crosspod
//
// make conformance-crosspod-redis runs every multi-replica spec this way.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/cmd/internal/wrapped"
	"github.com/mcpgw/conformance/suites/driver"
	"github.com/mcpgw/conformance/suites/targetconf"
)

func main() {
	bin := flag.String("redis-server", "redis-server", "the redis-server binary")
	logPath := flag.String("log", "", "write the server's log here when it stops (default: discard)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: withredis [--redis-server BIN] [--log FILE] -- COMMAND [ARG...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(*bin, *logPath, flag.Args()))
}

func run(bin, logPath string, command []string) int {
	// Signals are noted from the start: an interrupt while the server starts
	// must still stop it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	srv, err := driver.StartRedisServer(context.Background(), bin, 15*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "withredis:", err)
		return 2
	}
	defer func() {
		srv.Close()
		if logPath != "" {
			if err := os.WriteFile(logPath, []byte(srv.Log()), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "withredis: write the server log:", err)
			}
		}
	}()
	url := srv.URL(0)
	fmt.Fprintf(os.Stderr, "withredis: redis-server at %s (%s=%s)\n", srv.Addr(), targetconf.EnvRedis, url)

	return wrapped.Run("withredis", command, []string{targetconf.EnvRedis + "=" + url}, sigs)
}

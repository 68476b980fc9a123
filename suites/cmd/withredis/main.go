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
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/driver"
	"github.com/mcpgw/conformance/suites/target"
)

// interruptGrace bounds how long an interrupted command may take to stop.
const interruptGrace = time.Minute

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
	fmt.Fprintf(os.Stderr, "withredis: redis-server at %s (%s=%s)\n", srv.Addr(), target.EnvRedis, url)

	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(), target.EnvRedis+"="+url)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "withredis:", err)
		return 2
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var giveUp <-chan time.Time // armed by the first signal
	for {
		select {
		case sig := <-sigs:
			// Pass it on and keep waiting, for a bounded time: the command
			// decides how to stop (Ginkgo cleans up its specs), and the
			// server is stopped once it has.
			_ = cmd.Process.Signal(sig)
			if giveUp == nil {
				giveUp = time.After(interruptGrace)
			}
		case <-giveUp:
			fmt.Fprintf(os.Stderr, "withredis: the command still runs %s after the interrupt; killing it\n", interruptGrace)
			_ = cmd.Process.Kill()
			giveUp = nil
		case err := <-done:
			var exit *exec.ExitError
			switch {
			case err == nil:
				return 0
			case errors.As(err, &exit):
				if code := exit.ExitCode(); code > 0 {
					return code
				}
				return 1 // killed by a signal
			default:
				fmt.Fprintln(os.Stderr, "withredis:", err)
				return 2
			}
		}
	}
}

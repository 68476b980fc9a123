// Package wrapped runs the command that a with* tool (withredis,
// withcontainers) wraps around a resource it owns.
package wrapped

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// InterruptGrace bounds how long an interrupted command may take to stop.
const InterruptGrace = time.Minute

// Run starts command with env added to this process's environment and
// waits for it. Signals arriving on sigs are passed on, and the command is
// killed InterruptGrace after the first, so the caller's cleanup always
// runs. It returns the exit code the tool should exit with.
func Run(tool string, command, env []string, sigs <-chan os.Signal) int {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", tool, err)
		return 2
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var giveUp <-chan time.Time // armed by the first signal
	for {
		select {
		case sig := <-sigs:
			// Pass it on and keep waiting, for a bounded time: the command
			// decides how to stop (Ginkgo cleans up its specs).
			_ = cmd.Process.Signal(sig)
			if giveUp == nil {
				giveUp = time.After(InterruptGrace)
			}
		case <-giveUp:
			fmt.Fprintf(os.Stderr, "%s: the command still runs %s after the interrupt; killing it\n", tool, InterruptGrace)
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
				fmt.Fprintf(os.Stderr, "%s: %v\n", tool, err)
				return 2
			}
		}
	}
}

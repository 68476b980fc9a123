// Command withcontainers runs a command (a ginkgo run, the self-test) on the
// container driver with one set of images and one Docker network for the
// whole of it: it builds the images the target does not name, FROM scratch
// and with the build output shown, creates the network, runs the command
// with MCPCONF_DRIVER=container and the run's MCPCONF_* variables, and then
// removes every container, the network and the images it made, whether the
// command passed, failed or was interrupted. It exits with the command's
// exit code.
//
//	go run ./suites/cmd/withcontainers --bin bin -- bin/ginkgo -r suites
//
// make conformance-containers and make selftest-containers run this way.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/cmd/internal/wrapped"
	"github.com/mcpgw/conformance/suites/driver"
	"github.com/mcpgw/conformance/suites/targetconf"
)

func main() {
	bin := flag.String("bin", "", "directory of prebuilt static binaries gateway, counter, wedge (default: build them)")
	redisServer := flag.String("redis-server", "redis-server", "the redis-server the default Redis image is made of")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: withcontainers [--bin DIR] [--redis-server BIN] -- COMMAND [ARG...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(*bin, *redisServer, flag.Args()))
}

func run(bin, redisServer string, command []string) int {
	// An interrupt during the builds stops them; what was made is removed.
	ctx, stopPrep := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopPrep()

	// The target decides which images exist already (gateway.image,
	// container.*Image, MCPCONF_*_IMAGE); the others are built.
	t, err := targetconf.Load(func(k string) string {
		if k == targetconf.EnvDriver {
			return targetconf.DriverContainer
		}
		return os.Getenv(k)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "withcontainers:", err)
		return 2
	}
	root, err := driver.ModuleRoot(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "withcontainers:", err)
		return 2
	}
	start := time.Now()
	c, err := driver.PrepareContainers(ctx, driver.ContainerOptions{
		Root:           root,
		GatewayPackage: t.Gateway.Package,
		Images: driver.ContainerImages{
			Gateway: t.Gateway.Image, Counter: t.Container.CounterImage,
			Wedge: t.Container.WedgeImage, Redis: t.Container.RedisImage,
		},
		BinDir:      bin,
		RedisServer: redisServer,
		Network:     t.Container.Network,
		GatewayPort: t.Container.Port,
		Progress:    os.Stderr,
		Log:         io.Discard,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "withcontainers:", err)
		return 2
	}
	defer func() {
		if err := c.Close(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "withcontainers: cleanup:", err)
			return
		}
		fmt.Fprintf(os.Stderr, "withcontainers: removed run %s: its containers, network and built images\n", c.Run.ID)
	}()
	fmt.Fprintf(os.Stderr, "withcontainers: run %s ready in %s: network %s, images %s %s %s %s\n",
		c.Run.ID, time.Since(start).Round(10*time.Millisecond), c.Run.Network,
		c.Run.Images.Gateway, c.Run.Images.Counter, c.Run.Images.Wedge, c.Run.Images.Redis)

	env := c.Env()
	if _, set := os.LookupEnv(driver.EnvRyukDisabled); !set {
		env = append(env, driver.EnvRyukDisabled+"=true")
	}
	// From here, signals go to the command.
	stopPrep()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	return wrapped.Run("withcontainers", command, env, sigs)
}

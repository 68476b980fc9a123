package counter

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace bounds how long a stopping fake program waits for requests.
const ShutdownGrace = 2 * time.Second

// Fake is what ListenAndServe runs: the counter or the wedge.
type Fake interface {
	Handler() http.Handler
	Close()
}

// ListenAndServe is the whole life of a fake program: listen on addr (":0"
// works; the real address is logged as "listening" with attr addr), serve
// until ctx ends, then shut down: Shutdown with ShutdownGrace, Close, and
// the fake's Close.
func ListenAndServe(ctx context.Context, log *slog.Logger, addr string, fake Fake) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fake.Close()
		return err
	}
	srv := &http.Server{Handler: fake.Handler(), ReadHeaderTimeout: 10 * time.Second}
	// Start closing the fake as soon as shutdown starts: it ends the SSE
	// streams and releases the wedges that would otherwise hold Shutdown
	// for its whole grace period.
	srv.RegisterOnShutdown(fake.Close)
	log.Info("listening", "addr", ln.Addr().String())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served: // Serve failed on its own
		served = nil
	case <-ctx.Done():
		log.Info("shutting down")
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		log.Warn("shutdown incomplete, closing", "err", serr)
	}
	_ = srv.Close()
	fake.Close()
	if served != nil {
		err = <-served // ErrServerClosed, now that Shutdown closed the listener
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("stopped")
	return err
}

package counter

import (
	"iter"
	"slices"

	"github.com/mcpgw/conformance/fakes"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Stats is a deep copy of what GET /stats serves.
func (s *Server) Stats() fakes.Stats {
	st := s.st.snapshot()
	s.rte.fill(&st)
	return st
}

// DropSessions simulates a restart: every live session is forgotten (ended
// as expired) and later requests carrying its id get 404.
func (s *Server) DropSessions() { s.dropSessions() }

func (s *Server) dropSessions() int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.st.closed {
		return 0
	}
	dropped := s.st.endAllLocked(fakes.EndExpired)
	for _, ss := range dropped {
		// Closing waits for the session's in-flight calls, which a wedge may
		// hold until Close, so it must not block the caller.
		s.closers.Go(func() { _ = ss.Close() })
	}
	if len(dropped) > 0 {
		s.log.Info("sessions dropped", "count", len(dropped))
	}
	return len(dropped)
}

// Close ends every session (reason closed), releases every wedged request and
// waits until the fake's requests and goroutines are gone. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.st.mu.Lock()
		s.st.closed = true
		live := s.st.endAllLocked(fakes.EndClosed)
		s.st.mu.Unlock()

		close(s.done) // first: SDK session closes wait for wedged calls
		closeAll(slices.Values(live))
		closeAll(s.mcp.Sessions())
		s.closers.Wait()
		s.inflight.Wait()
		// A session may have been born by a request admitted just before Close.
		closeAll(s.mcp.Sessions())
		s.log.Info("closed")
	})
}

func closeAll(sessions iter.Seq[*mcp.ServerSession]) {
	for ss := range sessions {
		_ = ss.Close()
	}
}

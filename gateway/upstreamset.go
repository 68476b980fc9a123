package gateway

import (
	"maps"
	"slices"
	"sync"
)

// upstreamSet is the live upstream configuration, changed by the admin API.
type upstreamSet struct {
	mu sync.RWMutex
	m  map[string]Upstream
}

func newUpstreamSet(list []Upstream) *upstreamSet {
	s := &upstreamSet{m: map[string]Upstream{}}
	for _, u := range list {
		s.m[u.ID] = u
	}
	return s
}

func (s *upstreamSet) get(id string) (Upstream, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.m[id]
	return u, ok
}

func (s *upstreamSet) has(id string) bool {
	_, ok := s.get(id)
	return ok
}

func (s *upstreamSet) list() []Upstream {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Upstream, 0, len(s.m))
	for _, id := range slices.Sorted(maps.Keys(s.m)) {
		out = append(out, s.m[id])
	}
	return out
}

// put stores u and returns the definition it replaced, if any.
func (s *upstreamSet) put(u Upstream) (old Upstream, existed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, existed = s.m[u.ID]
	s.m[u.ID] = u
	return old, existed
}

func (s *upstreamSet) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[id]
	delete(s.m, id)
	return ok
}

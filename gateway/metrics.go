package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Eviction causes, used as the metric label and in logs.
const (
	causeDelete   = "delete"
	causeExpired  = "expired"
	causeUpdate   = "upstream-update"
	causeRemove   = "upstream-remove"
	causeShutdown = "shutdown"
	causeBroken   = "broken"
)

// metrics is one replica's Prometheus registry. Each Gateway has its own, so
// tests can run many gateways in one process.
type metrics struct {
	registry           *prometheus.Registry
	downstreamSessions prometheus.Gauge
	upstreamSessions   prometheus.Gauge
	upstreamCreations  *prometheus.CounterVec
	upstreamEvictions  *prometheus.CounterVec
	upstreamRebuilds   *prometheus.CounterVec
	closeOrphans       prometheus.Counter
	shutdownSeconds    prometheus.Gauge
	forwards           prometheus.Counter
	forwardFailures    *prometheus.CounterVec
	ownershipClaims    prometheus.Counter
	ownershipLosses    prometheus.Counter
	redisErrors        prometheus.Counter
	listens            prometheus.Gauge
}

func newMetrics(replica string) *metrics {
	labels := prometheus.Labels{"replica": replica}
	m := &metrics{
		registry: prometheus.NewRegistry(),
		downstreamSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mcpgw_downstream_sessions", Help: "Downstream MCP sessions held by this replica.", ConstLabels: labels}),
		upstreamSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mcpgw_upstream_sessions", Help: "Upstream MCP sessions held by this replica.", ConstLabels: labels}),
		upstreamCreations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpgw_upstream_session_creations_total", Help: "Upstream sessions opened, by upstream.", ConstLabels: labels}, []string{"upstream"}),
		upstreamEvictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpgw_upstream_session_evictions_total", Help: "Upstream sessions closed by the gateway, by cause.", ConstLabels: labels}, []string{"cause"}),
		upstreamRebuilds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpgw_upstream_session_rebuilds_total", Help: "Upstream sessions rebuilt after a failed probe or a lost session, by upstream.", ConstLabels: labels}, []string{"upstream"}),
		closeOrphans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcpgw_upstream_close_orphans_total", Help: "Upstream session closes abandoned after the grace and force phases.", ConstLabels: labels}),
		shutdownSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mcpgw_shutdown_duration_seconds", Help: "How long the last shutdown took.", ConstLabels: labels}),
		forwards: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcpgw_forwards_total", Help: "Requests forwarded to the replica owning their session.", ConstLabels: labels}),
		forwardFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpgw_forward_failures_total", Help: "Forwards that failed, by reason.", ConstLabels: labels}, []string{"reason"}),
		ownershipClaims: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcpgw_ownership_claims_total", Help: "Session ownership claims taken in Redis.", ConstLabels: labels}),
		ownershipLosses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcpgw_ownership_losses_total", Help: "Claims of dead or stale owners dropped.", ConstLabels: labels}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcpgw_redis_errors_total", Help: "Redis calls that failed.", ConstLabels: labels}),
		listens: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mcpgw_listens", Help: "2026-07-28 subscriptions/listen streams open on this replica.", ConstLabels: labels}),
	}
	m.registry.MustRegister(m.downstreamSessions, m.upstreamSessions, m.upstreamCreations,
		m.upstreamEvictions, m.upstreamRebuilds, m.closeOrphans, m.shutdownSeconds,
		m.forwards, m.forwardFailures, m.ownershipClaims, m.ownershipLosses, m.redisErrors, m.listens,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

package driver

// Replica-to-replica headers of the reference gateway (README, "Several
// replicas"): a replica forwarding a request for a session it does not hold
// names itself and proves it belongs to the cluster with the shared secret
// (--cluster-secret). A request carrying them with a wrong or missing secret
// must be refused (SEC-4).
const (
	HeaderForwardedBy   = "Mcpgw-Forwarded-By"
	HeaderClusterSecret = "Mcpgw-Cluster-Secret"
)

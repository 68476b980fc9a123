# Conformance targets (issue 3). Included from the top-level Makefile, which
# provides GO and the `build` target (bin/gateway, bin/counter, bin/wedge).
#
#   make conformance        every suite against the reference gateway; writes
#                           out/junit.xml, out/report.json, out/report.html,
#                           out/summary.md
#   make selftest           every emulated bug is caught by exactly the
#                           requirements the catalogue says it breaks
#   make repro-counter-bug  the counter bug, with and without the bug
#   make conformance-crosspod-redis
#                           every multi-replica spec (XPD, SHD-5, SEC-4's
#                           replica-to-replica spec) against a throwaway real
#                           redis-server instead of the embedded miniredis;
#                           writes out/crosspod-redis/
#
# Knobs: CONFORMANCE_PROCS (parallel Ginkgo processes), MCPCONF_* (see
# suites/target), CONFORMANCE_FLAGS (extra ginkgo flags, e.g.
# --label-filter=ISO-1).

GO ?= go
OUT ?= out
GINKGO := bin/ginkgo
CONFORMANCE_PROCS ?= 4
CONFORMANCE_FLAGS ?=

# The Ginkgo suites. Unit-test targets should leave these out (they are the
# conformance run): $(filter-out $(SUITE_IMPORTS),$(shell $(GO) list ./...)).
SUITE_PKGS := ./suites/isolation ./suites/eviction ./suites/transport \
	./suites/shutdown ./suites/crosspod ./suites/security ./suites/scenarios
SUITE_IMPORTS := $(patsubst ./%,github.com/mcpgw/conformance/%,$(SUITE_PKGS))

# The ginkgo CLI at the version go.mod pins, built from the module cache.
$(GINKGO): go.mod go.sum
	$(GO) build -o $@ github.com/onsi/ginkgo/v2/ginkgo

.PHONY: conformance selftest repro-counter-bug conformance-crosspod-redis crosspod-redis-missing

# The real Redis for conformance-crosspod-redis. `make test` runs that target
# when this finds one, and says so loudly when it does not (and fails under
# CI=true: .ci/run installs Debian's redis-server first).
REDIS_SERVER ?= $(shell command -v redis-server 2>/dev/null)
REDIS_CONFORMANCE := $(if $(REDIS_SERVER),conformance-crosspod-redis,crosspod-redis-missing)

conformance: build $(GINKGO)
	@mkdir -p $(OUT)
	@MCPCONF_GATEWAY_BIN=$(CURDIR)/bin/gateway $(GINKGO) -p --procs=$(CONFORMANCE_PROCS) \
		--timeout=10m --keep-going --succinct --silence-skips \
		--output-dir=$(OUT) --junit-report=junit.xml --json-report=report.json \
		$(CONFORMANCE_FLAGS) $(SUITE_PKGS); \
	status=$$?; \
	$(GO) run ./reports/cmd/report --in $(OUT)/report.json \
		--md $(OUT)/summary.md --html $(OUT)/report.html || true; \
	echo "reports: $(OUT)/summary.md $(OUT)/report.html $(OUT)/junit.xml $(OUT)/report.json"; \
	exit $$status

selftest: build $(GINKGO)
	$(GO) run ./suites/cmd/selftest --ginkgo $(GINKGO) --gateway-bin bin/gateway \
		--out $(OUT)/selftest --procs $(CONFORMANCE_PROCS) --suites "$(SUITE_PKGS)"

repro-counter-bug: build
	$(GO) run ./scenarios/cmd/repro --gateway-bin bin/gateway --counter-bin bin/counter \
		--file scenarios/counter-bug.yaml --bug shared-upstream

# A throwaway redis-server on a free loopback port, persistence off, stopped
# afterwards whatever the run does (suites/cmd/withredis). The specs share it,
# so each flushes database 0 first and they run one at a time
# (fixture.MultiReplica explains why a database per spec is not enough).
conformance-crosspod-redis: build $(GINKGO)
	@test -n "$(REDIS_SERVER)" || { echo "conformance-crosspod-redis: no redis-server on PATH (Debian: apt-get install redis-server)" >&2; exit 1; }
	@mkdir -p $(OUT)/crosspod-redis
	@$(GO) run ./suites/cmd/withredis --redis-server "$(REDIS_SERVER)" --log $(OUT)/crosspod-redis/redis.log -- \
		env MCPCONF_GATEWAY_BIN=$(CURDIR)/bin/gateway $(GINKGO) -p --procs=$(CONFORMANCE_PROCS) \
		--timeout=10m --keep-going --succinct --silence-skips --label-filter=multi-replica \
		--output-dir=$(OUT)/crosspod-redis --junit-report=junit.xml --json-report=report.json \
		$(CONFORMANCE_FLAGS) $(SUITE_PKGS); \
	status=$$?; \
	$(GO) run ./reports/cmd/report --in $(OUT)/crosspod-redis/report.json \
		--md $(OUT)/crosspod-redis/summary.md --html $(OUT)/crosspod-redis/report.html >/dev/null || true; \
	echo "reports: $(OUT)/crosspod-redis/summary.md $(OUT)/crosspod-redis/report.html (redis log: $(OUT)/crosspod-redis/redis.log)"; \
	exit $$status

crosspod-redis-missing:
	@echo "*** no redis-server on PATH: the multi-replica specs ran on the embedded Redis only." >&2
	@echo "*** Install it (Debian: apt-get install redis-server) to run them against a real one." >&2
	@if [ "$$CI" = true ]; then echo "*** CI=true: a real Redis is required here" >&2; exit 1; fi

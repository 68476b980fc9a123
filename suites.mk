# Conformance targets (issue 3). Included from the top-level Makefile, which
# provides GO and the `build` target (bin/gateway, bin/counter, bin/wedge).
#
#   make conformance        every suite against the reference gateway; writes
#                           out/junit.xml, out/report.json, out/report.html,
#                           out/summary.md
#   make selftest           every emulated bug is caught by exactly the
#                           requirements the catalogue says it breaks
#   make repro-counter-bug  the counter bug, with and without the bug
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
	./suites/shutdown ./suites/security ./suites/scenarios
SUITE_IMPORTS := $(patsubst ./%,github.com/mcpgw/conformance/%,$(SUITE_PKGS))

# The ginkgo CLI at the version go.mod pins, built from the module cache.
$(GINKGO): go.mod go.sum
	$(GO) build -o $@ github.com/onsi/ginkgo/v2/ginkgo

.PHONY: conformance selftest repro-counter-bug

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

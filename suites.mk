# Conformance targets. Included from the top-level Makefile, which
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
#   make conformance-external
#                           the external path end to end: the reference
#                           gateway started by hand, an external target wired
#                           only through the shell hooks of suites/targets/hooks,
#                           results checked against the process driver's;
#                           writes out/external/
#   make conformance-shapes every suite once per target file of
#                           suites/targets/shapes/ (the reference gateway
#                           shaped by --aggregate-route, --server-route,
#                           --tool-name, --readiness-path); writes
#                           out/shapes/<shape>/; fails when any shape fails
#   make compare            every run's report.json under out/ (or
#                           COMPARE_RUNS) merged into one gateway x requirement
#                           matrix: out/compare.md, out/compare.html
#
# Knobs: CONFORMANCE_PROCS (parallel Ginkgo processes), MCPCONF_* (see
# suites/targetconf), CONFORMANCE_FLAGS (extra ginkgo flags, e.g.
# --label-filter=ISO-1), CONFORMANCE_BASELINE (an expected-failures baseline,
# suites/README.md "Baseline": `make conformance` then exits with the
# verdict, 0 pass, 1 fail, 3 error, instead of ginkgo's status).

GO ?= go
OUT ?= out
GINKGO := bin/ginkgo
CONFORMANCE_PROCS ?= 4
CONFORMANCE_FLAGS ?=

# The Ginkgo suites: whatever suites/all imports (its all_test.go checks
# that is every suite under suites/). Unit-test targets should leave these
# out (they are the conformance run):
# $(filter-out $(SUITE_IMPORTS),$(shell $(GO) list ./...)).
# Expanded where used (`=`), so targets that need no suite, such as build,
# do not run go list.
SUITE_IMPORTS = $(or $(shell $(GO) list -f '{{join .Imports " "}}' ./suites/all),$(error go list ./suites/all named no suite))
SUITE_PKGS = $(patsubst github.com/mcpgw/conformance/%,./%,$(SUITE_IMPORTS))

# The ginkgo CLI at the version go.mod pins, built from the module cache.
$(GINKGO): go.mod go.sum
	$(GO) build -o $@ github.com/onsi/ginkgo/v2/ginkgo

# The suites, compiled once per make run for every target that runs them
# (ginkgo runs a compiled <name>.test as it runs a package): linking nine
# suite binaries is about half a minute on 2 cores, and make test runs the
# suites in seven places. Each binary gets its own folder, because Ginkgo
# names a suite's report files after its binary.
# suites/every is every suite as one (the self-test runs it: one suite
# packs the parallel processes better than nine in turn, measured a quarter
# less time per run).
SUITE_BIN_DIR = $(OUT)/suite-bins
SUITE_BINS = $(foreach p,$(SUITE_PKGS),$(SUITE_BIN_DIR)/$(notdir $(p))/$(notdir $(p)).test)
EVERY_IMPORT = github.com/mcpgw/conformance/suites/every
EVERY_BIN = $(SUITE_BIN_DIR)/every/every.test

suite-bins:
	@rm -rf $(SUITE_BIN_DIR) && mkdir -p $(SUITE_BIN_DIR)
	$(GO) test -c $(TEST_LDFLAGS) -o $(SUITE_BIN_DIR)/ $(SUITE_PKGS) ./suites/every
	@for p in $(SUITE_PKGS) ./suites/every; do n=$${p##*/}; mkdir -p $(SUITE_BIN_DIR)/$$n && mv $(SUITE_BIN_DIR)/$$n.test $(SUITE_BIN_DIR)/$$n/; done

.PHONY: suite-bins conformance conformance-revisions selftest repro-counter-bug conformance-crosspod-redis crosspod-redis-missing conformance-external conformance-shapes compare

# The real Redis for conformance-crosspod-redis. `make test-more` runs that target
# when this finds one, and says so loudly when it does not (and fails under
# CI=true: .ci/run installs Debian's redis-server first).
REDIS_SERVER ?= $(shell command -v redis-server 2>/dev/null)
REDIS_CONFORMANCE := $(if $(REDIS_SERVER),conformance-crosspod-redis,crosspod-redis-missing)

# The reference gateway just built, unless a target file (MCPCONF_TARGET)
# says what to run: forcing it then would run the reference gateway under
# the target's name.
REFERENCE_BIN = $(if $(MCPCONF_TARGET),,MCPCONF_GATEWAY_BIN=$(CURDIR)/bin/gateway)

# make conformance judges the reference gateway through a target file, its
# default shape (the shapes of conformance-shapes are the other two), unless
# MCPCONF_TARGET names another.
DEFAULT_SHAPE = $(CURDIR)/suites/targets/shapes/default.yaml
CONFORMANCE_TARGET = $(if $(MCPCONF_TARGET),,MCPCONF_TARGET=$(DEFAULT_SHAPE))

conformance: build $(GINKGO) suite-bins
	@mkdir -p $(OUT)
	@$(CONFORMANCE_TARGET) $(GINKGO) -p --procs=$(CONFORMANCE_PROCS) \
		--timeout=10m --keep-going --succinct --silence-skips \
		--output-dir=$(OUT) --junit-report=junit.xml --json-report=report.json \
		$(CONFORMANCE_FLAGS) $(SUITE_BINS); \
	status=$$?; \
	$(GO) build -o bin/report ./reports/cmd/report && bin/report --in $(OUT)/report.json \
		--md $(OUT)/summary.md --html $(OUT)/report.html --png $(OUT)/report.png \
		--junit $(OUT)/junit.xml $(if $(CONFORMANCE_BASELINE),--baseline $(CONFORMANCE_BASELINE)); \
	verdict=$$?; \
	echo "reports: $(OUT)/summary.md $(OUT)/report.html $(OUT)/junit.xml $(OUT)/report.json"; \
	exit $(if $(CONFORMANCE_BASELINE),$$verdict,$$status)

# Bugs checked at once: the runs wait as much as they compute, so three at
# a time finish sooner than one after another on 2 cores (measured 2026-12-02).
SELFTEST_PARALLEL ?= 3

# SELFTEST_BASELINE=false leaves out the run without a bug (make test does:
# its conformance run is that run).
SELFTEST_BASELINE ?= true

selftest: build $(GINKGO) suite-bins
	$(GO) run ./suites/cmd/selftest --ginkgo $(GINKGO) --gateway-bin bin/gateway \
		--out $(OUT)/selftest --procs $(CONFORMANCE_PROCS) --parallel $(SELFTEST_PARALLEL) \
		--baseline=$(SELFTEST_BASELINE) --suites "$(EVERY_BIN)"

repro-counter-bug: build
	$(GO) run ./scenarios/cmd/repro --gateway-bin bin/gateway --counter-bin bin/counter \
		--file scenarios/counter-bug.yaml --bug shared-upstream

# A throwaway redis-server on a free loopback port, persistence off, stopped
# afterwards whatever the run does (suites/cmd/withredis). The specs share it,
# so each flushes database 0 first and they run one at a time
# (fixture.MultiReplica explains why a database per spec is not enough).
conformance-crosspod-redis: build $(GINKGO) suite-bins
	@test -n "$(REDIS_SERVER)" || { echo "conformance-crosspod-redis: no redis-server on PATH (Debian: apt-get install redis-server)" >&2; exit 1; }
	@mkdir -p $(OUT)/crosspod-redis
	@$(GO) run ./suites/cmd/withredis --redis-server "$(REDIS_SERVER)" --log $(OUT)/crosspod-redis/redis.log -- \
		env $(REFERENCE_BIN) $(GINKGO) -p --procs=$(CONFORMANCE_PROCS) \
		--timeout=10m --keep-going --succinct --silence-skips --label-filter=multi-replica \
		--output-dir=$(OUT)/crosspod-redis --junit-report=junit.xml --json-report=report.json \
		$(CONFORMANCE_FLAGS) $(SUITE_BINS); \
	status=$$?; \
	$(GO) run ./reports/cmd/report --in $(OUT)/crosspod-redis/report.json \
		--md $(OUT)/crosspod-redis/summary.md --html $(OUT)/crosspod-redis/report.html >/dev/null || true; \
	echo "reports: $(OUT)/crosspod-redis/summary.md $(OUT)/crosspod-redis/report.html (redis log: $(OUT)/crosspod-redis/redis.log)"; \
	exit $$status

crosspod-redis-missing:
	@echo "*** no redis-server on PATH: the multi-replica specs ran on the embedded Redis only." >&2
	@echo "*** Install it (Debian: apt-get install redis-server) to run them against a real one." >&2
	@if [ "$$CI" = true ]; then echo "*** CI=true: a real Redis is required here" >&2; exit 1; fi

# The external path end to end (suites/cmd/proveexternal): replicas of the
# reference gateway started outside the suite (two clusters: auth off and
# on, each on its own Redis: redis-server when on PATH, else embedded), a
# target file with driver: external and the shell hooks of
# suites/targets/hooks, the suites run against it one spec at a time and
# against suites/targets/reference-process.yaml, and every requirement's
# result compared (those skipped for external-driver reasons set aside).
# EXTERNAL_PROCESS_REPORT: a process-driver report to compare with instead
# of running the suites once more; make test passes the one its
# conformance run just wrote.
conformance-external: build $(GINKGO) suite-bins
	$(GO) run ./suites/cmd/proveexternal --gateway-bin bin/gateway --ginkgo $(GINKGO) \
		--out $(OUT)/external --procs $(CONFORMANCE_PROCS) --suites "$(SUITE_BINS)" \
		$(if $(REDIS_SERVER),--redis-server "$(REDIS_SERVER)") \
		$(if $(EXTERNAL_PROCESS_REPORT),--process-report "$(EXTERNAL_PROCESS_REPORT)")

# The suites against the reference gateway in each shape of
# suites/targets/shapes/, one shape after another (each runs suites/every,
# all suites as one, in CONFORMANCE_PROCS parallel processes): route-scoped specs a shape lacks are not
# applicable, everything else must pass. Each target file names bin/gateway
# itself (gateway.bin), so no MCPCONF_GATEWAY_BIN here. Every shape runs
# even after one fails; the target fails if any did. SHAPES_DIR names
# another folder of target files.
SHAPES_DIR ?= suites/targets/shapes
SHAPES = $(basename $(notdir $(wildcard $(SHAPES_DIR)/*.yaml)))
conformance-shapes: build $(GINKGO) suite-bins
	@test -n "$(SHAPES)" || { echo "conformance-shapes: no target files in $(SHAPES_DIR)" >&2; exit 1; }
	@$(GO) build -o bin/report ./reports/cmd/report
	@status=0; for shape in $(SHAPES); do \
		out=$(OUT)/shapes/$$shape; mkdir -p $$out; \
		echo "== shape $$shape ($(SHAPES_DIR)/$$shape.yaml)"; \
		MCPCONF_TARGET=$(abspath $(SHAPES_DIR))/$$shape.yaml $(GINKGO) -p --procs=$(CONFORMANCE_PROCS) \
			--timeout=10m --keep-going --succinct --silence-skips \
			--output-dir=$$out --junit-report=junit.xml --json-report=report.json \
			$(CONFORMANCE_FLAGS) $(EVERY_BIN) || { status=1; echo "*** shape $$shape failed" >&2; }; \
		bin/report --in $$out/report.json --md $$out/summary.md --html $$out/report.html \
			--junit $$out/junit.xml || status=1; \
		echo "reports: $$out/summary.md $$out/report.html"; \
	done; exit $$status

# VER-1: the whole ISO, EVI and TRN suites once per older session-bearing
# revision (make conformance is the newest, 2025-11-25), every session
# initializing at that revision (MCPCONF_REVISION), against the default
# shape; reports in out/revisions/<revision>/, and compare shows them side
# by side. The VER-1 specs of the versions suite replay the core of those
# suites at every revision in each run, for the report's revision table.
REVISIONS ?= 2025-03-26 2025-06-18
REVISION_SUITES = isolation eviction transport

conformance-revisions: build $(GINKGO) suite-bins
	@$(GO) build -o bin/report ./reports/cmd/report
	@status=0; for rev in $(REVISIONS); do \
		out=$(OUT)/revisions/$$rev; mkdir -p $$out; \
		echo "== revision $$rev: $(REVISION_SUITES)"; \
		$(CONFORMANCE_TARGET) MCPCONF_REVISION=$$rev $(GINKGO) -p --procs=$(CONFORMANCE_PROCS) \
			--timeout=10m --keep-going --succinct --silence-skips \
			--output-dir=$$out --junit-report=junit.xml --json-report=report.json \
			$(CONFORMANCE_FLAGS) $(foreach n,$(REVISION_SUITES),$(SUITE_BIN_DIR)/$(n)/$(n).test) || { status=1; echo "*** revision $$rev failed" >&2; }; \
		bin/report --in $$out/report.json --md $$out/summary.md --html $$out/report.html \
			--title "Conformance report: reference gateway at revision $$rev (ISO, EVI, TRN)" >/dev/null || status=1; \
		echo "reports: $$out/summary.md $$out/report.html"; \
	done; exit $$status

# Runs to compare: the reference run first, then every other report.json
# under $(OUT) (external, selftest bugs, real Redis). Override with
# COMPARE_RUNS="label=path/report.json other/report.json ...".
COMPARE_RUNS ?= $(wildcard $(OUT)/report.json) \
	$(filter-out $(OUT)/report.json,$(sort $(wildcard $(OUT)/*/report.json $(OUT)/*/*/report.json)))

compare:
	@test -n "$(strip $(COMPARE_RUNS))" || { echo "compare: no report.json under $(OUT); run make conformance (or set COMPARE_RUNS)" >&2; exit 1; }
	$(GO) run ./reports/cmd/compare --md $(OUT)/compare.md --html $(OUT)/compare.html $(COMPARE_RUNS)

# The container driver (suites/driver/container*.go): every suite with the
# replicas, the fakes and a Redis per cluster as containers on one Docker
# network, through testcontainers-go. suites/cmd/withcontainers builds the
# images once per run, FROM scratch from bin/ (and Debian's redis-server),
# with the build output shown, runs the command, and removes every
# container, the network and the images afterwards.
#
#   make conformance-containers   every suite; reports in out/containers/
#   make selftest-containers      shared-upstream, unbounded-shutdown,
#                                 local-lookup and shared-bridge caught on
#                                 containers, each run
#                                 against the suite of the requirements it
#                                 breaks; out/selftest-containers/
#
# MCPCONF_REDIS_IMAGE=redis:7 (or any image) replaces the built Redis image,
# MCPCONF_GATEWAY_IMAGE a gateway image (or gateway.image in a target file).
# `make test` runs both when a Docker engine answers, and fails without one
# under CI=true.
CONTAINERS_OUT := $(OUT)/containers
DOCKER_ENGINE := $(shell docker info >/dev/null 2>&1 && echo yes)
CONTAINER_CONFORMANCE := $(if $(DOCKER_ENGINE),conformance-containers selftest-containers,containers-missing)
# make test's container run: the counter bug caught on containers, with
# every other spec of the isolation suite passing there.
CONTAINER_SMOKE_BUGS := shared-upstream:./suites/isolation
CONTAINER_SMOKE := $(if $(DOCKER_ENGINE),selftest-containers,containers-missing)
# Ryuk, testcontainers' reaper, is an image from a registry; the driver
# removes what it makes itself.
export TESTCONTAINERS_RYUK_DISABLED ?= true
WITHCONTAINERS = $(GO) run ./suites/cmd/withcontainers --bin bin
# Each bug against the suite of the requirements it breaks (make selftest
# checks every suite under every bug on the process driver).
# Several suites of one bug are joined by commas.
# A bug run on some suites judges the bug on the requirements with specs in
# them (selftest --subset): every other spec of those suites must pass.
SELFTEST_CONTAINERS := shared-upstream:./suites/isolation unbounded-shutdown:./suites/shutdown local-lookup:./suites/crosspod shared-bridge:./suites/versions
comma := ,
# The suites those bug runs cover. make test runs conformance-containers on
# the others only, so that every suite runs on containers once: the
# container runs are most of make test's time (a spec there starts
# containers where the process driver starts processes).
SELFTEST_CONTAINERS_SUITES = $(sort $(foreach pair,$(SELFTEST_CONTAINERS),$(notdir $(subst $(comma), ,$(word 2,$(subst :, ,$(pair)))))))
CONTAINERS_SUITES ?= $(SUITE_BINS)

.PHONY: conformance-containers selftest-containers containers-missing container-redis-server

conformance-containers: build $(GINKGO) suite-bins container-redis-server
	@mkdir -p $(CONTAINERS_OUT)
	@$(WITHCONTAINERS) -- $(GINKGO) -p --procs=$(CONFORMANCE_PROCS) \
		--timeout=10m --keep-going --succinct --silence-skips \
		--output-dir=$(CONTAINERS_OUT) --junit-report=junit.xml --json-report=report.json \
		$(CONFORMANCE_FLAGS) $(CONTAINERS_SUITES); \
	status=$$?; \
	$(GO) run ./reports/cmd/report --in $(CONTAINERS_OUT)/report.json \
		$(if $(MCPCONF_TARGET),,--title "Conformance report: reference gateway (container driver)") \
		--md $(CONTAINERS_OUT)/summary.md --html $(CONTAINERS_OUT)/report.html || true; \
	echo "reports: $(CONTAINERS_OUT)/summary.md $(CONTAINERS_OUT)/report.html $(CONTAINERS_OUT)/junit.xml $(CONTAINERS_OUT)/report.json"; \
	exit $$status

selftest-containers: build $(GINKGO) suite-bins container-redis-server
	@$(WITHCONTAINERS) -- sh -c 'status=0; for pair in $(SELFTEST_CONTAINERS); do \
		bug=$${pair%%:*}; bins=; \
		for s in $$(echo $${pair#*:} | tr , " "); do n=$${s##*/}; bins="$$bins $(SUITE_BIN_DIR)/$$n/$$n.test"; done; \
		$(GO) run ./suites/cmd/selftest --ginkgo $(GINKGO) --gateway-bin bin/gateway \
			--out $(OUT)/selftest-containers/$$bug --procs $(CONFORMANCE_PROCS) \
			--baseline=false --subset --bugs $$bug --suites "$$bins" || status=1; \
	done; exit $$status'

# The default Redis image is made of the host's redis-server: install
# Debian's when it is missing and no MCPCONF_REDIS_IMAGE names another.
container-redis-server:
	@if [ -z "$$MCPCONF_REDIS_IMAGE" ] && ! command -v redis-server >/dev/null 2>&1; then \
		echo "containers: installing Debian's redis-server for the Redis image (apt-get install redis-server)"; \
		{ apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; } || { \
			echo "containers: no redis-server to build the Redis image from: install it, or set MCPCONF_REDIS_IMAGE (e.g. redis:7 where a registry is reachable)" >&2; exit 1; }; \
	fi

containers-missing:
	@echo "*** no Docker engine answers (docker info): the suites did not run on the container driver." >&2
	@echo "*** Start one to run make conformance-containers and make selftest-containers." >&2
	@if [ "$$CI" = true ]; then echo "*** CI=true: a Docker engine is required here" >&2; exit 1; fi

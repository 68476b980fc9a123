# The whole project in a few targets. README.md explains each.
#
#   make build        bin/gateway, bin/counter, bin/wedge and the conformance
#                     runner bin/mcpconf (static, CGO_ENABLED=0)
#   make mcpconf-image  the runner as an image FROM scratch (tag mcpconf)
#   make test         what CI runs, within 15 minutes: lint + unit tests
#                     (race detector) + conformance + the older revisions +
#                     the shapes + selftest + the external driver end to end
#                     + the counter bug on containers + the comparison matrix
#   make test-more    make test + the multi-replica specs on a real
#                     redis-server + every suite on containers + soak-short
#   make lint         gofmt check + go vet
#   make unit         unit and in-process integration tests, race detector on
#                     (off for the packages linking the container driver;
#                     make unit-race-all: on for all)
#   make bench        the gateway against a bare proxy hop; out/bench.{json,md,svg}
#   make fuzz         every go fuzz target for FUZZTIME each (default 20s), in turn
#   make soak         load and faults on 3 replicas and a real redis-server
#                     (a few minutes); out/soak/soak.{md,json}. soak-short,
#                     about a minute, is part of make test-more.
#
# The conformance targets (conformance, conformance-shapes, selftest,
# repro-counter-bug, conformance-crosspod-redis) live in suites.mk.

GO ?= go
export GOTOOLCHAIN ?= local
# One build configuration for everything but the race-instrumented unit
# tests: the binaries must be static for images FROM scratch, and on a fresh
# machine every configuration (cgo on or off, -trimpath or not) is one more
# cold compile of the whole dependency graph, about two minutes on 2 cores.
# So vet, the suites, bin/ and the go run tools all build with cgo off.
export CGO_ENABLED = 0

PROGRAMS := gateway counter wedge
BINARIES := $(addprefix bin/,$(PROGRAMS))

.PHONY: all build test test-more unit unit-race-all lint fuzz bench soak soak-short clean mcpconf-image $(BINARIES) bin/mcpconf

all: build

build: $(BINARIES) bin/mcpconf

# Always rebuilt (go's cache makes that cheap) so bin/ never lags the source.
$(BINARIES): bin/%:
	@mkdir -p bin
	$(GO) build -o $@ ./servers/$*

# The conformance runner lives with the suites it links (suites/cmd/mcpconf),
# not in servers/; `go install .../suites/cmd/mcpconf@latest` builds the same.
bin/mcpconf:
	@mkdir -p bin
	$(GO) build -o $@ ./suites/cmd/mcpconf

# No registry: FROM scratch, the binary as the whole context (see the Dockerfile).
MCPCONF_IMAGE ?= mcpconf
mcpconf-image: bin/mcpconf
	docker build -t $(MCPCONF_IMAGE) -f suites/cmd/mcpconf/Dockerfile bin

include suites.mk

# make test is what CI runs, within 15 minutes on 2 cores from a cold
# build cache (README "Testing" has the figures): lint, unit, the suites
# against the reference gateway (default shape), the whole ISO, EVI and
# TRN suites at each older revision, the other shapes through target files
# only, the self-test (every emulated bug, exactly), the external driver
# with shell hooks, the counter bug caught on containers when a Docker
# engine answers ($(CONTAINER_SMOKE), suites.mk), and the comparison matrix.
# make test-more adds what does not fit: the multi-replica specs against a
# real redis-server, every suite on containers and four bugs there, and the
# short soak.
#
# The external proof compares with the report conformance just wrote
# rather than running the same suites a second time.
test test-more: EXTERNAL_PROCESS_REPORT = $(OUT)/report.json
# conformance has judged the default shape through its target file already.
test test-more: SHAPES = aggregate-only server-only stateless
# and it is the self-test's run without a bug.
test test-more: SELFTEST_BASELINE = false
TEST_SERIAL = lint unit conformance conformance-revisions conformance-shapes
# The self-test keeps both cores busy; the external proof (one spec at a
# time against replicas started once) and the container run mostly wait,
# so make test runs the three at once, their lines interleaved as they come
# (output sync would hold each back until it ends). The sub-make must not
# build again what the steps before it built (-o).
test: $(TEST_SERIAL)
	@$(MAKE) --no-print-directory -j3 \
		-o build -o suite-bins -o $(GINKGO) $(addprefix -o ,$(BINARIES) bin/mcpconf) \
		SELFTEST_BASELINE=false EXTERNAL_PROCESS_REPORT=$(OUT)/report.json \
		SELFTEST_CONTAINERS="$(CONTAINER_SMOKE_BUGS)" \
		selftest conformance-external $(CONTAINER_SMOKE)
	@$(MAKE) --no-print-directory compare

# On containers, every suite once: the bug runs of selftest-containers
# cover some (suites.mk), conformance-containers the rest.
test-more: CONTAINERS_SUITES = $(foreach n,$(filter-out $(SELFTEST_CONTAINERS_SUITES),$(notdir $(SUITE_PKGS))),$(SUITE_BIN_DIR)/$(n)/$(n).test)
test-more: $(TEST_SERIAL) selftest conformance-external $(REDIS_CONFORMANCE) $(CONTAINER_CONFORMANCE) compare soak-short

# Unit tests leave out the Ginkgo conformance suites (and suites/every, all
# of them as one): they run in `conformance`.
UNIT_PKGS = $(filter-out $(SUITE_IMPORTS) $(EVERY_IMPORT),$(shell $(GO) list ./...))
# The packages that link the container driver (testcontainers-go and
# Docker's client) run their tests without the race detector: compiling
# that dependency graph with race instrumentation is three of the minutes
# of a cold CI run. Everything else (the gateway, the fakes, the servers,
# the reports, the suites' client) runs with it; `make unit-race-all` runs
# every package with it.
CONTAINER_LINKED = $(shell $(GO) list -test -f '{{.ImportPath}}|{{.ForTest}}|{{join .Deps " "}}' ./... | \
	awk -F'|' '$$3 ~ /github.com\/testcontainers\/testcontainers-go( |$$)/ { p = ($$2 != "") ? $$2 : $$1; sub(/ \[.*/, "", p); sub(/\.test$$/, "", p); print p }' | sort -u)

# The race detector needs cgo. Test binaries are linked without DWARF
# (-ldflags=-w; stack traces keep their files and lines): linking is a
# third faster, and no debugger reads them.
TEST_LDFLAGS = -ldflags=-w
unit:
	CGO_ENABLED=1 $(GO) test -race $(TEST_LDFLAGS) -count=1 -timeout 5m $(filter-out $(CONTAINER_LINKED),$(UNIT_PKGS))
	$(GO) test $(TEST_LDFLAGS) -count=1 -timeout 5m $(filter $(CONTAINER_LINKED),$(UNIT_PKGS))

unit-race-all:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 8m $(UNIT_PKGS)

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# Every Fuzz function in the module, one at a time (go test -fuzz takes one
# target per run), as package:name. New failing inputs land in the package's
# testdata/fuzz, which `make unit` replays like the committed seeds.
FUZZTIME ?= 20s
FUZZ_TARGETS = $(shell grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' . | sed -E 's|^(.*)/[^/]*:func (Fuzz.*)|\1:\2|' | sort)

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# Not a timed test: a load program, interleaving targets round by round.
bench: build
	$(GO) build -o bin/bench ./servers/bench
	bin/bench --bin bin --out out

# Reliability under load and faults (suites/soak): real processes and a real
# redis-server; exits non-zero when a "nothing lost / leaked / hangs" check
# fails.
soak: build
	@test -n "$(REDIS_SERVER)" || { echo "soak: no redis-server on PATH (Debian: apt-get install redis-server)" >&2; exit 1; }
	$(GO) run ./servers/soak --gateway-bin bin/gateway --redis-server "$(REDIS_SERVER)" --out $(OUT)/soak

soak-short: build
	@test -n "$(REDIS_SERVER)" || { echo "soak-short: no redis-server on PATH (Debian: apt-get install redis-server)" >&2; exit 1; }
	$(GO) run ./servers/soak --short --gateway-bin bin/gateway --redis-server "$(REDIS_SERVER)" --out $(OUT)/soak-short

clean:
	rm -rf bin out

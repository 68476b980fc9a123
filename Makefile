# The whole project in a few targets. README.md explains each.
#
#   make build        bin/gateway, bin/counter, bin/wedge (static, CGO_ENABLED=0)
#   make test         lint + unit tests (race detector) + conformance + selftest
#                     + the multi-replica specs on a real redis-server
#                     + the external driver end to end + the comparison matrix
#                     + the suites and self-test on the container driver (Docker)
#   make lint         gofmt check + go vet
#   make unit         unit and in-process integration tests, race detector on
#   make bench        the gateway against a bare proxy hop; out/bench.{json,md,svg}
#
# The conformance targets (conformance, selftest, repro-counter-bug,
# conformance-crosspod-redis) live in suites.mk.

GO ?= go
export GOTOOLCHAIN ?= local

PROGRAMS := gateway counter wedge
BINARIES := $(addprefix bin/,$(PROGRAMS))

.PHONY: all build test unit lint bench clean $(BINARIES)

all: build

build: $(BINARIES)

# Always rebuilt (go's cache makes that cheap) so bin/ never lags the source.
$(BINARIES): bin/%:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./servers/$*

include suites.mk

# $(REDIS_CONFORMANCE) (suites.mk): the multi-replica specs against a real
# redis-server when one is on PATH. conformance-external proves the external
# driver and shell hooks; $(CONTAINER_CONFORMANCE) (suites.mk) runs the suites
# on containers when a Docker engine answers; compare merges every run into
# out/compare.*.
test: lint unit conformance selftest $(REDIS_CONFORMANCE) conformance-external $(CONTAINER_CONFORMANCE) compare

# Unit tests leave out the Ginkgo conformance suites: they run in `conformance`.
unit:
	$(GO) test -race -count=1 -timeout 5m $(filter-out $(SUITE_IMPORTS),$(shell $(GO) list ./...))

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# Not a timed test: a load program, interleaving targets round by round.
bench: build
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/bench ./servers/bench
	bin/bench --bin bin --out out

clean:
	rm -rf bin out

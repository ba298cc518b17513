# vigie — two commands: `make run` and `make test`.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/vigie-monitoring/vigie/internal/app.Version=$(VERSION)
FUZZTIME ?= 60s

.PHONY: all build web run test deps test-go test-e2e fuzz bench vet clean

all: build

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

# The console is built into internal/web/dist and embedded in the binary.
web: web/node_modules/.installed
	cd web && npm run build

build: web
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/vigie ./cmd/vigie
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/vigie-agent ./cmd/vigie-agent

# Build everything and start vigie on examples/vigie.yaml, which watches
# this machine. Data goes to ./data unless VIGIE_DATA_DIR says otherwise.
run: build
	./bin/vigie server --config examples/vigie.yaml

# Install what the tests need (Debian packages, npm packages), then run
# every test: Go unit and integration tests (PostgreSQL at 127.0.0.1:5432),
# fuzz seed corpora, and the console's end-to-end tests in headless Chromium.
test: deps build vet test-go test-e2e

deps:
	./scripts/install-deps.sh

vet:
	$(GO) vet ./...

test-go:
	$(GO) test -count=1 -timeout 20m ./...

test-e2e: build
	cd web && VIGIE_BIN=$(CURDIR)/bin/vigie npm run test:e2e

# Longer fuzzing than the seed corpora that `make test` runs.
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# Throughput and lateness of the scheduler against 10,000 loopback services:
# native TCP checks, the check_tcp plugin through exec, and Nagios 4 (the
# peer, installed here from Debian) on the same work; SNMP interface polls
# against a local snmpd beside net-snmp's snmpbulkwalk.
bench:
	./scripts/install-deps.sh --bench
	$(GO) run ./bench/tcpchecks
	$(GO) run ./bench/metrics
	$(GO) run ./bench/alarms
	$(GO) run ./bench/snmp
	$(GO) run ./bench/agent

clean:
	rm -rf bin internal/web/dist/assets internal/web/dist/index.html

# dm — build, test and run. See README.md.
GO      ?= go
BIN     := bin
PKGS    := ./...
# Keep the whole test run bounded on a 2-core CI machine.
TEST_TIMEOUT ?= 20m

.PHONY: all build test run lint deps generate clean bench demo fuzz chaos

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/dm-master ./cmd/dm-master
	$(GO) build -o $(BIN)/dm-worker ./cmd/dm-worker
	$(GO) build -o $(BIN)/dmctl ./cmd/dmctl

# Integration tests start the binaries from bin/ and real MariaDB servers, so build and make
# sure MariaDB is installed first (deps is quick when it is).
test: deps build
	DM_BIN_DIR=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -p 2 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Installs MariaDB (server + client), sysbench and percona-toolkit (pt-online-schema-change,
# run by the online DDL test), chromium, node and web/test's npm packages (the dashboard's
# browser test), and Debian's prometheus package for promtool (the tests check docs/monitoring
# with it; they do not use the service it may start), each only when missing; safe to run again.
deps:
	@if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ] || ! command -v mariadb >/dev/null 2>&1 || ! command -v sysbench >/dev/null 2>&1 || ! command -v pt-online-schema-change >/dev/null 2>&1; then \
		echo "installing mariadb-server mariadb-client sysbench percona-toolkit"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq mariadb-server mariadb-client sysbench percona-toolkit; \
	else echo "mariadb, sysbench and percona-toolkit already installed"; fi
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then \
		echo "installing chromium nodejs npm (the dashboard's browser test)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium nodejs npm; \
	else echo "chromium and node already installed"; fi
	@if [ ! -f web/test/node_modules/playwright-core/package.json ]; then \
		echo "installing web/test's npm packages (playwright-core, without its browsers)"; \
		cd web/test && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund; \
	else echo "web/test's npm packages already installed"; fi
	@if ! command -v promtool >/dev/null 2>&1; then \
		echo "installing prometheus (for promtool, which checks docs/monitoring)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends prometheus; \
	else echo "promtool already installed"; fi
	$(GO) mod download

generate:
	cd restapi && $(GO) generate ./...

# One master (OpenAPI on 127.0.0.1:8261) and one worker, data under ./data, logs to the
# terminal. Ctrl-C stops both. They share a random secret key, data/secret.key (made once,
# 0600), so the members authenticate each other and the passwords are encrypted with it.
run: build
	@mkdir -p data && chmod 700 data
	@[ -s data/secret.key ] || (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > data/secret.key && echo >> data/secret.key)
	@bash -c 'set -m; trap "kill -INT \$$m \$$w 2>/dev/null; wait" INT TERM; \
		$(BIN)/dm-master --name=master1 --master-addr=127.0.0.1:8261 --advertise-addr=127.0.0.1:8261 \
			--peer-urls=http://127.0.0.1:8291 --initial-cluster=master1=http://127.0.0.1:8291 \
			--data-dir=data/master1 --openapi=true --secret-key-path=data/secret.key & m=$$!; \
		$(BIN)/dm-worker --name=worker1 --worker-addr=127.0.0.1:8262 --join=127.0.0.1:8261 \
			--data-dir=data/worker1 --relay-dir=data/worker1/relay --secret-key-path=data/secret.key & w=$$!; \
		wait'

# Fuzz targets (package:Target), each run for FUZZTIME in turn: a count of inputs (20000x) or
# a duration (2m). CI runs 20000 inputs each (about a minute in all): Go 1.26's fuzz coordinator
# can fail a duration-limited run with a bare "context deadline exceeded" at its end and no
# crasher (go.dev/issue/75804, fixed in Go 1.27), and a count has no deadline to race.
# A crash leaves its input under the package's testdata/fuzz/, which `go test` then replays:
# commit it with the fix. TestFuzzTargetsAreListed keeps this list complete.
FUZZTIME ?= 200000x
FUZZ_TARGETS := ./fsm:FuzzApplyEntries ./fsm:FuzzRestore ./restapi:FuzzRequestDecoding \
	./restapi/dmyaml:FuzzTaskFile ./restapi/dmyaml:FuzzSourceFile ./binlog/ddl:FuzzParseRender \
	./binlog/tracker:FuzzTrackerExec ./binlog/rules:FuzzPatternMatch
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

# The chaos suite alone for long runs: ROUNDS rounds of every fault kind (KINDS: a comma list
# to pick some), in an order drawn from SEED (printed; empty: the clock), the target unreachable
# for 60 s, and a table per fault kind at the end. `make test` runs it with one round of each
# and a 10 s outage. Network
# partitions and the full disk need root (network namespaces, tmpfs).
ROUNDS ?= 3
SEED   ?=
KINDS  ?=
chaos: deps build
	DM_BIN_DIR=$(CURDIR)/$(BIN) DM_CHAOS_ROUNDS=$(ROUNDS) DM_CHAOS_SEED=$(SEED) DM_CHAOS_KINDS=$(KINDS) \
		DM_CHAOS_OUTAGE=60 DM_CHAOS_BUDGET=1000h \
		$(GO) test -count=1 -run '^TestChaos$$' -timeout 0 -v ./integration/

# Benchmarks against baselines measured in the same run (not part of make test).
bench: build
	DM_BIN_DIR=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m -v ./bench/...

# A source and a target MariaDB, a 1-master 1-worker cluster, sample data, a source and an
# `all` task created through the API; prints the status and the URLs, runs until Ctrl-C.
demo: build
	DM_BIN_DIR=$(CURDIR)/$(BIN) DM_DEMO=wait $(GO) test -count=1 -run '^TestDemo$$' -timeout 0 -v ./bench/demo

clean:
	rm -rf $(BIN) data test-artifacts

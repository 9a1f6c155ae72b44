# ikq: run `make help` for the targets.
GO      ?= go
PKGS    ?= ./...
FUZZTIME ?= 20s
# make test-long runs every fuzz target this long: a crash in a parser fails CI.
FUZZTIME_LONG ?= 5s
# The S3-compatible server the object-store tests start.
VERSITYGW ?= github.com/versity/versitygw/cmd/versitygw@v1.8.0
# The linter `make lint` runs, pinned: a newer one may find more.
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT ?= $(shell $(GO) env GOPATH)/bin/golangci-lint

.PHONY: help build test conformance-node test-long test-short bench lint fuzz dev emulator tools clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/ikq
	$(GO) build -o bin/ikq ./cmd/ikq

# The Node SDKs the emulator's conformance tests run, pinned by their lockfile.
CONFORMANCE_NODE := internal/emulator/conformance/node
# The Kubernetes manifests' tests: a module of its own (Kubernetes' and KEDA's types).
KUBE := deploy/kubernetes

test: conformance-node ## run every test with the race detector, and the Kubernetes manifests' tests
	$(GO) test -race -count=1 $(PKGS)
	cd $(KUBE) && $(GO) test -count=1 ./...

conformance-node: ## install the Node SDKs of the emulator's conformance tests (npm ci), when missing
	@if [ ! -d $(CONFORMANCE_NODE)/node_modules ]; then \
	  if command -v npm >/dev/null 2>&1; then npm ci --prefix $(CONFORMANCE_NODE) --no-audit --no-fund; \
	  else echo "npm not found: the Node SDK conformance tests will skip (CI=true makes them fail)"; fi; \
	fi

test-long: ## run the long robustness tests (crash, shutdown, cancel, Redis outage, Cluster and Sentinel failover, fault soak, network partition: root), job state spread over a 3-master cluster and bytes per finished job, then every fuzz target for FUZZTIME_LONG: minutes
	IKQ_LONG_TESTS=1 IKQ_LONG_RACE=1 $(GO) test -race -count=1 -timeout 30m -v ./internal/robustness/
	IKQ_LONG_TESTS=1 $(GO) test -count=1 -run 'TestClusterSpreadsLoad|TestFinishedJobMemory' -v ./internal/jobstore/
	GO=$(GO) FUZZTIME=$(FUZZTIME_LONG) .ci/fuzz

test-short: conformance-node ## run the tests without the race detector
	$(GO) test -count=1 $(PKGS)
	cd $(KUBE) && $(GO) test -count=1 ./...

# The comparison with rclone lives in .ci/rclone, a module of its own (ikq does not
# depend on rclone); its table and the peak RSS lines are printed again at the end.
bench: ## run the benchmarks: bulk against rclone and a sequential loop, pipeline throughput against the loop and asynq at 0-100 ms (plot in bench-pipeline.png), cost per job, REST enqueue, peak RSS, then the packages' own
	@out=$$(mktemp -d) && trap 'rm -rf '"$$out" EXIT && \
	IKQ_BENCH_PLOT=$(CURDIR)/bench-pipeline.png $(GO) test -run='^$$' -bench=. -benchtime=1x -timeout 30m ./internal/bench/ 2>&1 | tee $$out/ikq.txt && grep -q '^ok' $$out/ikq.txt && \
	(cd .ci/rclone && $(GO) test -run='^$$' -bench=Migration -benchtime=1x -timeout 30m . 2>&1) | tee $$out/rclone.txt && grep -q '^ok' $$out/rclone.txt && \
	$(GO) test -run='^$$' -bench=. -benchmem $$($(GO) list ./... | grep -v /internal/bench) && \
	echo && echo "== summary" && \
	sed -n '/^[0-9]* files in [0-9]* folders/,/^100ms *ideal/p' $$out/rclone.txt && \
	grep -h 'peak RSS\|^pipeline\|^job state' $$out/ikq.txt && \
	sed -n '/^summary (/,/^REST into/p' $$out/ikq.txt

lint: ## gofmt, go vet and golangci-lint (.golangci.yml), of ikq, of the examples module (built against the public packages only) and of the Kubernetes manifests' tests
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	cd examples && $(GO) vet ./... && $(GO) build ./...
	cd $(KUBE) && $(GO) vet ./...
	@test -x $(GOLANGCI_LINT) || { echo "golangci-lint not found at $(GOLANGCI_LINT): run make tools"; exit 1; }
	@$(GOLANGCI_LINT) version | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%) " || \
	  { echo "golangci-lint is not $(GOLANGCI_LINT_VERSION): run make tools"; exit 1; }
	$(GOLANGCI_LINT) run $(PKGS)
	cd examples && $(GOLANGCI_LINT) run --config ../.golangci.yml ./...
	cd $(KUBE) && $(GOLANGCI_LINT) run --config ../../.golangci.yml ./...

fuzz: ## run each fuzz target for FUZZTIME (.ci/fuzz)
	GO=$(GO) FUZZTIME=$(FUZZTIME) .ci/fuzz $(PKGS)

dev: build ## run ikq dev: the whole stack in one process (Redis, emulator, API, dashboard, worker)
	exec bin/ikq dev

emulator: build ## run the ImageKit emulator on 127.0.0.1:9090
	exec bin/ikq emulator --listen 127.0.0.1:9090 --private-key private_test --fetch-allow 127.0.0.0/8,::1

tools: ## install into $(go env GOPATH)/bin the servers the tests start besides redis-server (versitygw) and the pinned golangci-lint
	$(GO) install $(VERSITYGW)
	$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

clean: ## remove build output
	rm -rf bin

# cachebench: see README.md. Every target runs from a clean checkout.
GO      ?= go
# The report to render: a results folder, or empty for the newest.
REPORT  ?=
# Smoke settings of the end-to-end test (CI): every builder and strategy
# (the mirror too) on one workload (smoke: small's shape, a cheaper
# package), a cold and a warm run each, each run
# started by a push event through Tekton Triggers (make faults starts its
# runs from the API), a network
# profile checked on the upstream registry's route, and the registry taken
# away in the middle of a build. The builders' runs go side by side: the
# smoke proves, it does not time.
# The smoke has a kind cluster of its own name: a cluster of that name can
# only be left by a smoke that was killed (a CI job cancelled, a machine
# restarted), so it is deleted first instead of failing every later smoke; a
# user's cluster (default name cachebench) is never touched.
E2E_CLUSTER ?= cachebench-e2e
# The smoke skips none's warm runs (CI's budget): no cache has nothing to
# show warm, and a build that leaves a cache behind is caught by the cold
# runs of the other strategies after it on the same node (a cold run with
# hits is contradicted); the report takes none's cold runs as its baseline.
SMOKE_SKIP ?= ^TestCache$$/^none$$/.*/.*/.*/warm
SMOKE_ENV ?= CACHEBENCH_CLUSTER_NAME=$(E2E_CLUSTER) CACHEBENCH_START=trigger CACHEBENCH_WORKLOADS=smoke CACHEBENCH_STRATEGIES=none,registry,pv-warm,mirror CACHEBENCH_STOP_AFTER_FAILURES=2 CACHEBENCH_ROUNDS=1 CACHEBENCH_WARM_RUNS=1 CACHEBENCH_FAULTS=1 CACHEBENCH_SIDE_BY_SIDE=1

.PHONY: help test e2e e2e-nodes e2e-online faults bench report site site-test docker images cluster-up cluster-down build vet clean-cluster

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build the cachebench CLI into bin/
	$(GO) build -o bin/cachebench ./cmd/cachebench

vet: ## go vet every package
	$(GO) vet ./...

# The unit tests need no network: where unshare (util-linux) and ip
# (iproute2) can give them a network namespace of their own, they run in
# it, the modules downloaded first, so that a test reaching out fails here
# and not on an air-gapped machine.
test: vet ## unit tests (no cluster, no Docker, no network)
	$(GO) mod download
	@if unshare -rn true 2>/dev/null && command -v ip >/dev/null; then \
	  echo "go test -short ./... without a network (a network namespace of its own)"; \
	  GOPROXY=off unshare -rn sh -c 'ip link set lo up && exec $(GO) test -short -count=1 ./...'; \
	else \
	  echo "go test -short ./... with the network (no unshare -rn or ip here)"; \
	  $(GO) test -short -count=1 ./...; \
	fi
	@# The package cache's server serves concurrent builds: its tests under the race detector too (it
	@# needs cgo). The server alone: it imports the standard library only, while the harness's side
	@# of the package cache would have the race detector compile client-go too (4 min cold, not 1).
	@if [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v gcc >/dev/null; then \
	  echo "go test -race ./internal/pkgcache/server"; $(GO) test -race -short -count=1 ./internal/pkgcache/server; \
	else echo "no race detector here (it needs cgo and gcc): the package cache's tests ran without it"; fi

docker: ## install and start Docker for kind (Debian; needs root)
	bash host/install-docker.sh

images: docker ## build every image an offline run needs (cached)
	$(GO) run ./cmd/cachebench images build

# E2E_KEEP=1 keeps the smoke's cluster for the fault tests (CI: make faults
# KILL_CLUSTER=$(E2E_CLUSTER) takes it over, then deletes it).
E2E_KEEP ?=

e2e: docker ## end-to-end smoke: every builder and strategy, one workload, 1 warm run, a network profile, the registry fault, then the report
	$(GO) run ./cmd/cachebench cluster down --cluster-name $(E2E_CLUSTER)
	CACHEBENCH_E2E=1 $(if $(E2E_KEEP),CACHEBENCH_KEEP=1) $(SMOKE_ENV) $(GO) test ./bench -run Cache -skip '$(SMOKE_SKIP)' -count=1 -v -timeout 80m
	$(GO) run ./cmd/cachebench report

# Several nodes (the nightly's, not CI's: a second cluster, of three node
# containers): two workers for builds, kaniko and BuildKit side by side, a
# layer cache and a volume, two rounds, so that the rounds take both; each
# level of one build and of two at once, every warm run a source change,
# every run started by a push.
NODES_CLUSTER ?= cachebench-nodes
NODES_ENV ?= CACHEBENCH_CLUSTER_NAME=$(NODES_CLUSTER) CACHEBENCH_NODES=2 CACHEBENCH_START=trigger CACHEBENCH_WORKLOADS=smoke CACHEBENCH_CHANGE=source CACHEBENCH_BUILDERS=kaniko,buildkit CACHEBENCH_STRATEGIES=registry,pv-warm CACHEBENCH_CONCURRENCY=1,2 CACHEBENCH_ROUNDS=2 CACHEBENCH_WARM_RUNS=1 CACHEBENCH_SIDE_BY_SIDE=1

e2e-nodes: docker ## several nodes and builds at once: two workers for builds, each round on one, warm runs of two builds, the harness's servers on the control plane; then a cache volume per node; then pv-warm on a volume the nodes share
	for v in per-round per-node shared; do \
	  only=; [ $$v = shared ] && only=CACHEBENCH_STRATEGIES=pv-warm; \
	  $(GO) run ./cmd/cachebench cluster down --cluster-name $(NODES_CLUSTER) && \
	  CACHEBENCH_E2E=1 CACHEBENCH_CACHE_VOLUME=$$v $(NODES_ENV) env $$only $(GO) test ./bench -run 'TestCache$$|TestCacheNodes|TestCacheConcurrency|TestCacheLeavesNothing' -count=1 -v -timeout 60m || exit 1; \
	done

faults: docker ## fault tests of the harness: SIGINT during cluster creation, SIGKILL mid-run then --reuse
	bash .ci/faults

# E2E_ONLINE=full (the nightly) runs every builder and strategy online; the
# default is the part CI runs.
E2E_ONLINE ?= ci

e2e-online: images ## the online path against a local stand-in of the internet, as a user who is not root: bad input, the online smoke, --kubeconfig with --image-registry
	E2E_ONLINE=$(E2E_ONLINE) bash .ci/e2e-online

bench: docker ## the full benchmark (defaults: every builder on small, until ±10% or 90 min) and its report
	$(GO) run ./cmd/cachebench run

report: ## render charts and report.md (REPORT=folder, default the newest under benchmarks/)
	$(GO) run ./cmd/cachebench report $(REPORT)

# The site to make: from these folders (results folders or folders of them),
# into SITE_OUT.
SITE_FROM ?= benchmarks
SITE_OUT  ?= site

site: ## a static site of benchmarks (SITE_FROM, default benchmarks/) in SITE_OUT (default site/)
	$(GO) run ./cmd/cachebench site --out $(SITE_OUT) $(SITE_FROM)

# SCREENSHOTS=folder keeps the browser test's screenshots.
SCREENSHOTS ?=

site-test: ## the site of the examples in headless Chromium (installs Debian's Chromium; needs root)
	bash host/install-chromium.sh
	CACHEBENCH_BROWSER=chromium $(if $(SCREENSHOTS),CACHEBENCH_SCREENSHOTS=$(SCREENSHOTS)) $(GO) test ./reports -run TestSiteInBrowser -count=1 -v

cluster-up: docker ## bring the cluster up and keep it
	$(GO) run ./cmd/cachebench cluster up

cluster-down: ## delete the kind cluster
	$(GO) run ./cmd/cachebench cluster down

# tenantctl — everything a fresh machine needs is built from here; nothing is installed by hand.
#   make demo   provision the example tenants on a local cluster and check them for drift
#   make test   vet + unit + integration tests (real pulumi CLI, provider plugin, kube-apiserver)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export GOFLAGS := -buildvcs=false

TOOLS_DIR   ?= $(or $(TENANTCTL_TOOLS_DIR),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tenantctl/tools)
DATA_DIR    ?= $(or $(TENANTCTL_DATA_DIR),$(or $(XDG_DATA_HOME),$(HOME)/.local/share)/tenantctl)
CLUSTER_DIR ?= $(or $(XDG_STATE_HOME),$(HOME)/.local/state)/tenantctl/cluster
BIN         := bin/tenantctl
GO_TEST_FLAGS ?= -count=1 -timeout 40m
export TENANTCTL_TOOLS_DIR := $(TOOLS_DIR)

.PHONY: test-deps all build schema tools tool-pulumi tool-provider tool-kube tool-azurite tool-tenantpg check-versions test vet archcheck unit fmt \
        test-provider sdk-tenantpg \
        cluster-up cluster-down demo bench bench-fleet clean docs

all: build

# Stamps `tenantctl version` from git (the tree may be a tarball without .git: then fields stay empty).
BUILDINFO := github.com/connectsoft/tenantctl/internal/buildinfo
LDFLAGS   := -X $(BUILDINFO).version=$(shell git describe --tags --always --dirty 2>/dev/null) \
             -X $(BUILDINFO).commit=$(shell git rev-parse HEAD 2>/dev/null) \
             -X $(BUILDINFO).date=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)

build:
	go build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tenantctl

# The tool builds are independent; run them side by side (about 10 GB peak together; azurite is an
# npm install, network-bound).
tools:
	@echo "[tools] cache: $(TOOLS_DIR)"
	@start=$$(date +%s); $(MAKE) --no-print-directory -j4 tool-pulumi tool-provider tool-kube tool-azurite tool-tenantpg || exit $$?; \
	  cpu=$$(awk -v hz=$$(getconf CLK_TCK) '{ sub(/^.*\) /, ""); printf "%d", ($$14 + $$15) / hz }' /proc/$$$$/stat); \
	  echo "[tools] tool build phase took $$(( $$(date +%s) - start ))s wall, $$cpu CPU-s (0 when every tool was cached)"
	@$(MAKE) --no-print-directory check-versions

tool-pulumi:
	@hack/build-tool.sh pulumi
tool-provider:
	@hack/build-tool.sh provider
tool-kube:
	@hack/build-tool.sh kube
# Azure Storage emulator for the azblob state-backend tests.
tool-azurite:
	@hack/build-tool.sh azurite
# The data layer's PostgreSQL provider plugin, built from provider/ (rebuilt when its sources change).
tool-tenantpg:
	@hack/build-tool.sh tenantpg

# The CLI the engine runs must be the version of the Automation API SDK it is driven by.
check-versions:
	@sdk=$$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3); \
	 tool=$$(cd tools/pulumi && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3); \
	 cli=$$($(TOOLS_DIR)/pulumi-$$sdk/bin/pulumi version 2>/dev/null || echo missing); \
	 const=$$(sed -n 's/.*PulumiVersion *= *"\(.*\)"/\1/p' internal/toolchain/toolchain.go); \
	 echo "[tools] pulumi sdk=$$sdk tools/pulumi=$$tool cli=$$cli toolchain=$$const"; \
	 if [ "$$sdk" != "$$tool" ] || [ "$$sdk" != "$$cli" ] || [ "$$sdk" != "$$const" ]; then \
	   echo "pulumi versions differ: the CLI must match the SDK in go.mod" >&2; exit 1; fi

vet:
	go vet ./...
	cd provider && go vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The JSON Schemas of RuntimeTenantBinding and Environment (schema/), generated from the Go types in
# isolation/; isolation's TestCommittedSchemasAreGenerated fails when they are out of date.
schema:
	go run ./isolation/internal/schemagen -out schema

# Imports point down the flow (internal/archcheck/layers.go); part of `make test`.
archcheck:
	go test -count=1 ./internal/archcheck

# Unit tests only (no cluster, no engine): quick feedback while editing.
unit:
	TENANTCTL_SKIP_INTEGRATION=1 go test -count=1 ./...
	cd provider && TENANTCTL_SKIP_INTEGRATION=1 go test -count=1 ./...

# System packages the tests use: headless Chromium renders the isolation graph page.
test-deps:
	@command -v chromium >/dev/null 2>&1 || { echo "[deps] installing chromium (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: tools test-deps fmt vet archcheck
	go test $(GO_TEST_FLAGS) ./...
	$(MAKE) --no-print-directory test-provider

# The provider is its own Go module (pulumi/pkg stays out of the main module), so `go test ./...`
# above does not descend into it: unit and lifecycle tests against the local PostgreSQL, the SDK
# freshness check and the end-to-end test through the pulumi CLI.
test-provider: tool-tenantpg
	cd provider && go test $(GO_TEST_FLAGS) ./...

# The command reference from the command tree: Markdown in docs/cli, man pages in docs/man/man1
# (MANPATH=docs/man man tenantctl-drift-check). Run it after changing a command, flag or help text;
# TestGeneratedDocsAreCurrent (cmd/tenantctl) fails while the committed files are stale.
docs:
	go run ./cmd/tenantctl gen-docs --markdown-dir docs/cli --man-dir docs/man/man1

# Regenerates the typed Go SDK (sdk/go/tenantpg) from the provider's schema with the pulumi CLI.
sdk-tenantpg: tool-pulumi
	hack/gen-tenantpg-sdk.sh

cluster-up: tools build
	@$(BIN) local-cluster up --state-dir $(CLUSTER_DIR)

cluster-down: build
	@$(BIN) local-cluster down --state-dir $(CLUSTER_DIR)

# The main job on the embedded default: file state backend + local kube-apiserver.
demo: tools build
	@hack/demo.sh

bench: tools build
	@hack/bench.sh

# Provisioning (cold, no-op and one-changed `up --all`, full engine) and drift (shell loop vs
# engine-only vs fast path, data plane included) over a fleet of pool tenants, then CPU per stack
# and the 1->2 worker ratio at N = BENCH_FLEET_WORKERS_N (0 skips it) (docs/benchmarks.md).
# BENCH_FLEET_SIZES=50,200 for a shorter run; BENCH_FLEET_ARGS for more flags.
BENCH_FLEET_SIZES ?= 50,200,1000
BENCH_FLEET_WORKERS_N ?= 12
bench-fleet: tools build
	go build -o bin/tenantctl-program ./cmd/tenantctl-program
	go build -o bin/pulumi-language-go ./cmd/pulumi-language-go
	go build -o bin/bench-fleet ./bench/fleet
	go build -o bin/bench-provision ./bench/provision
	bin/bench-fleet -n $(BENCH_FLEET_SIZES) $(BENCH_FLEET_ARGS)
	[ "$(BENCH_FLEET_WORKERS_N)" = 0 ] || { bin/bench-provision -n $(BENCH_FLEET_WORKERS_N) -parallel 1,2 > bin/bench-provision-$(BENCH_FLEET_WORKERS_N).md && cat bin/bench-provision-$(BENCH_FLEET_WORKERS_N).md; }

clean:
	rm -rf bin

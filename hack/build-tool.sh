#!/usr/bin/env bash
# Builds one of the offline tools from source through the Go module proxy into the tool cache,
# unless the cache (or a matching binary on PATH) already has it. One tool per call so that make can
# run them in parallel:  hack/build-tool.sh pulumi|provider|kube|azurite|tenantpg
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${TENANTCTL_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tenantctl/tools}
PULUMI_VERSION=${PULUMI_VERSION:-v3.274.1}
K8S_PROVIDER_VERSION=${K8S_PROVIDER_VERSION:-4.25.0}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
AZURITE_VERSION=${AZURITE_VERSION:-3.37.0}
# The data layer's provider is built from this repository; its version is the toolchain's constant.
TENANTPG_VERSION=$(sed -n 's/.*TenantPGProviderVersion *= *"\(.*\)"/\1/p' "$here/internal/toolchain/toolchain.go")
export GOFLAGS=-buildvcs=false CGO_ENABLED=0

log() { printf '[tools] %s: %s\n' "$1" "$2" >&2; }

# link_from_path reuses a binary already on PATH when it reports the wanted version.
link_from_path() { # name dir want-substring version-args...
	local name=$1 dir=$2 want=$3; shift 3
	local found; found=$(command -v "$name" 2>/dev/null) || return 1
	case "$found" in "$dir"/*) return 1 ;; esac
	if "$found" "$@" 2>/dev/null | grep -q -- "$want"; then
		mkdir -p "$dir" && ln -sf "$found" "$dir/$name"
		log "$name" "using $found from PATH ($want)"
		return 0
	fi
	return 1
}

# A cold tool build runs for many minutes with nothing to show; progress says every
# TENANTCTL_TOOLS_PROGRESS seconds (default 60, 0 for never) how long it has run and how many of
# the target's packages the compiler has finished, so a slow machine is told apart from a hung one.
progress_every=${TENANTCTL_TOOLS_PROGRESS:-60}

# children_cpu sets cpu to the CPU seconds (user + system) of this shell's reaped children, read
# from /proc because `times` in a command substitution would see a fresh subshell's zero.
ticks=$(getconf CLK_TCK)
children_cpu() { local f; read -r -a f < "/proc/$BASHPID/stat"; cpu=$(( (f[15] + f[16]) / ticks )); }

# gobuild runs `go build -v ARGS...` (the last argument is the package), reporting progress while
# it runs and printing the compiler's output only when it fails.
gobuild() { # name go-build-args...
	local name=$1; shift
	local pkg=${*: -1}
	local out; out=$(mktemp)
	local total; total=$(go list -deps "$pkg" 2>/dev/null | wc -l) || total=0
	local start=$SECONDS last=$SECONDS
	go build -v "$@" 2>"$out" &
	local pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		if [ "$progress_every" -gt 0 ] && [ $((SECONDS - last)) -ge "$progress_every" ]; then
			last=$SECONDS
			log "$name" "$(basename "$pkg"): $((SECONDS - start))s, $(grep -c . "$out") of ${total} packages compiled (the rest cached or to come)"
		fi
	done
	local rc=0; wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then cat "$out" >&2; rm -f "$out"; return "$rc"; fi
	rm -f "$out"
}

timed() { # name cmd...
	local name=$1; shift
	local start=$SECONDS
	"$@"
	local cpu; children_cpu
	log "$name" "built in $((SECONDS - start))s wall, ${cpu} CPU-s"
}

build_pulumi() {
	# auto.NewPulumiCommand(Root: dir) runs dir/bin/pulumi, hence the bin/ level.
	local dir=$cache/pulumi-$PULUMI_VERSION
	if [ -x "$dir/bin/pulumi" ]; then log pulumi "cached at $dir"; return; fi
	link_from_path pulumi "$dir/bin" "$PULUMI_VERSION" version && return
	log pulumi "building $PULUMI_VERSION into $dir (about 1,000 CPU-s)"
	mkdir -p "$dir/bin"
	(cd "$here/tools/pulumi" && timed pulumi gobuild pulumi -trimpath -o "$dir/bin/pulumi.tmp" \
		-ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
		github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
	mv "$dir/bin/pulumi.tmp" "$dir/bin/pulumi"
}

build_provider() {
	local dir=$cache/pulumi-resource-kubernetes-v$K8S_PROVIDER_VERSION
	local bin=pulumi-resource-kubernetes
	if [ -x "$dir/$bin" ]; then log provider "cached at $dir"; return; fi
	link_from_path "$bin" "$dir" "$K8S_PROVIDER_VERSION" -version && return
	log provider "building v$K8S_PROVIDER_VERSION into $dir (about 1,400 CPU-s, 4.7 GB at link)"
	mkdir -p "$dir"
	cd "$here/tools/pulumi-kubernetes"
	go mod download github.com/pulumi/pulumi-kubernetes/provider/v4
	local src; src=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)/cmd/pulumi-resource-kubernetes
	go run ./gen -src "$src" -out . -version "$K8S_PROVIDER_VERSION"
	timed provider gobuild provider -trimpath -o "$dir/$bin.tmp" \
		-ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" .
	mv "$dir/$bin.tmp" "$dir/$bin"
}

build_kube() {
	local dir=$cache/kube-$K8S_VERSION
	if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/kube-controller-manager" ] && [ -x "$dir/etcd" ]; then
		log kube "cached at $dir"; return
	fi
	log kube "building kube-apiserver, kube-controller-manager $K8S_VERSION and etcd into $dir (about 1,600 CPU-s)"
	mkdir -p "$dir"
	local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
	local ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
	cd "$here/tools/kube"
	local start=$SECONDS
	gobuild kube -trimpath -ldflags "$ld" -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
	gobuild kube -trimpath -ldflags "$ld" -o "$dir/kube-controller-manager.tmp" k8s.io/kubernetes/cmd/kube-controller-manager
	gobuild kube -trimpath -ldflags "-s -w" -o "$dir/etcd.tmp" ./etcd
	for b in kube-apiserver kube-controller-manager etcd; do mv "$dir/$b.tmp" "$dir/$b"; done
	local cpu; children_cpu
	log kube "built in $((SECONDS - start))s wall, ${cpu} CPU-s"
}

build_azurite() {
	# The Azure Storage emulator the azblob state-backend tests run against (npm registry, pinned).
	local dir=$cache/azurite-$AZURITE_VERSION
	if [ -x "$dir/node_modules/.bin/azurite-blob" ]; then log azurite "cached at $dir"; return; fi
	command -v npm >/dev/null || { log azurite "npm not found: install Node.js 18+ and npm"; exit 1; }
	log azurite "installing azurite@$AZURITE_VERSION into $dir"
	local tmp=$dir.tmp.$$
	rm -rf "$tmp" && mkdir -p "$tmp"
	local start=$SECONDS
	npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error "azurite@$AZURITE_VERSION" >&2
	rm -rf "$dir" && mv "$tmp" "$dir"
	log azurite "installed in $((SECONDS - start))s"
}

# tenantpg_source_hash fingerprints what the plugin is built from (the provider module and the
# pgcatalog package it imports, plus both modules' dependency pins), so a cached binary built from
# other sources is rebuilt even though the version did not change.
tenantpg_source_hash() {
	(cd "$here" && find provider pgcatalog -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -not -name '*_test.go' -print0 |
		sort -z | xargs -0 sha256sum && sha256sum go.mod go.sum) | sha256sum | cut -d' ' -f1
}

build_tenantpg() {
	local dir=$cache/pulumi-resource-tenantpg-v$TENANTPG_VERSION
	local bin=pulumi-resource-tenantpg
	local hash; hash=$(tenantpg_source_hash)
	if [ -x "$dir/$bin" ] && [ "$(cat "$dir/.source-sha256" 2>/dev/null)" = "$hash" ]; then
		log tenantpg "cached at $dir"; return
	fi
	log tenantpg "building v$TENANTPG_VERSION from provider/ into $dir"
	mkdir -p "$dir"
	(cd "$here/provider" && timed tenantpg gobuild tenantpg -trimpath -o "$dir/$bin.tmp" \
		-ldflags "-s -w -X github.com/connectsoft/tenantctl/provider/tenantpg.Version=$TENANTPG_VERSION" \
		./cmd/pulumi-resource-tenantpg)
	mv "$dir/$bin.tmp" "$dir/$bin"
	echo "$hash" > "$dir/.source-sha256"
}

case "${1:-}" in
pulumi) build_pulumi ;;
provider) build_provider ;;
kube) build_kube ;;
azurite) build_azurite ;;
tenantpg) build_tenantpg ;;
dir) echo "$cache" ;;
*) echo "usage: $0 pulumi|provider|kube|azurite|tenantpg|dir" >&2; exit 2 ;;
esac

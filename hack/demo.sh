#!/usr/bin/env bash
# The main job on the embedded default: a local kube-apiserver and the file state backend.
# Provisions the example tenants (platform stack first, each tier's data on the local PostgreSQL),
# shows their status, then checks drift (Kubernetes and the data plane), reachability, and proves
# data isolation by logging in as each tenant. Re-running it is safe: the second `up` is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/tenantctl
data=${TENANTCTL_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/tenantctl}
mkdir -p "$data"
# The stacks' secrets provider is a passphrase; keep it in a file only this user can read.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${TENANTCTL_PASSPHRASE_FILE:-}" ]; then
	export TENANTCTL_PASSPHRASE_FILE=$data/passphrase
	[ -s "$TENANTCTL_PASSPHRASE_FILE" ] || (umask 077 && head -c 32 /dev/urandom | base64 > "$TENANTCTL_PASSPHRASE_FILE")
fi

step() { printf '\n== %s\n' "$*"; }

step "local cluster"
kubeconfig=$($bin local-cluster up)
export TENANTCTL_KUBECONFIG=$kubeconfig
echo "kubeconfig: $kubeconfig"

step "validate the desired state"
$bin validate examples/tenants

step "provision every tenant of examples/tenants (platform stack first)"
$bin up --all -d examples/tenants

step "status"
$bin status -d examples/tenants

if $bin drift --help >/dev/null 2>&1; then
	step "drift check"
	set +e
	$bin drift check --all -d examples/tenants
	rc=$?
	set -e
	echo "drift check exit code: $rc (0 clean, 2 drift found)"
fi

step "isolation: who can reach whom (exit 2 on any undeclared tenant-to-tenant edge)"
$bin isolation verify -d examples/tenants
$bin isolation graph -d examples/tenants -o html --out bin/reachability.html
echo "graph written to bin/reachability.html"

step "data plane: log in as each tenant's own database role and try to reach the others (exit 2 on any)"
$bin isolation probe -d examples/tenants --env dev

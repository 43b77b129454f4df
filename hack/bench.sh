#!/usr/bin/env bash
# Benchmarks (not tests), run by `make bench` after `make tools build`:
#   1. the Go benchmarks under bench/ (skip with BENCH_GO=0);
#   2. provisioning: BENCH_TENANTS pool tenants (default 6) on a fresh local cluster with the real
#      engine, --parallel 1 against --parallel 2 (BENCH_PARALLEL), BENCH_RUNS runs each (default 1).
# The provisioning table is also written to bin/bench-provision.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}

tenants=${BENCH_TENANTS:-6}
parallel=${BENCH_PARALLEL:-1,2}
runs=${BENCH_RUNS:-1}

if [ "${BENCH_GO:-1}" != 0 ]; then
	echo "== Go benchmarks (bench/)"
	go test -run '^$' -bench . -benchmem ./bench/...
fi

echo "== provisioning: $tenants pool tenants, --parallel $parallel, $runs run(s) each"
mkdir -p bin
go build -o bin/bench-provision ./bench/provision
start=$SECONDS
bin/bench-provision -n "$tenants" -parallel "$parallel" -runs "$runs" -examples examples/tenants | tee bin/bench-provision.md
echo "[bench] provisioning benchmark took $((SECONDS - start))s; table in bin/bench-provision.md"

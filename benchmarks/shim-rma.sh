#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shim-rma.sh - one-sided communication, shoal's MPI against Open MPI in
# one run: builds benchmarks/shim_rma.c with both mpicc wrappers and runs
# them alternately, ROUNDS times (2 ranks on this node): shoal as it runs
# by default (a window allocated on one node is shared memory, operations
# are loads, stores and atomics), shoal with SHOAL_MPI_RMA_NO_SHM=1 (every
# operation an active message over point-to-point), Open MPI as it
# chooses (osc sm: shared memory), and Open MPI with its active-message
# component over TCP (--mca osc pt2pt --mca btl tcp,self). Prints every
# result as a JSON object, then the median over rounds of each measure
# and the ratios shoal / Open MPI (shared memory) and shoal's active
# messages / Open MPI's over TCP: for bandwidth higher is better, for
# latencies and epochs lower is better.
# Usage: benchmarks/shim-rma.sh [BUILDDIR]  (after `make`); ROUNDS=3.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${SHOAL_BUILDDIR:-$src}}
SHIM_LAUNCHER=${SHIM_LAUNCHER:-"$build/cmd/shoal run -n"}
REF_MPICC=${REF_MPICC:-mpicc.openmpi}
REF_LAUNCHER=${REF_LAUNCHER:-"mpirun.openmpi -n"}
ROUNDS=${ROUNDS:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out="$build/benchmarks/shim-rma.out"
mkdir -p "$out"
make -C "$build" mpi-shim/mpicc-uninst >/dev/null || exit 1
"$build/mpi-shim/mpicc-uninst" -O2 -I"$src/benchmarks" -o "$out/shim_rma.shoal" \
    "$src/benchmarks/shim_rma.c" || exit 1
"$REF_MPICC" -O2 -I"$src/benchmarks" -o "$out/shim_rma.ompi" \
    "$src/benchmarks/shim_rma.c" || exit 1

results="$out/results.json"
: >"$results"
run() {
    timeout -k 5 "${RUN_TIMEOUT:-600}" "$@" </dev/null >>"$results" \
        2>>"$out/stderr.log"
    local rc=$?
    [ $rc -eq 0 ] || echo "{\"error\":\"run failed\",\"rc\":$rc,\"command\":\"$*\"}" \
        | tee -a "$out/errors.json" >&2
    return $rc
}
for round in $(seq "$ROUNDS"); do
    run $SHIM_LAUNCHER 2 "$out/shim_rma.shoal" shoal
    run env SHOAL_MPI_RMA_NO_SHM=1 $SHIM_LAUNCHER 2 -x SHOAL_MPI_RMA_NO_SHM \
        "$out/shim_rma.shoal" shoal-am
    run $REF_LAUNCHER 2 "$out/shim_rma.ompi" openmpi
    run $REF_LAUNCHER 2 --mca osc pt2pt --mca btl tcp,self \
        "$out/shim_rma.ompi" openmpi-tcp
done
cat "$results"

awk -v FS='[{}:,"]+' '
function field(name,   i) { for (i = 1; i < NF; i++) if ($i == name) return $(i + 1); return "" }
function median(list,   a, n, i, j, v) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { v = a[i] + 0; j = i - 1
        while (j > 0 && a[j] + 0 > v) { a[j + 1] = a[j]; j-- }
        a[j + 1] = v }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/"bench"/ {
    key = field("bench") "|" field("size") "|" field("metric")
    impl = field("impl")
    vals[key, impl] = vals[key, impl] " " field("median")
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
}
END {
    printf("\n%-16s %8s %-15s %10s %10s %10s %10s %8s %8s\n", "bench", "bytes",
           "metric", "shoal", "openmpi", "shoal-am", "ompi-tcp", "/ompi",
           "am/tcp")
    for (i = 1; i <= n; i++) {
        k = order[i]; split(k, p, "|")
        s = median(vals[k, "shoal"]); o = median(vals[k, "openmpi"])
        a = median(vals[k, "shoal-am"]); t = median(vals[k, "openmpi-tcp"])
        printf("{\"compare\":\"%s\",\"size\":%s,\"metric\":\"%s\",\"shoal\":%s,\"openmpi\":%s,\"shoal_am\":%s,\"openmpi_tcp\":%s,\"ratio\":%.3f,\"ratio_am_tcp\":%.3f}\n",
               p[1], p[2], p[3], s, o, a, t, o ? s / o : 0, t ? a / t : 0) > "/dev/stderr"
        printf("%-16s %8s %-15s %10.2f %10.2f %10.2f %10.2f %8.2f %8.2f\n",
               p[1], p[2], p[3], s, o, a, t, o ? s / o : 0, t ? a / t : 0)
    }
}' "$results"

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
#
# Across hosts (SHIM_HOSTS=1, root only): the two namespace hosts of
# benchmarks/hosts.sh (as in shim-bench.sh), a daemon on each, one rank per
# host under `shoal run -n 2 --map-by node`: shoal's MPI as it runs (no
# shared window between hosts: contiguous puts and gets are fi_write and
# fi_read when the provider offers RMA, the rest active messages over
# libfabric; label shoal-ofi; with SHIM_RMA_AM=1 also shoal-am, every
# operation an active message, SHOAL_MPI_RMA_OFI=0) against Open MPI's
# build under the same
# `shoal run` with `--mca pml ob1 --mca btl tcp,self --mca osc pt2pt`
# (label openmpi-tcp; with btl tcp,self Open MPI 4.1's osc rdma fails
# MPI_Win_allocate with MPI_ERR_WIN, tcp offering no RDMA operations), in
# alternating rounds. After every run the bytes both hosts' eth0 received
# are checked against the payload shim_rma moves (puts and accumulates to
# the target, gets back): a run whose data did not cross the link is an
# error. Ratios are shoal-ofi / openmpi-tcp, one JSON object each.
#
# Usage: benchmarks/shim-rma.sh [BUILDDIR]  (after `make`); ROUNDS=3,
# SHIM_HOSTS, SHIM_RMA_AM, RUN_TIMEOUT (seconds a run may take),
# SHIM_BENCH_OUT (where
# programs and results go; default under BUILDDIR).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-${SHOAL_BUILDDIR:-$src}}" && pwd)
SHIM_HOSTS=${SHIM_HOSTS:-}
SHIM_LAUNCHER=${SHIM_LAUNCHER:-"$build/cmd/shoal run -n"}
REF_MPICC=${REF_MPICC:-mpicc.openmpi}
REF_LAUNCHER=${REF_LAUNCHER:-"mpirun.openmpi -n"}
ROUNDS=${ROUNDS:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_base_warn_component_unused=0
out=${SHIM_BENCH_OUT:-"$build/benchmarks/shim-rma.out${SHIM_HOSTS:+-hosts}"}
mkdir -p "$out"
if [ -n "$SHIM_HOSTS" ]; then
    command -v "$REF_MPICC" >/dev/null || {
        echo "shim-rma: across hosts needs Open MPI ($REF_MPICC)" >&2
        exit 1
    }
    . "$src/benchmarks/hosts.sh"
    hosts_setup shim-rma
    HOSTS_RX="1 2"
fi
make -C "$build" mpi-shim/mpicc-uninst >/dev/null || exit 1
"$build/mpi-shim/mpicc-uninst" -O2 -I"$src/benchmarks" -o "$out/shim_rma.shoal" \
    "$src/benchmarks/shim_rma.c" || exit 1
"$REF_MPICC" -O2 -I"$src/benchmarks" -o "$out/shim_rma.ompi" \
    "$src/benchmarks/shim_rma.c" || exit 1

results="$out/results.json"
: >"$results"
: >"$out/errors.json"
: >"$out/link.json"
: >"$out/stderr.log"
run() {
    timeout -k 5 "${RUN_TIMEOUT:-600}" "$@" </dev/null >>"$results" \
        2>>"$out/stderr.log"
    local rc=$?
    [ $rc -eq 0 ] || echo "{\"error\":\"run failed\",\"rc\":$rc,\"command\":\"$*\"}" \
        | tee -a "$out/errors.json" >&2
    return $rc
}
# The least payload one run of shim_rma moves between the hosts: per
# operation kind (put, get, accumulate) and size, TRIALS + 1 latency and
# bandwidth trials of iters operations (the constants of shim_rma.c).
rma_bytes() {
    echo $(( 3 * (5 + 1) * 2 * (8 * 200 + 1024 * 200 + 65536 * 64 + 1048576 * 8) ))
}

for round in $(seq "$ROUNDS"); do
    if [ -n "$SHIM_HOSTS" ]; then
        # Alternate which implementation runs first.
        if [ $((round % 2)) -eq 1 ]; then order="shoal-ofi openmpi-tcp"
        else order="openmpi-tcp shoal-ofi"; fi
        [ -n "${SHIM_RMA_AM:-}" ] && order="$order shoal-am"
        for im in $order; do
            case $im in
            shoal-ofi) hosts_run "$im" "$(rma_bytes)" -n 2 \
                "$out/shim_rma.shoal" "$im" ;;
            shoal-am) hosts_run "$im" "$(rma_bytes)" -n 2 \
                -x SHOAL_MPI_RMA_OFI=0 "$out/shim_rma.shoal" "$im" ;;
            openmpi-tcp) hosts_run "$im" "$(rma_bytes)" -n 2 --mca pml ob1 \
                --mca btl tcp,self --mca osc pt2pt "$out/shim_rma.ompi" "$im" ;;
            esac
        done
        continue
    fi
    run $SHIM_LAUNCHER 2 "$out/shim_rma.shoal" shoal
    run env SHOAL_MPI_RMA_NO_SHM=1 $SHIM_LAUNCHER 2 -x SHOAL_MPI_RMA_NO_SHM \
        "$out/shim_rma.shoal" shoal-am
    run $REF_LAUNCHER 2 "$out/shim_rma.ompi" openmpi
    run $REF_LAUNCHER 2 --mca osc pt2pt --mca btl tcp,self \
        "$out/shim_rma.ompi" openmpi-tcp
done
cat "$results"

awk -v FS='[{}:,"]+' -v hosts="$SHIM_HOSTS" '
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
    if (hosts != "") {
        printf("\n%-16s %8s %-15s %10s %10s %8s %10s %8s\n", "bench", "bytes",
               "metric", "shoal-ofi", "ompi-tcp", "ratio", "shoal-am", "ratio")
        for (i = 1; i < n + 1; i++) {
            k = order[i]; split(k, p, "|")
            if (!((k, "shoal-ofi") in vals) || !((k, "openmpi-tcp") in vals))
                continue
            s = median(vals[k, "shoal-ofi"]); t = median(vals[k, "openmpi-tcp"])
            printf("{\"compare\":\"%s\",\"impl\":\"shoal-ofi\",\"ref\":\"openmpi-tcp\",\"size\":%s,\"metric\":\"%s\",\"shoal\":%s,\"reference\":%s,\"ratio\":%.3f}\n",
                   p[1], p[2], p[3], s, t, t ? s / t : 0) > "/dev/stderr"
            a = ""
            if ((k, "shoal-am") in vals) {
                a = median(vals[k, "shoal-am"])
                printf("{\"compare\":\"%s\",\"impl\":\"shoal-am\",\"ref\":\"openmpi-tcp\",\"size\":%s,\"metric\":\"%s\",\"shoal\":%s,\"reference\":%s,\"ratio\":%.3f}\n",
                       p[1], p[2], p[3], a, t, t ? a / t : 0) > "/dev/stderr"
            }
            printf("%-16s %8s %-15s %10.2f %10.2f %8.2f", p[1], p[2], p[3], s, t,
                   t ? s / t : 0)
            if (a != "")
                printf(" %10.2f %8.2f", a, t ? a / t : 0)
            printf("\n")
        }
        exit
    }
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

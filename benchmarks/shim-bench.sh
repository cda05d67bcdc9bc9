#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shim-bench.sh - shoal's MPI against Open MPI in one run: builds the
# ping-pong and collective programs with both mpicc wrappers, runs them
# side by side, prints every result as a JSON object, then one JSON object
# per comparison (ratio = shoal / Open MPI; for bandwidth higher is
# better, for times lower is better) and a short table.
# Usage: benchmarks/shim-bench.sh [BUILDDIR]  (after `make`)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${SHOAL_BUILDDIR:-$src}}
SHIM_LAUNCHER=${SHIM_LAUNCHER:-"$build/cmd/shoal run --oversubscribe -n"}
REF_MPICC=${REF_MPICC:-mpicc.openmpi}
REF_LAUNCHER=${REF_LAUNCHER:-"mpirun.openmpi --oversubscribe -n"}
# Providers of shoal to measure (ping-pong); the first also runs the
# collectives. shm is measured first: it is the single-node data path.
SHIM_PROVIDERS=${SHIM_PROVIDERS:-"shm default"}
COLL_RANKS=${COLL_RANKS:-"2 4"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out="$build/benchmarks/shim-bench.out"
mkdir -p "$out"
make -C "$build" mpi-shim/mpicc-uninst >/dev/null || exit 1
for p in shim_pingpong shim_coll; do
    "$build/mpi-shim/mpicc-uninst" -O2 -o "$out/$p.shoal" \
        "$src/benchmarks/$p.c" || exit 1
    "$REF_MPICC" -O2 -o "$out/$p.ompi" "$src/benchmarks/$p.c" || exit 1
done

results="$out/results.json"
: >"$results"
# Every run is bounded; a run that fails or times out leaves a JSON error
# object (libfabric 1.17's shm can stall on unexpected segmented messages).
run() {
    timeout -k 5 "${RUN_TIMEOUT:-120}" "$@" </dev/null >>"$results" \
        2>>"$out/stderr.log"
    local rc=$?
    # A killed rank leaves its shm region (named shoal_<pid>_...) behind.
    if [ $rc -ne 0 ]; then
        for f in /dev/shm/shoal_*; do
            [ -e "$f" ] || continue
            b=${f##*/shoal_}
            kill -0 "${b%%_*}" 2>/dev/null || rm -f "$f"
        done
    fi
    [ $rc -eq 0 ] || echo "{\"error\":\"run failed\",\"rc\":$rc,\"command\":\"$*\"}" \
        | tee -a "$out/errors.json" >&2
    return $rc
}
for prov in $SHIM_PROVIDERS; do
    label="shoal-$prov"
    if [ "$prov" = default ]; then
        env -u SHOAL_OFI_PROVIDER $SHIM_LAUNCHER 2 true </dev/null >/dev/null 2>&1
        run env -u SHOAL_OFI_PROVIDER $SHIM_LAUNCHER 2 "$out/shim_pingpong.shoal" "$label"
    else
        run env SHOAL_OFI_PROVIDER="$prov" $SHIM_LAUNCHER 2 "$out/shim_pingpong.shoal" "$label"
    fi
done
run $REF_LAUNCHER 2 "$out/shim_pingpong.ompi" openmpi
for np in $COLL_RANKS; do
    first=${SHIM_PROVIDERS%% *}
    if [ "$first" = default ]; then
        run env -u SHOAL_OFI_PROVIDER $SHIM_LAUNCHER "$np" "$out/shim_coll.shoal" "shoal-default"
    else
        # A failed run's partial lines are kept; the default provider then
        # measures what is missing.
        run env SHOAL_OFI_PROVIDER="$first" $SHIM_LAUNCHER "$np" "$out/shim_coll.shoal" "shoal-$first" \
            || run env -u SHOAL_OFI_PROVIDER $SHIM_LAUNCHER "$np" "$out/shim_coll.shoal" "shoal-default"
    fi
    run $REF_LAUNCHER "$np" "$out/shim_coll.ompi" openmpi
done
cat "$results"

# Pair every shoal result with Open MPI's for the same bench/ranks/size/
# metric, and print a ratio object plus a table row.
awk -v FS='[{}:,"]+' '
function field(name,   i) { for (i = 1; i < NF; i++) if ($i == name) return $(i + 1); return "" }
{
    key = field("bench") "|" field("ranks") "|" field("size") "|" field("metric")
    impl = field("impl"); val = field("median")
    if (impl == "openmpi") ref[key] = val
    else { mine[key, impl] = val; impls[impl] = 1; keys[key] = 1 }
}
END {
    n = 0
    for (k in keys) order[++n] = k
    # insertion sort keeps the table stable
    for (i = 2; i <= n; i++) { v = order[i]; j = i - 1
        while (j > 0 && order[j] > v) { order[j + 1] = order[j]; j-- }
        order[j + 1] = v }
    rows = ""
    for (i = 1; i <= n; i++) {
        k = order[i]; split(k, p, "|")
        for (im in impls) {
            if (!((k, im) in mine) || !(k in ref) || ref[k] == 0) continue
            r = mine[k, im] / ref[k]
            printf("{\"compare\":\"%s\",\"impl\":\"%s\",\"ranks\":%s,\"size\":%s,\"metric\":\"%s\",\"shoal\":%s,\"openmpi\":%s,\"ratio\":%.3f}\n",
                   p[1], im, p[2], p[3], p[4], mine[k, im], ref[k], r)
            rows = rows sprintf("%-10s %-14s %5s %9s %-15s %12s %12s %8.2f\n",
                   p[1], im, p[2], p[3], p[4], mine[k, im], ref[k], r)
        }
    }
    printf("\n%-10s %-14s %5s %9s %-15s %12s %12s %8s\n", "bench", "impl",
           "ranks", "bytes", "metric", "shoal", "openmpi", "ratio")
    printf("%s", rows)
}' "$results"

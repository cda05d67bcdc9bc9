#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# slurm-launch.sh - launch time inside one Slurm allocation of two nodes:
# `shoal run -n 4` of an MPI hello (built with shoal's mpicc) against
# `srun -n 4 --mpi=pmi2` of the same program, and `mpirun.openmpi -n 4` of
# its Open MPI build when Open MPI is installed, alternated round by round;
# medians and the ratio to srun, one JSON object each, then a table.
# shoal is measured twice: "shoal" on the pool the allocation keeps (the
# default: the first `shoal run` started it, during the warm-up), and
# "shoal-own" with SHOAL_SLURM_POOL=run, each run starting and stopping a
# pool of its own (what a batch script with a single `shoal run` pays).
# Usage: inside an allocation, `salloc -N2 -n4 benchmarks/slurm-launch.sh
# [BUILDDIR]`; outside one, as root, it starts the test cluster of
# tests/integration/slurm.sh (two nodes on this machine) and runs itself
# inside `salloc -N2 -n4` there. REPS=15.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${SHOAL_BUILDDIR:-$src}}
build=$(cd "$build" && pwd)
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
REPS=${REPS:-15}

if [ -z "${SLURM_JOB_ID:-}" ]; then
    TRASH=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench.XXXXXX")
    cd "$TRASH" || exit 1
    # shellcheck source=../tests/integration/slurm.sh
    . "$src/tests/integration/slurm.sh"
    if ! slurm_setup; then
        echo "slurm-launch: no allocation and no test cluster: $slurm_skip_reason" >&2
        slurm_teardown
        rm -rf "$TRASH"
        exit 77
    fi
    trap 'slurm_teardown; rm -rf "$TRASH"' EXIT
    salloc --quiet -N2 -n4 "$self" "$build" </dev/null
    exit $?
fi

out="$build/benchmarks/slurm-launch.out"
mkdir -p "$out"
make -C "$build" mpi-shim/mpicc-uninst >/dev/null || exit 1
"$build/mpi-shim/mpicc-uninst" -O2 -o "$out/hello.shoal" \
    "$src/tests/mpi/hello.c" || exit 1
impls="shoal shoal-own srun"
if command -v mpicc.openmpi >/dev/null && command -v mpirun.openmpi >/dev/null &&
    mpicc.openmpi -O2 -o "$out/hello.ompi" "$src/tests/mpi/hello.c"; then
    impls="$impls openmpi"
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
raw="$out/raw.txt"
now_ms() { date +%s%N | awk '{ printf "%.1f", $1 / 1e6 }'; }
# One launch of 4 ranks; its wall time appended to raw, or an error.
run() {
    local impl=$1 t0 t1 rc n
    t0=$(now_ms)
    case $impl in
    shoal) timeout -k 5 60 "$build/cmd/shoal" run -n 4 "$out/hello.shoal" ;;
    shoal-own) SHOAL_SLURM_POOL=run timeout -k 5 60 \
        "$build/cmd/shoal" run -n 4 "$out/hello.shoal" ;;
    srun) timeout -k 5 60 srun --quiet -n 4 --mpi=pmi2 "$out/hello.shoal" ;;
    openmpi) timeout -k 5 60 mpirun.openmpi -n 4 "$out/hello.ompi" ;;
    esac </dev/null >"$out/last.out" 2>>"$out/stderr.log"
    rc=$?
    t1=$(now_ms)
    # srun can exit 0 after a failed launch: count the ranks that spoke
    n=$(grep -c "of 4" "$out/last.out")
    if [ $rc -ne 0 ] || [ "$n" -ne 4 ]; then
        echo "{\"error\":\"run failed\",\"impl\":\"$impl\",\"rc\":$rc,\"ranks\":$n}" >&2
        return 1
    fi
    echo "$impl $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" >>"$raw"
}
# Warm-up (page cache, first exec), not recorded.
: >"$raw"
for impl in $impls; do run "$impl" 2>/dev/null; done
: >"$raw"
for r in $(seq "$REPS"); do
    # alternate which goes first, so that neither always follows the other
    if [ $((r % 2)) -eq 0 ]; then order=$impls
    else order=$(echo "$impls" | tr ' ' '\n' | tac | tr '\n' ' '); fi
    for impl in $order; do run "$impl"; done
done

awk -v impls="$impls" -v nodes="${SLURM_JOB_NODELIST:-?}" '
function median(impl,   n, i, j, v, a) {
    n = cnt[impl]
    for (i = 1; i <= n; i++) a[i] = val[impl, i]
    for (i = 2; i <= n; i++) { v = a[i]; j = i - 1
        while (j > 0 && a[j] > v) { a[j + 1] = a[j]; j-- }
        a[j + 1] = v }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ val[$1, ++cnt[$1]] = $2 }
END {
    n = split(impls, list, " ")
    ref = cnt["srun"] ? median("srun") : -1
    for (i = 1; i <= n; i++) {
        m = cnt[list[i]] ? median(list[i]) : -1
        printf("{\"bench\":\"slurm-launch\",\"impl\":\"%s\",\"ranks\":4,\"nodes\":\"%s\",\"runs\":%d,\"median_ms\":%.1f,\"ratio_to_srun\":%.2f}\n",
               list[i], nodes, cnt[list[i]], m, ref > 0 && m > 0 ? m / ref : -1)
    }
    printf("\n%-10s %6s %12s %14s\n", "launcher", "runs", "median ms", "x srun")
    for (i = 1; i <= n; i++) {
        m = cnt[list[i]] ? median(list[i]) : -1
        printf("%-10s %6d %12.1f %14.2f\n", list[i], cnt[list[i]], m,
               ref > 0 && m > 0 ? m / ref : -1)
    }
}' "$raw"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shim-startup.sh - start-up cost of shoal's MPI against MPICH in one run.
# Builds benchmarks/shim_startup.c with shoal's mpicc and MPICH's, then
# runs both, interleaved round by round, as a singleton (no launcher) and
# under `shoal run -n 2`, and reports medians of: the whole process (as
# its parent sees it), exec to main (library loading), MPI_Init and
# MPI_Finalize (clocked inside rank 0), one JSON object each, then the
# ratio shoal / MPICH per measure and a table.
# Usage: benchmarks/shim-startup.sh [BUILDDIR]  (after `make`); REPS=15
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${SHOAL_BUILDDIR:-$src}}
REPS=${REPS:-15}
REF_MPICC=${REF_MPICC:-${MPICC_MPICH:-mpicc.mpich}}
out="$build/benchmarks/shim-startup.out"
mkdir -p "$out"
make -C "$build" mpi-shim/mpicc-uninst >/dev/null || exit 1
"$build/mpi-shim/mpicc-uninst" -O2 -o "$out/startup.shoal" \
    "$src/benchmarks/shim_startup.c" || exit 1
"$REF_MPICC" -O2 -o "$out/startup.mpich" "$src/benchmarks/shim_startup.c" \
    || exit 1
# Both run under shoal's launcher (PMI-1), so only the library differs.
launcher="$build/cmd/shoal run -n 2"
raw="$out/raw.txt"
: >"$raw"
now_ms() { date +%s%N | awk '{ printf "%.1f", $1 / 1e6 }'; }
# One run: "impl mode wall premain init finalize", or an error object.
run() {
    local impl=$1 mode=$2 cmd t0 t1 line
    if [ "$mode" = singleton ]; then cmd="$out/startup.$impl"
    else cmd="$launcher $out/startup.$impl"; fi
    t0=$(now_ms)
    # shellcheck disable=SC2086 # the launcher is words
    line=$(env -u PMI_FD -u PMI_RANK -u PMI_SIZE timeout -k 5 60 $cmd </dev/null 2>>"$out/stderr.log")
    local rc=$?
    t1=$(now_ms)
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        echo "{\"error\":\"run failed\",\"rc\":$rc,\"impl\":\"$impl\",\"mode\":\"$mode\"}" >&2
        return 1
    fi
    echo "$impl $mode $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') $line" >>"$raw"
}
# Warm-up (page cache, first exec), not recorded.
for impl in shoal mpich; do for mode in singleton run-n2; do
    run "$impl" "$mode" 2>/dev/null
done; done
: >"$raw"
for r in $(seq "$REPS"); do
    for mode in singleton run-n2; do
        for impl in shoal mpich; do run "$impl" "$mode"; done
    done
done

# Medians per impl, mode and measure; then shoal / MPICH.
awk '
function median(key,   n, i, j, v, a) {
    n = cnt[key]
    for (i = 1; i <= n; i++) a[i] = val[key, i]
    for (i = 2; i <= n; i++) { v = a[i]; j = i - 1
        while (j > 0 && a[j] > v) { a[j + 1] = a[j]; j-- }
        a[j + 1] = v }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
    split("wall premain init finalize", names, " ")
    for (m = 1; m <= 4; m++) {
        key = $1 SUBSEP $2 SUBSEP names[m]
        val[key, ++cnt[key]] = $(m + 2)
    }
}
END {
    nm = split("wall premain init finalize", names, " ")
    split("singleton run-n2", modes, " ")
    split("shoal mpich", impls, " ")
    for (d = 1; d <= 2; d++) for (m = 1; m <= nm; m++) {
        for (i = 1; i <= 2; i++) {
            key = impls[i] SUBSEP modes[d] SUBSEP names[m]
            med[i] = cnt[key] ? median(key) : -1
            printf("{\"bench\":\"startup\",\"impl\":\"%s\",\"mode\":\"%s\",\"metric\":\"%s_ms\",\"runs\":%d,\"median\":%.1f}\n",
                   impls[i], modes[d], names[m], cnt[key], med[i])
        }
        r = med[2] > 0 ? med[1] / med[2] : 0
        printf("{\"compare\":\"startup\",\"mode\":\"%s\",\"metric\":\"%s_ms\",\"shoal\":%.1f,\"mpich\":%.1f,\"ratio\":%.2f}\n",
               modes[d], names[m], med[1], med[2], r)
        rows = rows sprintf("%-10s %-12s %10.1f %10.1f %7.2f\n", modes[d], names[m] " ms", med[1], med[2], r)
    }
    printf("\n%-10s %-12s %10s %10s %7s\n", "mode", "measure", "shoal", "mpich", "ratio")
    printf("%s", rows)
}' "$raw"

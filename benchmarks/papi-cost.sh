#!/bin/sh
# SPDX-License-Identifier: MIT
# papi-cost.sh - what PAPI counters cost a short MPI program under
# `shoal bench`: the same program with and without `papi:`, interleaved in
# one run.
#
# usage: benchmarks/papi-cost.sh SHOAL MPI_BENCH [ROUNDS] [REPS]
#   MPI_BENCH  shoal-mpi-bench (built by make: benchmarks/shoal-mpi-bench)
#   EVENTS     the events, comma-separated (default perf::TASK-CLOCK,
#              perf::CONTEXT-SWITCHES,perf::PAGE-FAULTS,PAPI_TOT_INS);
#              events this machine cannot count are said and skipped
#
# Per round, one suite of two benchmarks runs `shoal-mpi-bench allreduce
# 8` on 2 ranks through `shoal run`, REPS times each: `plain` without
# counters and `counted` with them (the counters' library preloaded into
# each rank, started at load, read and written at exit); the order of the
# two flips every round, so drift falls on both alike. Figures, pooled
# over the rounds (medians, ratio = counted / plain, with a bootstrap 95%
# interval of the ratio of medians):
#   wall        the repetition's wall time as shoal measures it (launch,
#               PAPI's start-up and the counts written at exit included)
#   time_us     the program's own timed allreduce loop (counters running)
# Goal: ratio <= 1.01 for both. Prints one JSON object per figure, then a
# table.
set -eu

shoal=${1:?usage: papi-cost.sh SHOAL MPI_BENCH [ROUNDS] [REPS]}
mpibench=${2:?usage: papi-cost.sh SHOAL MPI_BENCH [ROUNDS] [REPS]}
rounds=${3:-6}
reps=${4:-5}
events=${EVENTS:-perf::TASK-CLOCK,perf::CONTEXT-SWITCHES,perf::PAGE-FAULTS,PAPI_TOT_INS}
work=$(mktemp -d "${TMPDIR:-/tmp}/shoal-papi-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SHOAL_DIR="$work/state" SHOAL_POOL=no
# in a build tree the counters' library is in .libs beside cmd/
build=$(cd "$(dirname "$shoal")/.." && pwd)
if [ -z "${SHOAL_PAPI_PRELOAD:-}" ] && [ -f "$build/.libs/libshoal-papi.so" ]; then
    export SHOAL_PAPI_PRELOAD="$build/.libs/libshoal-papi.so"
fi
# In a build tree benchmarks/shoal-mpi-bench is libtool's wrapper script,
# whose sed and ls would each be counted (and pay PAPI's start-up): build
# the program itself with the uninstalled mpicc.
if head -c 200 "$mpibench" | grep -q "wrapper script"; then
    src=$(cd "$(dirname "$0")" && pwd)
    "$build/mpi-shim/mpicc-uninst" -O2 -o "$work/shoal-mpi-bench" \
        "$src/mpi_bench.c" || exit 1
    mpibench="$work/shoal-mpi-bench"
fi

bench() { # NAME PAPI_LINE
    cat <<EOF
  - name: $1
    command: ["$mpibench", allreduce, "8"]
    mpi: {ranks: 2, oversubscribe: true}
    parse: json
    figures: {time_us: {unit: us, better: lower}}
    repeat: $reps
$2
EOF
}
papi="    papi: [$(echo "$events" | sed 's/,/, /g')]"
{ echo "benchmarks:"; bench plain ""; bench counted "$papi"; } >"$work/a.yaml"
{ echo "benchmarks:"; bench counted "$papi"; bench plain ""; } >"$work/b.yaml"

for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then f=a; else f=b; fi
    "$shoal" bench run "$work/$f.yaml" >/dev/null 2>>"$work/notices"
done
sort -u "$work/notices" | sed 's/^/# /' >&2

python3 - "$SHOAL_DIR/bench.db" "$events" <<'EOF'
import json, random, sqlite3, statistics, sys
db = sqlite3.connect(sys.argv[1])
def values(bench, fig):
    return [v for (v,) in db.execute(
        "SELECT value FROM figures WHERE bench = ? AND name = ?", (bench, fig))]
failed = db.execute("SELECT count(*) FROM reps WHERE status != 'ok'").fetchone()[0]
counted_events = [e for (e,) in db.execute("SELECT DISTINCT event FROM counters")]
random.seed(1)
rows = []
for fig in ("wall", "time_us"):
    a, b = values("plain", fig), values("counted", fig)
    ma, mb = statistics.median(a), statistics.median(b)
    boot = sorted(statistics.median(random.choices(b, k=len(b))) /
                  statistics.median(random.choices(a, k=len(a)))
                  for _ in range(2000))
    o = {"bench": "papi-cost", "figure": fig, "n": [len(a), len(b)],
         "plain_median": ma, "counted_median": mb, "ratio": mb / ma,
         "ratio_ci95": [boot[50], boot[1949]], "goal": 1.01,
         "events_counted": counted_events, "failed_reps": failed}
    print(json.dumps(o))
    rows.append(o)
print()
print("%-8s %5s %14s %14s %8s %18s" % ("figure", "n", "plain", "counted",
                                       "ratio", "95% CI of ratio"))
for o in rows:
    unit = "s" if o["figure"] == "wall" else "us"
    print("%-8s %5d %12.6g%-2s %12.6g%-2s %8.4f   [%.4f, %.4f]" % (
        o["figure"], o["n"][0], o["plain_median"], unit,
        o["counted_median"], unit, o["ratio"], *o["ratio_ci95"]))
print("events counted:", ", ".join(counted_events) or "none")
EOF

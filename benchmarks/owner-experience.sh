#!/bin/sh
# SPDX-License-Identifier: MIT
# owner-experience.sh [ROUNDS] [SECONDS]: what a guest job costs the owner
# of a lent workstation.
#
# A daemon in desktop mode lends this machine (its owner's pty is idle).
# The owner's programs (benchmarks/bench-owner-latency) run SECONDS each:
#
#   periodic  a latency-sensitive thread (wakes every 2 ms, works 0.4 ms):
#             wake-up latency (median, 99th percentile) and missed periods
#   busy      the owner's batch work (one computing thread): its throughput
#
# alternately without a guest and with a guest job saturating the lent
# cores (a bag-of-tasks job of one busy loop per core, as shoal runs
# guests: in their cgroup, niced), for ROUNDS rounds (default 3), so both
# sides see the same machine. The owner's load would make the policy
# suspend the guest (SHOAL_OWNER_SUSPEND_LOAD); that is turned off here, so
# what is measured is what the guest's limits alone leave the owner. The
# goal: with the guest, at most 5% worse than without (p99 latency and
# throughput). Prints one JSON object, then a table.
# Run from the build tree: benchmarks/owner-experience.sh
set -e
ROUNDS=${1:-3}
SECONDS_EACH=${2:-8}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SHOAL=${SHOAL:-./cmd/shoal}
PROBE=${PROBE:-./benchmarks/bench-owner-latency}
WORK=$(mktemp -d /tmp/shoal-owner-exp.XXXXXX)
export SHOAL_DIR="$WORK/d" SHOAL_SPEED=1000 SHOAL_OWNER_UTMP=/dev/null
export SHOAL_OWNER_LEND_LOAD=100 SHOAL_OWNER_SUSPEND_LOAD=100
unset DISPLAY
PORT=$((26000 + ($$ % 2000)))
CORES=$(nproc)

[ -x "$PROBE" ] || {
    echo "owner-experience: build $PROBE first (make benchmarks)" >&2
    exit 1
}

cleanup() {
    [ -n "${job:-}" ] && "$SHOAL" cancel "$job" >/dev/null 2>&1
    [ -p "$WORK/owner/cmd" ] && echo quit >"$WORK/owner/cmd"
    [ -f "$SHOAL_DIR/daemon.pid" ] && kill -TERM "$(cat "$SHOAL_DIR/daemon.pid")" 2>/dev/null
    sleep 1
    [ -f "$SHOAL_DIR/daemon.pid" ] && kill -KILL "$(cat "$SHOAL_DIR/daemon.pid")" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir "$WORK/owner"
python3 "$SRC/tests/integration/ptyowner.py" "$WORK/owner" &
while [ ! -s "$WORK/owner/tty" ]; do sleep 0.1; done
echo old >"$WORK/owner/cmd"
"$SHOAL" keygen -o "$WORK/pool.key"
"$SHOAL" daemon start --key "$WORK/pool.key" --listen "127.0.0.1:$PORT" \
    --name owner-bench --lend desktop --owner-idle 2 \
    --owner-ttys "$(cat "$WORK/owner/tty")"

# guest_count: the guest's busy loops running now
guest_count() {
    n=0
    for p in /proc/[0-9]*; do
        grep -q "owner-exp-guest" "$p/cmdline" 2>/dev/null && n=$((n + 1))
    done
    echo $n
}

guest_start() {
    job=$("$SHOAL" submit --name owner-exp --range 1-"$CORES" -- \
        sh -c 'while :; do :; done; : owner-exp-guest' | tail -n 1)
    i=0
    while [ "$(guest_count)" -lt "$CORES" ]; do
        i=$((i + 1))
        [ $i -gt 300 ] && { echo "owner-experience: the guest did not start" >&2; exit 1; }
        sleep 0.1
    done
}

guest_stop() {
    "$SHOAL" cancel "$job" >/dev/null
    job=
    while [ "$(guest_count)" -gt 0 ]; do sleep 0.1; done
}

: >"$WORK/samples"
r=0
while [ $r -lt "$ROUNDS" ]; do
    for guest in no yes; do
        [ $guest = yes ] && guest_start
        for kind in periodic busy; do
            printf '{"round": %d, "guest": "%s", "kind": "%s", "result": %s}\n' \
                "$r" "$guest" "$kind" "$("$PROBE" $kind "$SECONDS_EACH")" >>"$WORK/samples"
        done
        [ $guest = yes ] && guest_stop
    done
    r=$((r + 1))
done

python3 - "$WORK/samples" "$CORES" <<'PY'
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1])]
def med(guest, kind, key):
    return statistics.median(r["result"][key] for r in rows
                             if r["guest"] == guest and r["kind"] == kind)
out = {"benchmark": "owner-experience", "cores": int(sys.argv[2]),
       "rounds": max(r["round"] for r in rows) + 1}
for key, kind in (("late_median_us", "periodic"), ("late_p99_us", "periodic"),
                  ("missed", "periodic"), ("units_per_s", "busy")):
    out[key] = {"alone": med("no", kind, key), "guest": med("yes", kind, key)}
out["p99_latency_ratio"] = out["late_p99_us"]["guest"] / max(out["late_p99_us"]["alone"], 1e-9)
out["throughput_ratio"] = out["units_per_s"]["guest"] / out["units_per_s"]["alone"]
out["goal"] = "with the guest at most 5% worse: p99 ratio <= 1.05, throughput ratio >= 0.95"
print(json.dumps(out))
print(f"{'owner program':30} {'alone':>10} {'with guest':>11}")
for key, label in (("late_median_us", "wake-up latency median (us)"),
                   ("late_p99_us", "wake-up latency p99 (us)"),
                   ("missed", "periods missed"),
                   ("units_per_s", "busy throughput (units/s)")):
    print(f"{label:30} {out[key]['alone']:10.1f} {out[key]['guest']:11.1f}")
print(f"ratios: p99 latency {out['p99_latency_ratio']:.2f}, throughput {out['throughput_ratio']:.2f} (goal <= 1.05, >= 0.95)")
PY

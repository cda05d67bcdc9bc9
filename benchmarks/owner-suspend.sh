#!/bin/sh
# SPDX-License-Identifier: MIT
# owner-suspend.sh [REPS] [TASKS]: the time from the owner's input to
# every job process of the node stopped. A daemon in desktop mode
# (--owner-idle 2) watches a pty (tests/integration/ptyowner.py) and runs
# TASKS tasks (default 2), each a shell with two sleeping children. Each
# repetition makes the pty old, waits for the cores to be lent and the
# jobs to run, types, and polls /proc until every job process is stopped
# (state T). Reference, in the same run: the bound the design promises
# (1 s: one 0.5 s sampling interval plus the stop itself fits well within it) and the time a
# plain `kill -STOP` of the same processes takes from here.
# Run from the build tree: benchmarks/owner-suspend.sh
set -e
REPS=${1:-10}
TASKS=${2:-2}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SHOAL=${SHOAL:-./cmd/shoal}
WORK=$(mktemp -d /tmp/shoal-owner-bench.XXXXXX)
export SHOAL_DIR="$WORK/d" SHOAL_SPEED=1000 SHOAL_OWNER_UTMP=/dev/null
export SHOAL_OWNER_LEND_LOAD=100 SHOAL_OWNER_SUSPEND_LOAD=100
unset DISPLAY
PORT=$((24000 + ($$ % 2000)))

cleanup() {
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
    --name bench --lend desktop --owner-idle 2 \
    --owner-ttys "$(cat "$WORK/owner/tty")"
"$SHOAL" submit --range 1-"$TASKS" -- sh -c 'sleep 1000 & sleep 1000 & wait' >/dev/null

python3 - "$REPS" "$TASKS" "$WORK" "$(cat "$SHOAL_DIR/daemon.pid")" <<'PY'
import json, os, signal, statistics, sys, time

reps, tasks, work, daemon = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
cmd = os.path.join(work, "owner", "cmd")

def say(word):
    with open(cmd, "w") as f:
        f.write(word + "\n")

def procs():
    """The daemon's descendants but its proxies: pid -> state."""
    parent, state = {}, {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            s = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        parent[int(p)], state[int(p)] = int(rest[1]), rest[0]
    out = {}
    for p in parent:
        q = parent[p]
        while q > 1 and q != daemon:
            q = parent.get(q, 0)
        if q == daemon:
            out[p] = state[p]
    return out

def wait(cond, limit=30):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.002)
    return False

want = 3 * tasks
lat, direct = [], []
for r in range(reps):
    say("old")
    if not wait(lambda: len(procs()) >= want and all(s in "SR" for s in procs().values())):
        sys.exit("the jobs did not run (or continue) within 30 s")
    time.sleep(0.3 + (r % 10) / 10)  # spread over the sampling phase
    t0 = time.monotonic()
    say("type")
    if not wait(lambda: all(s == "T" for s in procs().values()), 10):
        sys.exit("the jobs were not stopped within 10 s")
    lat.append(time.monotonic() - t0)
    # the reference: stopping the same processes from here
    say("old")
    wait(lambda: all(s in "SR" for s in procs().values()))
    pids = list(procs())
    t0 = time.monotonic()
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    wait(lambda: all(s == "T" for s in procs().values()), 10)
    direct.append(time.monotonic() - t0)
    for p in pids:
        os.kill(p, signal.SIGCONT)

res = {
    "benchmark": "owner-suspend", "reps": reps, "job_processes": want,
    "median_s": statistics.median(lat), "max_s": max(lat),
    "bound_s": 1.0, "ratio_to_bound": statistics.median(lat) / 1.0,
    "kill_stop_median_s": statistics.median(direct),
}
print(json.dumps(res))
print(f"{'input to all stopped':24} median {res['median_s']*1000:7.1f} ms  max {res['max_s']*1000:7.1f} ms")
print(f"{'goal (0.5 s sampling)':24} {1000:7.1f} ms   ratio {res['ratio_to_bound']:.2f}")
print(f"{'kill -STOP from here':24} median {res['kill_stop_median_s']*1000:7.1f} ms")
PY

#!/bin/sh
# SPDX-License-Identifier: MIT
# owner-gang-suspend.sh - the time from the owner's input on one
# workstation to every rank of a gang job stopped, on every host it spans.
#
# Three namespace hosts (tests/integration/netns.sh), a daemon on each:
# host 2 is a desktop (--lend desktop) whose owner's keyboard is a pty
# (tests/integration/ptyowner.py), hosts 1 and 3 are dedicated. A job of
# RANKS ranks spread over the three hosts (`shoal run --map-by node`, each
# rank a shell that sleeps in a loop). Each repetition makes the pty old
# (the owner leaves), waits for every rank to run again, waits a spread
# fraction of the sampling interval, types, and polls /proc until every
# rank on every host is stopped (state T). The path measured: the owner
# service's sample on host 2, its SIGSTOP there, the HOLD frame through
# host 2's daemon and the job's home daemon to `shoal run`, and its SIGNAL
# through the daemons to the proxies of hosts 1 and 3.
#
# References, in the same run: the issue's goal (1 s; HTCondor polls every
# 5 s), and the time a plain `kill -STOP` of the same processes from here
# takes. Prints one JSON object, then a table. Needs root (namespaces).
#
# usage: benchmarks/owner-gang-suspend.sh BUILDDIR SRCDIR [REPS] [RANKS]
set -u

SHOAL_BUILDDIR=$(cd "${1:?usage: owner-gang-suspend.sh BUILDDIR SRCDIR [REPS] [RANKS]}" && pwd)
SHOAL_SRCDIR=$(cd "${2:?usage: owner-gang-suspend.sh BUILDDIR SRCDIR [REPS] [RANKS]}" && pwd)
REPS=${3:-10}
RANKS=${4:-6}
SHOAL="$SHOAL_BUILDDIR/cmd/shoal"
export SHOAL_BUILDDIR SHOAL_SRCDIR

TRASH=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench-gang-owner.XXXXXX")
cd "$TRASH" || exit 1
. "$SHOAL_SRCDIR/tests/integration/netns.sh"
if ! netns_setup 3; then
    echo "owner-gang-suspend: cannot make hosts: $netns_skip_reason" >&2
    exit 1
fi
. "$SHOAL_SRCDIR/tests/integration/pool.sh"

# the owner is gone 2 s after the last input; nothing else on this
# machine looks like the owner
export SHOAL_OWNER_UTMP=/dev/null SHOAL_OWNER_LEND_LOAD=100 \
    SHOAL_OWNER_SUSPEND_LOAD=100 SHOAL_OWNER_CONTINUE_IDLE=2
unset DISPLAY

cleanup() {
    [ -p "$TRASH/owner/cmd" ] && echo quit >"$TRASH/owner/cmd"
    [ -n "${job:-}" ] && kill "$job" 2>/dev/null
    for i in 1 2 3; do
        netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" >/dev/null 2>&1
    done
    netns_teardown
    cd / && rm -rf "$TRASH"
}
trap cleanup EXIT

mkdir owner
python3 "$SHOAL_SRCDIR/tests/integration/ptyowner.py" "$TRASH/owner" &
while [ ! -s owner/tty ]; do sleep 0.1; done
echo old >owner/cmd
"$SHOAL" keygen -o pool.key
daemon_start 1 && daemon_start 3 &&
    daemon_start 2 --lend desktop --owner-idle 2 --owner-ttys "$(cat owner/tty)" \
        --vacate-after 3600 || exit 1
wait_free 1 9 30 || exit 1

cat >gangrank.sh <<\EOF
#!/bin/sh
while :; do sleep 0.05; done
EOF
chmod +x gangrank.sh
netns_bg 1 "$SHOAL" run -n "$RANKS" --map-by node "$TRASH/gangrank.sh"
job=$netns_bg_pid

python3 - "$REPS" "$RANKS" "$TRASH" <<'PY'
import json, os, signal, statistics, sys, time

reps, ranks, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cmd = os.path.join(work, "owner", "cmd")
script = os.path.join(work, "gangrank.sh")

def say(word):
    with open(cmd, "w") as f:
        f.write(word + "\n")

def procs():
    """The ranks (the shells running gangrank.sh): pid -> state."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            argv = open(f"/proc/{p}/cmdline").read().split("\0")
            if len(argv) < 2 or argv[1] != script:
                continue  # `shoal run` names it too
            s = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        out[int(p)] = s[s.rindex(")") + 2]
    return out

def wait(cond, limit=30):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.002)
    return False

def running():
    p = procs()
    return len(p) == ranks and all(s in "SRD" for s in p.values())

def stopped():
    p = procs()
    return len(p) == ranks and all(s == "T" for s in p.values())

lat, direct = [], []
for r in range(reps):
    say("old")
    if not wait(running):
        sys.exit(f"the ranks did not run (or continue) within 30 s: {procs()}")
    time.sleep(0.3 + (r % 10) / 20)  # spread over the sampling phase
    t0 = time.monotonic()
    say("type")
    if not wait(stopped, 10):
        sys.exit(f"the ranks were not all stopped within 10 s: {procs()}")
    lat.append(time.monotonic() - t0)
    # the reference: stopping the same processes from here
    say("old")
    if not wait(running):
        sys.exit("the ranks did not continue within 30 s")
    pids = list(procs())
    t0 = time.monotonic()
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    wait(stopped, 10)
    direct.append(time.monotonic() - t0)
    for p in pids:
        os.kill(p, signal.SIGCONT)

res = {
    "benchmark": "owner-gang-suspend", "reps": reps, "ranks": ranks,
    "hosts": 3, "median_s": statistics.median(lat), "max_s": max(lat),
    "goal_s": 1.0, "ratio_to_goal": max(lat) / 1.0,
    "kill_stop_median_s": statistics.median(direct),
}
print(json.dumps(res))
print(f"{'input to all ranks stopped':28} median {res['median_s']*1000:7.1f} ms  max {res['max_s']*1000:7.1f} ms")
print(f"{'goal':28} {1000:7.1f} ms   ratio (max) {res['ratio_to_goal']:.2f}")
print(f"{'kill -STOP from here':28} median {res['kill_stop_median_s']*1000:7.1f} ms")
PY

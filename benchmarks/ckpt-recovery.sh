#!/bin/sh
# SPDX-License-Identifier: MIT
# ckpt-recovery.sh - time to recover a gang job from the loss of a host.
#
# Four namespace hosts (tests/integration/netns.sh), a daemon on each; a
# job of 4 ranks, one per host, run with `shoal run --checkpoint`, each
# rank committing MB megabytes (a version with its MANIFEST, as libshoal
# writes it). Then a host running a rank goes, in one of two ways:
#
#   kill  every process on it is killed (its links close at once)
#   cut   its link goes down (nothing closes: the pool must notice)
#
# and the clock runs until every rank of the restarted job has read its
# version back. The time is split into
#
#   detection   the loss until `shoal run` names the lost node
#   end+choose  until it says which version it restarts from: the other
#               ranks ended, every rank's copy verified against its
#               manifest (MB per rank hashed)
#   relaunch    until the last rank started again: placement on the hosts
#               left, claims, proxies, exec
#   restore     the slowest rank reading its version back
#
# The goal: total <= detection + 2 s for 100 MB per rank. Prints one JSON
# object per run, then a table. Needs root (namespaces).
#
# usage: benchmarks/ckpt-recovery.sh BUILDDIR SRCDIR [MB] [MODES]
set -u

SHOAL_BUILDDIR=$(cd "${1:?usage: ckpt-recovery.sh BUILDDIR SRCDIR [MB] [MODES]}" && pwd)
SHOAL_SRCDIR=$(cd "${2:?usage: ckpt-recovery.sh BUILDDIR SRCDIR [MB] [MODES]}" && pwd)
MB=${3:-100}
MODES=${4:-kill cut}
SHOAL="$SHOAL_BUILDDIR/cmd/shoal"
export SHOAL_BUILDDIR SHOAL_SRCDIR

TRASH=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench-recovery.XXXXXX")
cd "$TRASH" || exit 1
. "$SHOAL_SRCDIR/tests/integration/netns.sh"
if ! netns_setup 5; then
    echo "ckpt-recovery: cannot make hosts: $netns_skip_reason" >&2
    exit 1
fi
. "$SHOAL_SRCDIR/tests/integration/pool.sh"

now() { date +%s.%N; }

# The rank: first run, write and commit MB of state, then wait; restarted,
# read the version back and say when.
cat >rank.sh <<\EOF
#!/bin/sh
if [ "$SHOAL_CKPT_RESTART" = 1 ]; then
    t=$(date +%s.%N)
    cat "$SHOAL_CKPT_DIR/v$SHOAL_CKPT_VERSION/state" >/dev/null
    echo "$SHOAL_RANK $t $(date +%s.%N)" >>resumed
    exec sleep 600
fi
v="$SHOAL_CKPT_DIR/v1"
mkdir -p "$v" && head -c "$(($1 * 1048576))" /dev/urandom >"$v/state" &&
    printf "shoal-ckpt 1\n%s %s state\n" \
        "$(b2sum -l 256 "$v/state" | cut -d" " -f1)" \
        "$(stat -c %s "$v/state")" >"$v/MANIFEST" &&
    sync "$v/state" && : >"$v/COMMITTED" || exit 1
echo "$SHOAL_RANK" >>ready
exec sleep 600
EOF
chmod +x rank.sh

# stamp: prefix each line read with the time it was read
stamp() {
    while IFS= read -r line; do
        printf '%s %s\n' "$(now)" "$line"
    done
}

# rank_host R: the host running rank R of rank.sh
rank_host() {
    for i in 1 2 3 4 5; do
        for p in $(netns_pids $i); do
            { tr "\0" "\n" <"/proc/$p/environ"; } 2>/dev/null >env.tmp
            grep -q "^SHOAL_CKPT_DIR=" env.tmp &&
                grep -qx "SHOAL_RANK=$1" env.tmp && echo $i && return 0
        done
    done
    return 1
}

wait_lines() { # FILE N SECONDS
    local end=$(($(date +%s) + $3))
    while [ "$(cat "$1" 2>/dev/null | wc -l)" -lt "$2" ]; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.02
    done
}

"$SHOAL" keygen -o pool.key || exit 1
for i in 1 2 3 4 5; do daemon_start $i || exit 1; done
ALL=0
for i in 1 2 3 4 5; do ALL=$((ALL + $(netns_cores $i))); done
for i in 1 2 3 4 5; do wait_free $i $ALL 30 || exit 1; done

results=
for mode in $MODES; do
    rm -f ready resumed run.log
    netns_bg 1 sh -c "\"$SHOAL\" run -n 4 --map-by node --checkpoint=3600 --checkpoint-dir \"$TRASH/ck\" ./rank.sh $MB 2>&1 | (
        while IFS= read -r line; do printf '%s %s\n' \"\$(date +%s.%N)\" \"\$line\"; done) >run.log"
    job=$netns_bg_pid
    wait_lines ready 4 120 || { echo "ckpt-recovery: ranks not ready" >&2; exit 1; }
    victim=
    for r in 1 2 3 0; do
        h=$(rank_host $r) && [ "$h" != 1 ] && victim=$h && break
    done
    [ -n "$victim" ] || {
        echo "ckpt-recovery: no rank on a worker" >&2
        cat run.log >&2
        for i in 1 2 3 4 5; do
            for p in $(netns_pids $i); do echo "h$i: $(tr "\0" " " </proc/$p/cmdline)"; done
        done >&2
        exit 1
    }
    sleep 1.5 # the watch pins the version
    t0=$(now)
    if [ "$mode" = kill ]; then
        netns_kill_all "$(netns_name $victim)"
    else
        netns_link_down $victim
    fi
    if ! wait_lines resumed 4 120; then
        echo "ckpt-recovery: the job did not come back ($mode)" >&2
        cat run.log >&2
        exit 1
    fi
    t_lost=$(awk '/was lost|ended before/ { print $1; exit }' run.log)
    t_choose=$(awk '/restarting from checkpoint/ { print $1; exit }' run.log)
    t_start=$(sort -k2 -n resumed | tail -n 1 | awk '{ print $2 }')
    t_end=$(sort -k3 -n resumed | tail -n 1 | awk '{ print $3 }')
    restore=$(awk '{ d = $3 - $2; if (d > m) m = d } END { printf "%.3f", m }' resumed)
    line=$(awk -v m="$mode" -v mb="$MB" -v t0="$t0" -v l="$t_lost" -v c="$t_choose" \
        -v s="$t_start" -v e="$t_end" -v r="$restore" 'BEGIN {
        printf "{\"bench\": \"ckpt-recovery\", \"loss\": \"%s\", \"mb_per_rank\": %d, \"detection\": %.3f, \"end_choose\": %.3f, \"relaunch\": %.3f, \"restore\": %.3f, \"total\": %.3f, \"over_detection\": %.3f}",
            m, mb, l - t0, c - l, s - c, r, e - t0, e - l }')
    echo "$line"
    results="$results$line
"
    # end the job: ^C to its shoal run, which ends every rank
    for p in $(netns_pids 1); do
        { tr "\0" " " <"/proc/$p/cmdline"; } 2>/dev/null | grep -q "^$SHOAL run " &&
            kill -INT "$p"
    done
    wait "$job" 2>/dev/null
    [ "$mode" = cut ] && netns_link_up $victim
    rm -rf ck
done

echo
printf '%-6s %6s %10s %11s %9s %8s %7s %15s\n' loss MB detection end+choose relaunch restore total total-detection
printf '%s' "$results" | "$NETNS_PYTHON" -c '
import json, sys
for line in sys.stdin:
    if not line.strip():
        continue
    r = json.loads(line)
    print("%-6s %6d %10.3f %11.3f %9.3f %8.3f %7.3f %15.3f" % (r["loss"],
          r["mb_per_rank"], r["detection"], r["end_choose"], r["relaunch"],
          r["restore"], r["total"], r["over_detection"]))'
echo "goal: total - detection <= 2 s at 100 MB per rank"

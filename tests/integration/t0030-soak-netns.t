#!/bin/sh
# SPDX-License-Identifier: MIT
# Soak: a pool of four hosts runs a stream of gang jobs and bag-of-tasks
# jobs for SOAK_SECONDS (default 100) while one host after another (2, 3,
# 4, 2, ...) is killed whole every 20 s and started again 3 s later, and a
# fifth host, outside the pool, sends garbage datagrams and half-open TCP
# connections announcing 8 MiB frames to every daemon. At the end every
# task has exactly one result, every gang job either succeeded or failed
# naming the node it lost, no daemon's memory grew past SOAK_RSS_MB
# (default 64; 160 in a sanitized build), and nothing is left on any host. The figures are printed
# as "# soak: ..." lines.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 5

. "$SHOAL_SRCDIR/tests/integration/pool.sh"

NETTOOL="$SHOAL_SRCDIR/tests/integration/nettool.py"
SOAK_SECONDS=${SOAK_SECONDS:-100}
SOAK_RSS_MB=${SOAK_RSS_MB:-64}
# A sanitized build keeps freed memory in quarantine (256 MiB by default)
# and shadows the rest: a smaller quarantine, and a bound that allows for
# the shadow.
if ldd "$SHOAL" 2>/dev/null | grep -q libasan; then
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
    export ASAN_OPTIONS
    SOAK_RSS_MB=${SOAK_RSS_MB_SANITIZED:-160}
fi
# short leases, so that tasks on a killed host are soon handed out again
SHOAL_TASK_LEASE=3
SHOAL_TASK_KILL_GRACE=1
export SHOAL_TASK_LEASE SHOAL_TASK_KILL_GRACE

# host_crash I: every process of host I dies at once, as in a power cut
# (the process holding the host's namespaces stays).
host_crash() {
    local holder pids
    holder=$(netns_holder "$1")
    pids=$(netns_pids "$1" | grep -vx "$holder")
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    return 0
}

daemon_rss_kb() {
    local pid
    pid=$(netns_exec "$1" cat "$SHOAL_DIR/daemon.pid" 2>/dev/null) || return 1
    awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null
}

# sample_rss: the largest RSS seen of each daemon, in rss.I (kB)
sample_rss() {
    local i r m
    for i in 1 2 3 4; do
        r=$(daemon_rss_kb $i) || continue
        [ -n "$r" ] || continue
        m=$(cat "rss.$i" 2>/dev/null || echo 0)
        [ "$r" -gt "$m" ] && echo "$r" >"rss.$i"
    done
    return 0
}

test_expect_success 'a pool of four daemons' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3 4; do test_within 15 daemon_start $i || exit 1; done &&
    ALL=0 && for i in 1 2 3 4; do ALL=$((ALL + $(netns_cores $i))); done &&
    echo $ALL >all-cores &&
    for i in 1 2 3 4; do wait_free $i $ALL 30 || exit 1; done
'

# The stream of gang jobs, from host 1 (never killed): four ranks spread
# over the pool, each job a few seconds long. Each job's exit code, stderr
# and time are kept. (It runs under the test's set -e: every command that
# may fail is part of a list.)
gang_stream() {
    local n end t0 rc
    n=0
    end=$(($(date +%s) + SOAK_SECONDS))
    while [ "$(date +%s)" -lt "$end" ]; do
        n=$((n + 1))
        t0=$(date +%s)
        rc=0
        netns_exec 1 timeout 60 "$SHOAL" run -n 4 --map-by node \
            sh -c "sleep 2; echo rank \$SHOAL_RANK" >"gang.$n.out" \
            2>"gang.$n.err" || rc=$?
        echo $rc >"gang.$n.rc"
        echo $(($(date +%s) - t0)) >>gang.times
    done
}

# The attacker, host 5, outside the pool: garbage datagrams and half-open
# connections to every daemon, in rounds, until the soak ends.
attack() {
    local end i
    end=$(($(date +%s) + SOAK_SECONDS))
    while [ "$(date +%s)" -lt "$end" ]; do
        for i in 1 2 3 4; do
            netns_exec 5 "$NETNS_PYTHON" "$NETTOOL" udp-garbage \
                "$(netns_addr $i)" $PORT 200 >/dev/null 2>&1 || true
            netns_exec 5 "$NETNS_PYTHON" "$NETTOOL" tcp-halfopen \
                "$(netns_addr $i)" $PORT 50 8388608 3 >>halfopen.out 2>&1 ||
                true
        done
    done
}

test_expect_success 'jobs run while hosts are killed and strangers attack' '
    for j in 1 2 3; do
        netns_exec 1 "$SHOAL" submit --range 0-99 -- \
            sh -c "sleep 0.\$((\$SHOAL_TASK_ID % 9 + 1)); echo task" \
            >"submit.$j" || exit 1
    done &&
    test_bg gang_stream && gangs=$bg_pid &&
    test_bg attack && attacker=$bg_pid &&
    soak_start=$(date +%s) && kills=0 && victim=2 &&
    next_kill=$((soak_start + 20)) &&
    while [ $(($(date +%s) - soak_start)) -lt "$SOAK_SECONDS" ]; do
        sample_rss
        if [ "$(date +%s)" -ge "$next_kill" ]; then
            next_kill=$((next_kill + 20))
            host_crash $victim && kills=$((kills + 1)) &&
            sleep 3 &&
            test_within 15 daemon_start $victim || exit 1
            victim=$((victim % 3 + 2))
        fi
        sleep 1
    done &&
    echo $kills >kills &&
    wait $attacker &&
    wait $gangs
'

test_expect_success 'every task has exactly one result' '
    for j in 1 2 3; do
        id=$(cat "submit.$j") &&
        test -n "$id" &&
        test_within 120 netns_exec 1 "$SHOAL" wait "$id" >/dev/null;
        netns_exec 1 "$SHOAL" results "$id" --csv | tail -n +2 >"res.$j" &&
        awk -F, "{ print \$1 }" "res.$j" | sort -n | uniq -d >"dups.$j" &&
        test ! -s "dups.$j" &&
        test "$(wc -l <"res.$j")" = 100 &&
        test "$(awk -F, "\$3 == \"done\"" "res.$j" | wc -l)" = 100 || {
            echo "job $id:"; cat "res.$j"; exit 1; }
    done
'

test_expect_success 'every gang job succeeded or named the node it lost' '
    ok=0 lost=0 &&
    for rc in gang.*.rc; do
        n=${rc#gang.} && n=${n%.rc} &&
        if [ "$(cat "$rc")" = 0 ]; then
            test "$(sort "gang.$n.out" | tr "\n" " ")" = \
                "rank 0 rank 1 rank 2 rank 3 " || {
                echo "job $n printed:"; cat "gang.$n.out"; exit 1; }
            ok=$((ok + 1))
        else
            grep -qE "node .* was lost|the proxy on node .* ended" "gang.$n.err" || {
                echo "job $n failed without naming a lost node:";
                cat "gang.$n.err"; exit 1; }
            lost=$((lost + 1))
        fi
    done &&
    echo "gang jobs $((ok + lost)): $ok succeeded, $lost lost a node; seconds each: $(sort -n gang.times | awk "{ t[NR] = \$1 } END { print \"min \" t[1] \", median \" t[int((NR + 1) / 2)] \", max \" t[NR] }")" >>figures &&
    echo "task jobs 3 x 100 tasks, each result recorded once" >>figures &&
    echo "hosts killed and restarted: $(cat kills)" >>figures &&
    test "$ok" -gt 0
'

test_expect_success 'strangers were refused and no daemon grew past the bound' '
    sample_rss &&
    refused=0 &&
    for i in 1 2 3 4; do
        r=$(netns_exec $i "$SHOAL" status --stats |
            "$NETNS_PYTHON" "$POOLQ" counter auth-failed bad-magic short bad-version malformed \
                oversized conn-limit hello-timeout stalled) &&
        refused=$((refused + r))
    done &&
    echo "bad frames and connections refused (daemons alive at the end): $refused" >>figures &&
    grep "^closed" halfopen.out | awk "{ c += \$2; n += \$4 } END { print \"half-open connections closed by the daemons: \" c \" of \" n }" >>figures &&
    bad=0 &&
    for i in 1 2 3 4; do
        echo "peak RSS of daemon $i: $(( $(cat rss.$i) / 1024 )) MiB" >>figures
        [ "$(cat rss.$i)" -le $((SOAK_RSS_MB * 1024)) ] || bad=1
    done &&
    test $bad = 0 &&
    test "$refused" -gt 0
'

test_expect_success 'daemons stop and nothing is left on any host' '
    for i in 1 2 3 4; do
        netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    n=0 &&
    while ! netns_idle 1 2 3 4 5 2>/dev/null; do
        n=$((n + 1)) && [ $n -lt 50 ] || { netns_idle 1 2 3 4 5; exit 1; }
        sleep 0.2
    done
'

sed "s/^/# soak: /" "$TRASH/figures" 2>/dev/null
test_done

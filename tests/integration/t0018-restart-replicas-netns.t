#!/bin/sh
# SPDX-License-Identifier: MIT
# A gang job outlives a host without a shared file system: with
# --checkpoint --replicas 1 each rank checkpoints on its own host's disk
# (the host's private state directory), every version is copied to
# another host by the daemons' checkpoint service, and when the host of a
# rank is lost the job restarts on the hosts left, that rank resuming from
# the copy of its version fetched back from the partner.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

# Four hosts for the first job; a fifth, so that three are left for the
# last one after the solver lost one.
netns_setup_or_skip 5

. "$SHOAL_SRCDIR/tests/integration/pool.sh"
. "$SHOAL_SRCDIR/tests/integration/restart.sh"

COUNT="$SHOAL_SRCDIR/tests/fixtures/ckpt-count.sh"
# The pool's cores: 2 + 4 + 3 + 8 + 1.
ALL=18

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3 4 5; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3 4 5; do wait_free $i $ALL 20 || exit 1; done
'

# rank_dir R: the SHOAL_CKPT_DIR of rank R, wherever it runs.
rank_dir() {
    for i in 1 2 3 4 5; do
        for p in $(netns_pids $i); do
            grep -q ckpt-count "/proc/$p/cmdline" 2>/dev/null &&
                tr "\0" "\n" <"/proc/$p/environ" 2>/dev/null |
                grep -qx "SHOAL_RANK=$1" &&
                tr "\0" "\n" <"/proc/$p/environ" |
                sed -n "s/^SHOAL_CKPT_DIR=//p" && return 0
        done
    done
    return 1
}

test_expect_success '--replicas without --checkpoint is refused' '
    test_expect_code 2 "$SHOAL" run -n 1 --replicas 1 true 2>err &&
    grep "needs --checkpoint" err
'

test_expect_success 'without a pool, --replicas says there is no other node and goes on' '
    SHOAL_POOL=no "$SHOAL" run -n 2 --checkpoint --replicas 1 \
        sh -c "echo \$SHOAL_CKPT_DIR" >out 2>err &&
    cat err out &&
    test "$(grep -c "no other node to copy checkpoints to" err)" = 1 &&
    grep "/shoal-ckpt/.*/run0/rank1$" out
'

# ask.sh: commit the next version (HTCondor-style), then exit 85 to be
# restarted from it, until version 3.
cat >ask.sh <<\EOF
#!/bin/sh
v=${SHOAL_CKPT_VERSION:-0}
[ "$v" -ge 3 ] && { echo "rank $SHOAL_RANK finished at version $v"; exit 0; }
n=$((v + 1))
mkdir -p "$SHOAL_CKPT_DIR/v$n" && echo "$n" >"$SHOAL_CKPT_DIR/v$n/count" &&
    : >"$SHOAL_CKPT_DIR/v$n/COMMITTED"
sleep 0.5 # the first rank to exit ends the job: let every rank commit
exit 85
EOF
chmod +x ask.sh

test_expect_success 'a version committed just before the ranks exit is copied before the restart' '
    netns_exec 1 sh -c "\"$SHOAL\" run -n 2 --map-by node --checkpoint --replicas 1 \
        --max-restarts 0 ./ask.sh >ask.out 2>ask.err" &&
    cat ask.err ask.out &&
    test "$(grep -c "as a rank asked (exit status 85)" ask.err)" = 3 &&
    grep "restarting from checkpoint version 3, as a rank asked" ask.err &&
    test "$(grep -c "finished at version 3" ask.out)" = 2 &&
    # it ended well: no node keeps its checkpoints or their copies
    for i in 1 2 3 4 5; do
        test_within 10 netns_exec $i sh -c "until ! ls -d \"\$SHOAL_DIR\"/ckpt-jobs/job-* 2>/dev/null && ! ls -d \"\$SHOAL_DIR\"/ckpt/job-* 2>/dev/null; do sleep 0.2; done" || {
            netns_exec $i sh -c "find \"\$SHOAL_DIR\"/ckpt-jobs \"\$SHOAL_DIR\"/ckpt"; exit 1; }
    done
'

# asked.sh: a rank that checkpoints only when asked (REQUEST), for 6 s,
# and says how often it was asked
cat >asked.sh <<\EOF
#!/bin/sh
n=0
end=$(($(date +%s) + 6))
while [ "$(date +%s)" -lt "$end" ]; do
    if [ "$(cat "$SHOAL_CKPT_DIR/REQUEST" 2>/dev/null)" = checkpoint ]; then
        rm -f "$SHOAL_CKPT_DIR/REQUEST"
        n=$((n + 1))
        mkdir -p "$SHOAL_CKPT_DIR/v$n" && echo "$n" >"$SHOAL_CKPT_DIR/v$n/count" &&
            echo 0.05 >"$SHOAL_CKPT_DIR/COST" &&
            : >"$SHOAL_CKPT_DIR/v$n/COMMITTED"
    fi
    sleep 0.1
done
echo "rank $SHOAL_RANK was asked $n times"
EOF
chmod +x asked.sh

test_expect_success '--checkpoint=auto --replicas: the proxies ask their ranks, on every host' '
    netns_exec 1 env SHOAL_CKPT_MIN_INTERVAL=1 SHOAL_CKPT_MAX_INTERVAL=1 \
        "$SHOAL" run -n 3 --map-by node --checkpoint=auto --replicas 1 \
        ./asked.sh >auto.out 2>auto.err &&
    cat auto.err auto.out &&
    test "$(grep -c "was asked" auto.out)" = 3 &&
    for r in 0 1 2; do
        n=$(sed -n "s/rank $r was asked \([0-9]*\) times/\1/p" auto.out) &&
        echo "rank $r: $n" &&
        test "$n" -ge 3 || exit 1
    done
'

test_expect_success 'a host lost mid-job: the job restarts from the copies of its checkpoints' '
    rm -f steps.* &&
    netns_bg 1 sh -c "\"$SHOAL\" run -n 4 --map-by node --checkpoint=1 --replicas 1 \"$COUNT\" 40 >lost.out 2>lost.err; echo \$? >lost.rc" &&
    p=$netns_bg_pid &&
    for _ in $(seq 150); do
        [ "$(cat steps.* 2>/dev/null | wc -l)" -ge 60 ] && break; sleep 0.1
    done &&
    dir=$(rank_dir 2) && echo "rank 2 checkpoints in $dir" &&
    case "$dir" in "$SHOAL_DIR"/ckpt-jobs/job-*/run0/rank2) ;; *) false ;; esac &&
    victim=$(rank_host 2) &&
    test "$victim" != 1 &&
    echo "$victim" >"$TRASH/victim.script" &&
    echo "rank 2 runs on host $victim; it goes" &&
    netns_kill_all "$(netns_name $victim)" &&
    test_within 90 wait $p &&
    cat lost.err && cat lost.out &&
    test "$(cat lost.rc)" = 0 &&
    grep "node .$(netns_name $victim). was lost" lost.err &&
    grep "shoal: restarting from checkpoint version [1-9][0-9]* (restart 1 of 3)" lost.err &&
    v=$(sed -n "s/.*restarting from checkpoint version \([0-9]*\).*/\1/p" lost.err) &&
    grep -x "rank 2 resumes after step $v" lost.out &&
    test "$(grep -c "counted to 40" lost.out)" = 4 &&
    test "$(grep -c "resumes after step $v" lost.out)" = 4 &&
    ! test -e shoal-ckpt &&
    for r in 0 1 2 3; do
        again=$(($(wc -l <steps.$r) - 40)) &&
        echo "rank $r did $again steps again" &&
        test "$again" -le 25 || exit 1
    done
'

SOLVER="$TRASH/ckpt_solver"

test_expect_success 'the solver with shoal MPI builds' '
    solver_build "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" "$SOLVER"
'

test_expect_success 'an MPI job that loses a host resumes from the copies, same answer' '
    solver_loses_a_host "$SOLVER" shim 3 --replicas 1
'

# copy_host R VICTIM KEY: a host other than VICTIM that holds copies of
# rank R's versions for the job KEY (the daemons' store,
# STATE/ckpt/KEY/rankR).
copy_host() {
    for i in 1 2 3 4 5; do
        [ "$i" = "$2" ] && continue
        netns_exec $i sh -c "ls -d \"\$SHOAL_DIR\"/ckpt/$3/rank$1/v* \
            >/dev/null 2>&1" 2>/dev/null && echo $i && return 0
    done
    return 1
}

# ring: the live hosts (1-5) in node-id order, the order in which the
# checkpoint service picks a node's partner (the next live node).
ring() {
    netns_exec "$1" "$SHOAL" status --json >ring.json &&
        "$NETNS_PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
print(" ".join(m["name"] for m in sorted(s["members"], key=lambda m: m["id"])
               if m["state"] == "alive"))' <ring.json |
        tr " " "\n" | while read -r name; do
            for i in 1 2 3 4 5; do
                [ "$(netns_name $i)" = "$name" ] && echo $i
            done
        done
}

# Three hosts are left, A, B and C in node-id order: the job runs a rank
# on each (all their cores free, one rank per node), from C, so that B
# keeps the copies of A's rank; A and B go at once, and C alone finishes
# the job from the beginning.
test_expect_success 'a rank loses its host and its copies: the job says so and starts again' '
    mkdir both && cd both &&
    set -- $(ring 1) && test $# = 3 &&
    a=$1 b=$2 c=$3 &&
    echo "hosts $a, $b, $c in node-id order" &&
    for i in $a $b $c; do wait_free $i $(($(netns_cores $a) + $(netns_cores $b) + $(netns_cores $c))) 20 || exit 1; done &&
    netns_bg $c sh -c "\"$SHOAL\" run -n 3 --map-by node --oversubscribe --checkpoint=1 --replicas 1 \"$COUNT\" 30 >out 2>err; echo \$? >rc" &&
    p=$netns_bg_pid &&
    for _ in $(seq 150); do
        [ "$(cat steps.* 2>/dev/null | wc -l)" -ge 45 ] && break; sleep 0.1
    done &&
    key=$(rank_dir 0 | sed "s|.*/ckpt-jobs/\([^/]*\)/.*|\1|") &&
    echo "the job is $key" &&
    rank= &&
    for r in 0 1 2; do
        h=$(rank_host $r) || true
        echo "rank $r runs on host $h"
        if [ "$h" = "$a" ]; then rank=$r; fi
    done &&
    test -n "$rank" &&
    test "$(copy_host $rank $a $key)" = "$b" &&
    echo "$a" >"$TRASH/victim.both1" &&
    echo "$b" >"$TRASH/victim.both2" &&
    echo "rank $rank runs on host $a, its copies are on host $b: both go" &&
    netns_kill_all "$(netns_name $a)" "$(netns_name $b)" &&
    test_within 90 wait $p &&
    cat err && cat out &&
    test "$(cat rc)" = 0 &&
    grep "shoal: version [1-9][0-9]* of rank $rank is lost with nodes .*$(netns_name $a)" err &&
    grep "shoal: restarting from the beginning" err &&
    test "$(grep -c "counted to 30" out)" = 3
'

test_expect_success 'the surviving daemons stop and nothing runs after them' '
    left= && victims=$(cat "$TRASH"/victim.*) &&
    for i in 1 2 3 4 5; do
        echo " $victims " | tr "\n" " " | grep -q " $i " && continue
        left="$left $i" &&
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle $left
'

test_done

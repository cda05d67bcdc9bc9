#!/bin/sh
# SPDX-License-Identifier: MIT
# `shoal run` on a pool of four simulated hosts, each a different machine:
# ranks are placed across hosts and wired up through the daemons (MPICH
# programs and shoal's own MPI), -H and --map-by steer them, two jobs
# started at once from two hosts never share a core, and a host lost
# mid-job fails the job with its name, leaving nothing behind.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 4

. "$SHOAL_SRCDIR/tests/integration/pool.sh"

# Simulated hosts share this machine's cores: bindings are reported, not
# applied (each host has a synthetic topology). They also share its kernel,
# whose boot id is how UCX (under Debian's MPICH) tells hosts apart: it
# would take two hosts for one and use shared memory between them, which
# their separate IPC namespaces forbid. Between real hosts UCX finds TCP
# by itself. With TCP alone, Debian's MPICH 4.0.2 over UCX often never
# returns from MPI_Finalize when three ranks or more exchanged messages
# (one rank polls UCX while the others wait in the PMI barrier), under
# Hydra as under shoal: the MPICH jobs here exchange messages between two
# ranks only.
UCX_TLS=self,tcp
export UCX_TLS

# tcp_opens I: TCP connections host I opened or accepted so far. The
# daemons keep theirs open, so new ones during a job are the ranks'.
tcp_opens() {
    netns_exec "$1" awk '/^Tcp:/ {
        if (!names) { for (i = 1; i <= NF; i++) name[i] = $i; names = 1 }
        else for (i = 1; i <= NF; i++)
            if (name[i] == "ActiveOpens" || name[i] == "PassiveOpens") n += $i
    } END { print n }' /proc/net/snmp
}

# The pool's cores: 2 + 4 + 3 + 8.
ALL=17
H1=$(netns_name 1) H2=$(netns_name 2) H3=$(netns_name 3) H4=$(netns_name 4)

test_expect_success 'a daemon on each host, and the pool sees every core' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3 4; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3 4; do wait_free $i $ALL 20 || exit 1; done
'

test_expect_success 'map-by node puts one rank on each host, home first' '
    netns_exec 1 "$SHOAL" run -n 4 --map-by node hostname >out &&
    printf "%s\n" $H1 $H2 $H3 $H4 | sort >expect &&
    sort out >got && test_cmp expect got
'

test_expect_success 'ranks fill the home host, then the next ones' '
    netns_exec 2 "$SHOAL" run -n 7 --tag-output sh -c "echo \$SHOAL_LOCAL_RANK" |
        sort >out &&
    test "$(wc -l <out)" -eq 7 &&
    netns_exec 2 "$SHOAL" run -n 7 hostname | sort | uniq -c |
        awk "{print \$2, \$1}" >counts &&
    grep -qx "$H2 4" counts
'

test_expect_success '-H names the hosts and their slots, in order' '
    netns_exec 1 "$SHOAL" run -H $H3:2,$H4:1 -n 3 --tag-output hostname >out &&
    printf "[0] %s\n[1] %s\n[2] %s\n" $H3 $H3 $H4 >expect &&
    sort out >got && test_cmp expect got
'

test_expect_success 'an unknown host in -H is named' '
    test_expect_code 1 netns_exec 1 "$SHOAL" run -H nosuchhost -n 1 true 2>err &&
    grep nosuchhost err
'

test_expect_success 'report-bindings: each node says what it bound, as on one machine' '
    netns_exec 1 "$SHOAL" run -H $H4:2 -n 2 --map-by numa --report-bindings true 2>err ||
    { cat err; exit 1; }
    cat err &&
    grep -c "^\[$H4\] rank [01] bound to PUs [0-9,-]* (cpuset 0x[0-9a-f,]*)\$" err >n &&
    test "$(cat n)" -eq 2
'

# MPICH over UCX's tcp now and then hangs in MPI_Finalize even between two
# ranks, once the program's work is done (see above): a run that printed
# its result and then timed out earns one more run, which must pass.
ring_run() {
    test_within 60 netns_exec 1 "$SHOAL" run -H $H1,$H3 -n 2 --timeout 50 \
        "$MPI_DIR/ring.mpich" >out 2>err
}

test_expect_success 'an MPICH ring over two hosts, connected over the link' '
    ( cd "$SHOAL_BUILDDIR" && make -s tests/mpi/ring.mpich tests/mpi/hello.mpich ) >/dev/null &&
    for i in 1 3; do tcp_opens $i; done >before &&
    { ring_run ||
      { grep -q "No Errors" out && grep -q "job timed out" err &&
        echo "MPICH hung in MPI_Finalize after the ring; running it again" &&
        ring_run; } ||
      { cat out err; exit 1; }; }
    grep "No Errors" out &&
    for i in 1 3; do tcp_opens $i; done >after &&
    paste before after | while read b a; do
        echo "TCP connections opened: $b -> $a" &&
        test "$a" -gt "$b" || exit 1
    done
'

test_expect_success 'MPICH programs wire up over four hosts' '
    test_within 60 netns_exec 2 "$SHOAL" run -n 4 --map-by node --timeout 50 "$MPI_DIR/hello.mpich" >out 2>err ||
    { cat out err; exit 1; }
    for i in 1 2 3 4; do grep " of 4 on $(netns_name $i)\$" out || exit 1; done
'

test_expect_success 'shoal'"'"'s own MPI over two hosts' '
    "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" -O1 -o hello.shoal "$SHOAL_SRCDIR/tests/mpi/hello.c" &&
    test_within 60 netns_exec 1 "$SHOAL" run -n 2 --map-by node ./hello.shoal >out 2>err ||
    { cat out err; exit 1; }
    sort out >got &&
    printf "hello from rank 0 of 2 on %s\nhello from rank 1 of 2 on %s\n" $H1 $H2 >expect &&
    test_cmp expect got
'

test_expect_success 'shoal'"'"'s own MPI: collectives of 8 ranks over four hosts' '
    "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" -O1 -o coll.shoal "$SHOAL_SRCDIR/tests/mpi-shim/collectives.c" &&
    test_within 90 netns_exec 1 "$SHOAL" run -n 8 --map-by node --timeout 80 ./coll.shoal >out 2>err ||
    { cat out err; exit 1; }
    grep "No Errors" out
'

test_expect_success 'shoal'"'"'s own MPI: node-aware collectives, 8 ranks on four hosts' '
    "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" -O1 -o nodecoll.shoal "$SHOAL_SRCDIR/tests/mpi-shim/nodecoll.c" &&
    test_within 120 netns_exec 1 "$SHOAL" run -n 8 --map-by node --timeout 110 ./nodecoll.shoal >out 2>err ||
    { cat out err; exit 1; }
    grep "No Errors" out &&
    test_within 120 netns_exec 1 "$SHOAL" run -n 8 --timeout 110 ./nodecoll.shoal >out 2>err ||
    { cat out err; exit 1; }
    grep "No Errors" out
'

test_expect_success 'exit status and MPI_Abort cross hosts' '
    test_expect_code 5 netns_exec 1 "$SHOAL" run -n 3 --map-by node \
        sh -c "test \$SHOAL_RANK = 2 && exit 5; sleep 30" &&
    ( cd "$SHOAL_BUILDDIR" && make -s tests/mpi/abort.mpich ) >/dev/null &&
    test_expect_code 7 test_within 60 netns_exec 2 "$SHOAL" run -n 4 --map-by node \
        "$MPI_DIR/abort.mpich" 7
'

test_expect_success 'stdin reaches rank 0 on another host' '
    printf "line one\nline two\n" |
        netns_exec 1 "$SHOAL" run -H $H2,$H1 -n 2 --tag-output \
            sh -c "cat; echo \$(hostname) done" >out &&
    printf "[0] line one\n[0] line two\n[0] %s done\n[1] %s done\n" $H2 $H1 >expect &&
    sort out >got && sort expect >want && test_cmp want got
'

test_expect_success '--timeout ends a job on several hosts with 124' '
    test_expect_code 124 test_within 20 netns_exec 1 "$SHOAL" run -n 3 --map-by node \
        --timeout 2 sleep 60
'

test_expect_success 'SIGTERM to shoal run reaches the ranks on every host; 143' '
    cat >trapper <<-\EOF &&
	#!/bin/sh
	trap "echo term $SHOAL_RANK; exit 0" TERM
	sleep 60 &
	wait
	EOF
    chmod +x trapper &&
    netns_bg 1 "$SHOAL" run -n 3 --map-by node ./trapper >term.out &&
    p=$netns_bg_pid &&
    sleep 3 &&
    kill -TERM $p &&
    set +e && test_within 15 wait $p; rc=$? && set -e &&
    cat term.out && test $rc = 143 &&
    sort term.out >got &&
    printf "term 0\nterm 1\nterm 2\n" >expect && test_cmp expect got
'

test_expect_success 'the cores of ended jobs are free again' '
    for i in 1 2 3 4; do wait_free $i $ALL 10 || exit 1; done
'

test_expect_success '--exclusive uses only hosts no job uses, and claims all their cores' '
    # a one-core job leaves host 4 partly busy
    netns_bg 1 sh -c "\"$SHOAL\" run -H $H4 -n 1 sleep 8 >busy.out 2>&1" &&
    pb=$netns_bg_pid &&
    wait_free 1 $((ALL - 1)) 10 &&
    netns_bg 1 sh -c "\"$SHOAL\" run --exclusive -n 3 --map-by node sh -c \"hostname; sleep 4\" >excl.out 2>excl.err; echo \$? >excl.rc" &&
    pe=$netns_bg_pid &&
    # hosts 1, 2 and 3 whole (2 + 4 + 3 cores), host 4 less one core
    wait_free 1 $((ALL - 1 - 9)) 10 &&
    test_within 30 wait $pe &&
    cat excl.err && test "$(cat excl.rc)" = 0 &&
    printf "%s\n" $H1 $H2 $H3 | sort >expect &&
    sort excl.out >got && test_cmp expect got &&
    test_within 30 wait $pb
'

test_expect_success 'two jobs started at once on two hosts never share a core' '
    # each wants the whole pool: one runs, the other waits for it
    netns_bg 1 sh -c "\"$SHOAL\" run -n $ALL sh -c \"date +%s.%N; sleep 2; date +%s.%N\" >job1 2>job1.err; echo \$? >job1.rc" &&
    p1=$netns_bg_pid &&
    netns_bg 2 sh -c "\"$SHOAL\" run -n $ALL sh -c \"date +%s.%N; sleep 2; date +%s.%N\" >job2 2>job2.err; echo \$? >job2.rc" &&
    p2=$netns_bg_pid &&
    test_within 60 wait $p1 && test_within 60 wait $p2 &&
    cat job1.rc job1.err job2.rc job2.err &&
    test "$(cat job1.rc)" = 0 && test "$(cat job2.rc)" = 0 &&
    test "$(wc -l <job1)" -eq $((2 * ALL)) &&
    test "$(wc -l <job2)" -eq $((2 * ALL)) &&
    end1=$(sort -n job1 | tail -1) && start1=$(sort -n job1 | head -1) &&
    end2=$(sort -n job2 | tail -1) && start2=$(sort -n job2 | head -1) &&
    echo "job1 $start1-$end1, job2 $start2-$end2" &&
    awk -v s1=$start1 -v e1=$end1 -v s2=$start2 -v e2=$end2 \
        "BEGIN { exit !(e1 <= s2 || e2 <= s1) }"
'

test_expect_success 'a host lost mid-job fails the job by name, nothing is left' '
    # one rank per host only when the last jobs'"'"' cores are seen free
    # everywhere, or --map-by node fills the hosts it sees free
    for i in 1 2 3 4; do wait_free $i $ALL 20 || exit 1; done &&
    # a sleep of its own name: the hosts are held open by sleeps too
    cp /bin/sleep "$TRASH/nap" &&
    netns_bg 1 sh -c "\"$SHOAL\" run -n 4 --map-by node \"$TRASH/nap\" 60 >lost.out 2>lost.err; echo \$? >lost.rc" &&
    p=$netns_bg_pid &&
    sleep 2 &&
    netns_exec 3 pgrep -x nap >/dev/null &&
    pid=$(netns_exec 3 cat "$SHOAL_DIR/daemon.pid") &&
    kill -KILL "$pid" &&
    test_within 20 wait $p &&
    cat lost.err &&
    test "$(cat lost.rc)" = 1 &&
    grep "node '"'"'$H3'"'"' was lost; rank 2 on it is gone" lost.err &&
    # the ranks end within the kill grace (1 s here) on a loaded machine
    n=0 &&
    while pgrep -x nap; do
        n=$((n + 1)) && test $n -lt 50 || exit 1
        sleep 0.2
    done
'

test_expect_success 'the pool frees the lost job'"'"'s cores on the hosts left' '
    for i in 1 2 4; do wait_free $i $((ALL - 3)) 20 || exit 1; done
'

test_expect_success 'daemons stop and nothing runs after them' '
    for i in 1 2 4; do
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle 1 2 3 4
'

test_done

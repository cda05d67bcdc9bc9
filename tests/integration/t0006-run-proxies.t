#!/bin/sh
# SPDX-License-Identifier: MIT
# A job whose ranks are split over 2-3 `shoal proxy` processes, as over the
# nodes of a pool: every frame crosses a process boundary.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

# no_stray_proxies: no proxy of this test's jobs is left. They run in the
# test's directory; a pool's proxies (other tests running at the same
# time) run in their daemon's, and are not this test's to count.
no_stray_proxies() {
    sleep 0.2
    for p in $(pgrep -f -- "$SHOAL proxy"); do
        if [ "$(readlink "/proc/$p/cwd")" = "$(pwd -P)" ]; then
            echo "stray proxy: $(ps -o pid=,args= -p "$p")" >&2
            return 1
        fi
    done
}

export SHOAL_PROXY_NODES=3

run() {
    timeout -k 5 60 "$SHOAL" run --oversubscribe "$@"
}

test_expect_success 'ranks run on every proxy with their identity' '
    run -n 4 sh -c "echo \$SHOAL_RANK \$SHOAL_SIZE \$PMI_RANK \$PMI_SIZE" |
        sort >out &&
    printf "%d 4 %d 4\n" 0 0 1 1 2 2 3 3 >expect &&
    test_cmp expect out
'

test_expect_success 'local ranks count within each proxy' '
    run -n 5 sh -c "echo \$SHOAL_RANK:\$SHOAL_LOCAL_RANK/\$SHOAL_LOCAL_SIZE" |
        sort >out &&
    printf "0:0/2\n1:1/2\n2:0/2\n3:1/2\n4:0/1\n" >expect &&
    test_cmp expect out
'

test_expect_success 'the proxies are shoal proxy processes' '
    run -n 3 sh -c "ps -o args= -p \$PPID" >out &&
    test "$(grep -c "shoal proxy$" out)" -eq 3
'

test_expect_success '-x, --wdir reach every proxy' '
    mkdir -p wd &&
    FOO=inherited run -n 3 -x FOO -x BAR=set --wdir "$TRASH/wd" \
        sh -c "echo \$FOO \$BAR \$(pwd)" | sort -u >out &&
    echo "inherited set $TRASH/wd" >expect &&
    test_cmp expect out
'

test_expect_success '--tag-output prefixes every line with the rank' '
    run -n 3 --tag-output sh -c "printf \"a\nb\n\"; printf \"partial\"" >out &&
    for r in 0 1 2; do
        grep -c "^\[$r\] a$" out && grep -c "^\[$r\] b$" out &&
        grep -c "^\[$r\] partial$" out || exit 1
    done &&
    test "$(wc -l <out)" -eq 9
'

test_expect_success 'large output arrives whole' '
    run -n 2 sh -c "head -c 3000000 /dev/zero | tr \"\\\\0\" x; echo" >out &&
    test "$(tr -cd x <out | wc -c)" -eq 6000000
'

test_expect_success '--output-filename writes per-rank files' '
    run -n 3 --output-filename "$TRASH/o" sh -c \
        "echo out \$SHOAL_RANK; echo err \$SHOAL_RANK >&2" >out &&
    test ! -s out &&
    echo "out 2" >expect && test_cmp expect o/1/rank.2/stdout &&
    echo "err 0" >expect && test_cmp expect o/1/rank.0/stderr
'

test_expect_success 'stdin from a pipe goes to rank 0 only' '
    seq 1 20000 | run -n 3 sh -c "wc -l | sed s/^/\$SHOAL_RANK:/" |
        sort >out &&
    printf "0:20000\n1:0\n2:0\n" >expect &&
    test_cmp expect out
'

test_expect_success 'stdin from a file goes to rank 0' '
    seq 1 5000 >in && run -n 2 cat <in >out && test_cmp in out
'

test_expect_success 'all ranks exit 0: status 0' '
    run -n 3 true
'

test_expect_success 'a failing rank gives its status and is named with its node' '
    test_expect_code 5 run -n 3 sh -c \
        "[ \$SHOAL_RANK = 1 ] && exit 5; exit 0" 2>err &&
    grep "shoal: rank 1 on '"'"'$HOST:1'"'"' exited with status 5" err
'

test_expect_success 'the first failure kills the ranks on the other proxies' '
    test_within 10 test_expect_code 3 run -n 3 sh -c \
        "[ \$SHOAL_RANK = 2 ] && exit 3; exec sleep 1236.1" 2>err &&
    no_strays "sleep 1236.1"
'

test_expect_success 'a rank killed by a signal gives 128+signal' '
    test_expect_code 137 run -n 2 sh -c \
        "[ \$SHOAL_RANK = 1 ] && kill -KILL \$\$; exit 0" 2>err &&
    grep "rank 1 on .* was killed by signal 9" err
'

test_expect_success '--enable-recovery keeps the other ranks running' '
    test_expect_code 4 run -n 2 --enable-recovery sh -c \
        "[ \$SHOAL_RANK = 0 ] && exit 4; sleep 0.5; touch survived" &&
    test -f survived
'

test_expect_success '--timeout ends the job with status 124' '
    test_within 10 test_expect_code 124 run -n 3 --timeout 0.5 \
        sleep 1236.2 2>err &&
    grep "shoal: job timed out after 0.5 seconds" err &&
    no_strays "sleep 1236.2"
'

test_expect_success 'SIGTERM reaches every rank as SIGTERM' '
    test_bg "$SHOAL" run -n 3 --oversubscribe sh -c \
        "trap \"echo term \\\$SHOAL_RANK >>$TRASH/terms; exit 0\" TERM;
         touch $TRASH/ready.\$SHOAL_RANK; while :; do sleep 0.05; done" &&
    pid=$bg_pid &&
    while [ ! -f ready.0 ] || [ ! -f ready.1 ] || [ ! -f ready.2 ]; do sleep 0.05; done &&
    kill -TERM $pid &&
    test_expect_code 143 wait $pid &&
    sort terms >out && printf "term 0\nterm 1\nterm 2\n" >expect && test_cmp expect out
'

test_expect_success 'SIGUSR1 is forwarded to every proxy' '
    test_bg "$SHOAL" run -n 3 --oversubscribe sh -c \
        "trap \"echo usr1 \\\$SHOAL_RANK >>$TRASH/usr1; exit 0\" USR1;
         touch $TRASH/go.\$SHOAL_RANK; while :; do sleep 0.05; done" &&
    pid=$bg_pid &&
    while [ ! -f go.0 ] || [ ! -f go.1 ] || [ ! -f go.2 ]; do sleep 0.05; done &&
    kill -USR1 $pid && wait $pid &&
    sort usr1 >out && printf "usr1 0\nusr1 1\nusr1 2\n" >expect && test_cmp expect out
'

test_expect_success 'SIGINT ends a job that ignores SIGTERM, after the grace period' '
    test_bg "$SHOAL" run -n 2 sh -c "trap \"\" TERM; touch $TRASH/stubborn.\$SHOAL_RANK; exec sleep 1236.3" &&
    pid=$bg_pid &&
    while [ ! -f stubborn.0 ] || [ ! -f stubborn.1 ]; do sleep 0.05; done &&
    kill -INT $pid &&
    test_within 10 test_expect_code 130 wait $pid &&
    no_strays "sleep 1236.3"
'

test_expect_success 'a proxy killed mid-job: the job fails naming the node and its ranks' '
    test_bg "$SHOAL" run -n 5 --oversubscribe sh -c \
        "touch $TRASH/lost.\$SHOAL_RANK; exec sleep 1236.4" 2>err &&
    pid=$bg_pid &&
    for r in 0 1 2 3 4; do while [ ! -f lost.$r ]; do sleep 0.05; done; done &&
    proxy=$(pgrep -P $pid | sed -n 2p) &&
    kill -KILL $proxy &&
    test_within 15 test_expect_code 1 wait $pid &&
    grep "shoal: node '"'"'$HOST:1'"'"' was lost; ranks 2,3 on it are gone" err &&
    no_strays "sleep 1236.4" && no_stray_proxies
'

test_expect_success 'a coordinator killed with SIGKILL leaves no proxy or rank' '
    test_bg "$SHOAL" run -n 3 --oversubscribe sh -c \
        "touch $TRASH/orphan.\$SHOAL_RANK; exec sleep 1236.5" &&
    while [ ! -f orphan.0 ] || [ ! -f orphan.1 ] || [ ! -f orphan.2 ]; do sleep 0.05; done &&
    kill -KILL $bg_pid && test_expect_code 137 wait $bg_pid &&
    sleep 0.5 && no_strays "^sleep 1236.5" && no_stray_proxies
'

test_expect_success 'a program that cannot be started is reported' '
    chmod -x "$TRASH" 2>/dev/null; printf "#!/bin/sh\n" >noexec &&
    chmod 644 noexec && chmod +x "$TRASH" &&
    test_expect_code 126 run -n 2 ./noexec 2>err &&
    grep "cannot" err
'

if [ -z "$MPICC_MPICH" ] || [ ! -x "$MPI_DIR/hello.mpich" ]; then
    test_skip 'MPICH programs over proxies' 'MPICH (mpicc.mpich) is not installed'
    test_done
    exit 0
fi

for nodes in 2 3; do
    for prog in ring collectives split; do
        for n in 2 4 8; do
            test_expect_success "$prog on $n ranks over $nodes proxies" "
                SHOAL_PROXY_NODES=$nodes run -n $n \"\$MPI_DIR/$prog.mpich\" >out 2>err &&
                echo ' No Errors' >expect && test_cmp expect out
            "
        done
    done
done

test_expect_success 'MPICH hello names every rank across proxies' '
    run -n 3 "$MPI_DIR/hello.mpich" | sort >out &&
    for r in 0 1 2; do echo "hello from rank $r of 3 on $HOST"; done >expect &&
    test_cmp expect out
'

# MPICH's other ranks may notice rank 3's early exit and abort before its
# exit reaches the coordinator from another proxy: either failure may come
# first, as with mpirun over several hosts.
test_expect_success 'a rank exiting non-zero ends the job' '
    set +e; test_within 30 env SHOAL_PROXY_NODES=2 timeout -k 5 60 \
        "$SHOAL" run --oversubscribe -n 4 "$MPI_DIR/exit_code.mpich" 2>err
    rc=$?; set -e
    test $rc -ne 0 &&
    grep -E "shoal: rank 3 on .* exited with status 3|shoal: rank [0-2] on .* aborted" err &&
    no_strays "$MPI_DIR/exit_code.mpich"
'

test_expect_success 'MPI_Abort propagates its exit code across proxies' '
    test_within 30 test_expect_code 7 run -n 3 "$MPI_DIR/abort.mpich" 2>err &&
    grep "shoal: rank 1 on '"'"'$HOST:1'"'"' aborted the job with exit code 7" err &&
    no_strays "$MPI_DIR/abort.mpich"
'

test_expect_success 'a malformed PMI message on one proxy aborts the job' '
    test_expect_code 1 run -n 3 bash -c \
        "[ \$PMI_RANK = 2 ] && printf \"cmd=put key\\n\" >&\$PMI_FD; sleep 1236.6" 2>err &&
    grep "shoal: rank 2 on '"'"'$HOST:2'"'"': .*malformed" err &&
    no_strays "sleep 1236.6"
'

test_done

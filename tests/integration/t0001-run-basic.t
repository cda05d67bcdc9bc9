#!/bin/sh
# SPDX-License-Identifier: MIT
# shoal run on one machine: launch, output, stdin, environment, exit status.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

test_expect_success 'runs N ranks of a plain program' '
    "$SHOAL" run -n 4 --oversubscribe sh -c "echo rank \$SHOAL_RANK of \$SHOAL_SIZE" |
        sort >out &&
    printf "rank %d of 4\n" 0 1 2 3 >expect &&
    test_cmp expect out
'

test_expect_success 'mpirun and mpiexec are shoal run' '
    "$SHOAL_BUILDDIR/cmd/mpirun" -np 2 echo hi >out &&
    "$SHOAL_BUILDDIR/cmd/mpiexec" -n 2 echo hi >>out &&
    printf "hi\nhi\nhi\nhi\n" >expect &&
    test_cmp expect out
'

test_expect_success 'without -n, one rank per slot' '
    "$SHOAL" run sh -c "echo \$SHOAL_SIZE" | sort -u >out &&
    nproc >expect &&
    test_cmp expect out
'

test_expect_success 'PMI variables are set and foreign ones removed' '
    PMI_PORT=elsewhere:1 PMIX_RANK=9 PMIX_FOREIGN=1 "$SHOAL" run -n 2 sh -c \
        "echo \$PMI_RANK \$PMI_SIZE \${PMI_FD:+fd} \${PMI_PORT:-none} \${PMIX_RANK:-none} \${PMIX_FOREIGN:-none}" |
        sort >out &&
    printf "0 2 fd none 0 none\n1 2 fd none 1 none\n" >expect &&
    test_cmp expect out
'

test_expect_success '-x exports and sets variables' '
    FOO=inherited "$SHOAL" run -n 1 -x FOO -x BAR=set sh -c "echo \$FOO \$BAR" >out &&
    echo "inherited set" >expect &&
    test_cmp expect out
'

test_expect_success '--wdir sets the working directory' '
    mkdir -p wd && "$SHOAL" run -n 1 --wdir "$TRASH/wd" pwd >out &&
    echo "$TRASH/wd" >expect &&
    test_cmp expect out
'

test_expect_success '--tag-output prefixes every line with the rank' '
    "$SHOAL" run -n 2 --tag-output sh -c \
        "printf \"a\nb\n\"; printf \"partial\"" >out &&
    grep -c "^\[0\] a$" out && grep -c "^\[1\] b$" out &&
    grep -c "^\[1\] partial$" out &&
    test "$(wc -l <out)" -eq 6
'

test_expect_success '--tag-output keeps every byte of a line longer than its line buffer' '
    "$SHOAL" run -n 1 --tag-output sh -c \
        "head -c 300000 /dev/zero | tr \"\\\\0\" x; echo" |
        (sleep 0.3; cat) >out &&
    test "$(tr -d "\n" <out | sed "s/\[0\] //g" | tr -d x | wc -c)" -eq 0 &&
    test "$(tr -cd x <out | wc -c)" -eq 300000 &&
    test "$(grep -c "^\[0\] x" out)" -eq "$(wc -l <out)"
'

test_expect_success '--output-filename writes per-rank files' '
    "$SHOAL" run -n 2 --output-filename "$TRASH/o" sh -c \
        "echo out \$SHOAL_RANK; echo err \$SHOAL_RANK >&2" >out &&
    test ! -s out &&
    echo "out 1" >expect && test_cmp expect o/1/rank.1/stdout &&
    echo "err 0" >expect && test_cmp expect o/1/rank.0/stderr
'

test_expect_success 'a closed output pipe reaches the ranks, as in a pipeline' '
    test_within 10 sh -c "\"$SHOAL\" run -n 2 yes 2>err | head -n 3 >out" &&
    printf "y\ny\ny\n" >expect && test_cmp expect out &&
    grep "killed by signal 13" err
'

test_expect_success 'stdin from a pipe goes to rank 0 only' '
    seq 1 20000 | "$SHOAL" run -n 2 sh -c "wc -l | sed s/^/\$SHOAL_RANK:/" |
        sort >out &&
    printf "0:20000\n1:0\n" >expect &&
    test_cmp expect out
'

test_expect_success 'stdin from a file goes to rank 0' '
    seq 1 5 >in && "$SHOAL" run -n 1 cat <in >out && test_cmp in out
'

test_expect_success 'all ranks exit 0: status 0' '
    "$SHOAL" run -n 3 --oversubscribe true
'

test_expect_success 'a failing rank gives its status and is named' '
    test_expect_code 5 "$SHOAL" run -n 3 --oversubscribe sh -c \
        "[ \$SHOAL_RANK = 1 ] && exit 5; exit 0" 2>err &&
    grep "shoal: rank 1 on '"'"'$HOST'"'"' exited with status 5" err
'

test_expect_success 'the first failure kills the other ranks' '
    test_within 10 test_expect_code 3 "$SHOAL" run -n 3 --oversubscribe sh -c \
        "[ \$SHOAL_RANK = 2 ] && exit 3; exec sleep 1234.5" 2>err &&
    no_strays "sleep 1234.5"
'

test_expect_success 'a rank killed by a signal gives 128+signal' '
    test_expect_code 137 "$SHOAL" run -n 2 sh -c \
        "[ \$SHOAL_RANK = 0 ] && kill -KILL \$\$; exit 0" 2>err &&
    grep "rank 0 on .* was killed by signal 9" err
'

test_expect_success '--enable-recovery keeps the other ranks running' '
    test_expect_code 4 "$SHOAL" run -n 2 --enable-recovery sh -c \
        "[ \$SHOAL_RANK = 0 ] && exit 4; sleep 0.5; touch survived" &&
    test -f survived
'

test_expect_success 'processes a rank leaves behind are cleaned up' '
    "$SHOAL" run -n 1 sh -c "sleep 1234.6 & exit 0" &&
    no_strays "sleep 1234.6"
'

test_expect_success '--timeout ends the job with status 124' '
    test_within 10 test_expect_code 124 "$SHOAL" run -n 2 --timeout 0.5 \
        sleep 1234.7 2>err &&
    grep "shoal: job timed out after 0.5 seconds" err &&
    no_strays "sleep 1234.7"
'

test_expect_success 'SIGTERM reaches every rank as SIGTERM' '
    test_bg "$SHOAL" run -n 2 sh -c \
        "trap \"echo term \\\$SHOAL_RANK >>$TRASH/terms; exit 0\" TERM;
         touch $TRASH/ready.\$SHOAL_RANK; while :; do sleep 0.05; done" &&
    pid=$bg_pid &&
    while [ ! -f ready.0 ] || [ ! -f ready.1 ]; do sleep 0.05; done &&
    kill -TERM $pid &&
    test_expect_code 143 wait $pid &&
    sort terms >out && printf "term 0\nterm 1\n" >expect && test_cmp expect out
'

test_expect_success 'SIGUSR1 is forwarded' '
    test_bg "$SHOAL" run -n 2 sh -c \
        "trap \"echo usr1 \\\$SHOAL_RANK >>$TRASH/usr1; exit 0\" USR1;
         touch $TRASH/go.\$SHOAL_RANK; while :; do sleep 0.05; done" &&
    pid=$bg_pid &&
    while [ ! -f go.0 ] || [ ! -f go.1 ]; do sleep 0.05; done &&
    kill -USR1 $pid && wait $pid &&
    sort usr1 >out && printf "usr1 0\nusr1 1\n" >expect && test_cmp expect out
'

test_expect_success 'SIGINT ends a job that ignores SIGTERM, after the grace period' '
    test_bg "$SHOAL" run -n 1 sh -c "trap \"\" TERM; touch $TRASH/stubborn; exec sleep 1234.8" &&
    pid=$bg_pid &&
    while [ ! -f stubborn ]; do sleep 0.05; done &&
    kill -INT $pid &&
    test_within 10 test_expect_code 130 wait $pid &&
    no_strays "sleep 1234.8"
'

# state PID: the one-letter process state (R, S, T, ...).
state() {
    sed 's/.*) //' "/proc/$1/stat" | cut -c1
}

test_expect_success 'SIGTSTP stops the ranks and shoal run; SIGCONT resumes them' '
    test_bg "$SHOAL" run -n 2 sh -c "touch $TRASH/tstp.\$SHOAL_RANK; exec sleep 1234.3" &&
    pid=$bg_pid &&
    while [ ! -f tstp.0 ] || [ ! -f tstp.1 ]; do sleep 0.05; done &&
    sleep 0.2 && ranks=$(pgrep -f "^sleep 1234.3") &&
    test $(echo $ranks | wc -w) -eq 2 &&
    kill -TSTP $pid && sleep 0.5 &&
    test "$(state $pid)" = T &&
    for r in $ranks; do test "$(state $r)" = T || exit 1; done &&
    kill -CONT $pid && sleep 0.5 &&
    test "$(state $pid)" != T &&
    for r in $ranks; do test "$(state $r)" = S || exit 1; done &&
    kill -TERM $pid && test_expect_code 143 wait $pid &&
    no_strays "sleep 1234.3"
'

test_expect_success 'ranks do not outlive a launcher killed with SIGKILL' '
    test_bg "$SHOAL" run -n 2 sh -c "touch $TRASH/orphan.\$SHOAL_RANK; exec sleep 1234.1" &&
    while [ ! -f orphan.0 ] || [ ! -f orphan.1 ]; do sleep 0.05; done &&
    kill -KILL $bg_pid && test_expect_code 137 wait $bg_pid &&
    no_strays "^sleep 1234.1"
'

test_expect_success 'a second SIGINT does not wait for the grace period' '
    test_bg env SHOAL_KILL_GRACE=60 "$SHOAL" run -n 2 sh -c \
        "trap \"\" TERM; touch $TRASH/stubborn2.\$SHOAL_RANK; exec sleep 1234.4" &&
    pid=$bg_pid &&
    while [ ! -f stubborn2.0 ] || [ ! -f stubborn2.1 ]; do sleep 0.05; done &&
    kill -INT $pid && sleep 0.3 && kill -INT $pid &&
    test_within 5 test_expect_code 130 wait $pid &&
    no_strays "sleep 1234.4"
'

test_done

#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark suites on a pool of two simulated hosts: a gang benchmark runs
# across both through `shoal run`, the store keeps the pool (every node as
# the run starts, and each node's load after each repetition), the report
# names the pool, and plain commands run as pool tasks (on the host whose
# cores are free), their failures and timeouts recorded as at home. PAPI
# counts of a task or rank on host 2 come back through the pool: the
# runner keeps them under a TMPDIR that host 2 has not.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 2

. "$SHOAL_SRCDIR/tests/integration/pool.sh"

H1=$(netns_name 1) H2=$(netns_name 2)

# q SQL: one query on host 1's store, rows as '|'-separated lines
q() {
    netns_exec 1 "$NETNS_PYTHON" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute(sys.argv[2]):
    print("|".join(str(v) for v in row))
' "$SHOAL_DIR/bench.db" "$1"
}

cat >pool.yaml <<'SUITE'
benchmarks:
  - name: spread
    command: [hostname]
    mpi: {ranks: 2, map-by: node}
    repeat: 2
  - name: nap
    command: [sleep, "0.01"]
    repeat: 2
SUITE

test_expect_success 'a pool of two hosts' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2; do test_within 15 daemon_start $i || exit 1; done &&
    cores=$(( $(netns_cores 1) + $(netns_cores 2) )) &&
    for i in 1 2; do wait_free $i $cores 20 || exit 1; done
'

test_expect_success 'the gang benchmark runs on both hosts' '
    netns_exec 1 "$SHOAL" bench run --dir "$SHOAL_DIR" pool.yaml >run.out 2>run.err &&
    cat run.out run.err &&
    test "$(tail -n 1 run.out)" = 1 &&
    q "SELECT output FROM reps WHERE bench = \"spread\" AND warmup = 0" >outs &&
    cat outs &&
    test "$(grep -c -x "$H1" outs)" = 2 && test "$(grep -c -x "$H2" outs)" = 2
'

test_expect_success 'the store keeps the pool as the run started, and after each repetition' '
    q "SELECT name, state, cores > 0, topology != \"\" FROM pool
       WHERE run = 1 AND bench IS NULL ORDER BY name" >start &&
    printf "%s|alive|1|1\n" $H1 $H2 | sort >expect && test_cmp expect start &&
    q "SELECT bench, rep, count(*) FROM pool WHERE run = 1 AND bench IS NOT NULL
       GROUP BY bench, rep ORDER BY bench, rep" >reps &&
    printf "%s\n" "nap|0|2" "nap|1|2" "spread|0|2" "spread|1|2" >expect &&
    test_cmp expect reps
'

test_expect_success 'the report names the pool' '
    netns_exec 1 "$SHOAL" bench report --dir "$SHOAL_DIR" 1 >report &&
    cat report &&
    grep "^pool: " report >line &&
    grep -F "$H1 (" line && grep -F "$H2 (" line &&
    grep -F "after a repetition" line
'

test_expect_success 'without a pool nothing of it is stored' '
    netns_exec 1 env SHOAL_POOL=no "$SHOAL" bench run --dir "$SHOAL_DIR" \
        --only nap pool.yaml >run2.out &&
    test "$(tail -n 1 run2.out)" = 2 &&
    test "$(q "SELECT count(*) FROM pool WHERE run = 2")" = 0 &&
    netns_exec 1 "$SHOAL" bench report --dir "$SHOAL_DIR" 2 >report2 &&
    ! grep "^pool:" report2
'

cat >tasks.yaml <<'SUITE'
benchmarks:
  - name: where
    command: [sh, -c, 'hostname; echo "t=$((20 + 1)) { }"']
    parse: {regex: 't=(?<t>[0-9]+)'}
    papi: [perf::TASK-CLOCK, PAPI_TOT_INS]
    repeat: 3
  - name: shell
    command: [sh, -c, 'i=0; while [ $i -lt 1000 ]; do i=$((i+1)); done']
    papi: [perf::TASK-CLOCK]
    repeat: 1
  - name: fails
    command: [sh, -c, 'echo oops >&2; exit 3']
    repeat: 1
  - name: hangs
    command: [sleep, "30"]
    timeout: 1
    repeat: 1
  - name: here
    command: [hostname]
    local: true
    repeat: 1
SUITE

test_expect_success 'plain commands run as pool tasks, on the node with free cores' '
    # host 1 lends no core while a gang job holds them all
    netns_bg 1 "$SHOAL" run -H "$H1:$(netns_cores 1)" -n "$(netns_cores 1)" sleep 60 &&
    gang=$netns_bg_pid &&
    wait_free 1 "$(netns_cores 2)" 20 &&
    # the runner keeps counts in a directory of TMPDIR that host 2 has not
    # (the hosts share /tmp): a task there can only send them back
    netns_exec 1 mkdir -p "$SHOAL_DIR/tmp" &&
    ! netns_exec 2 test -e "$SHOAL_DIR/tmp" &&
    netns_exec 1 env TMPDIR="$SHOAL_DIR/tmp" "$SHOAL" bench run \
        --dir "$SHOAL_DIR" tasks.yaml >tasks.out 2>tasks.err &&
    cat tasks.out tasks.err &&
    kill $gang &&
    id=$(tail -n 1 tasks.out) &&
    q "SELECT bench, status, exit_code FROM reps WHERE run = $id
       ORDER BY bench, rep" >st &&
    printf "%s\n" "fails|failed|3" "hangs|timeout|-15" "here|ok|0" \
        "shell|ok|0" "where|ok|0" "where|ok|0" "where|ok|0" >expect &&
    test_cmp expect st &&
    q "SELECT output FROM reps WHERE run = $id AND bench = \"where\"" >outs &&
    cat outs &&
    test "$(grep -c -x "$H2" outs)" = 3 &&
    test "$(grep -c -x "t=21 { }" outs)" = 3 &&
    test "$(q "SELECT output FROM reps WHERE run = $id AND bench = \"here\"")" = "$H1" &&
    q "SELECT output FROM reps WHERE run = $id AND bench = \"fails\"" | grep -x oops &&
    node2=$(netns_exec 2 cat "$SHOAL_DIR/node-id") &&
    q "SELECT bench, node FROM tasks WHERE run = $id ORDER BY bench, rep" >nodes &&
    cat nodes &&
    test "$(grep -c "^where|0*$node2$" nodes)" = 3 &&
    ! grep "^here|" nodes &&
    test "$(q "SELECT count(*) FROM figures WHERE run = $id AND bench = \"where\"
             AND name = \"t\" AND value = 21")" = 3 &&
    q "SELECT min(value) FROM figures WHERE run = $id AND bench = \"where\"
       AND name = \"wall\"" | awk "\$1 <= 0 || \$1 > 5 { exit 1 }" &&
    q "SELECT rep FROM counters WHERE run = $id AND bench = \"where\"
       AND event = \"perf::TASK-CLOCK\" AND min > 0 ORDER BY rep" >counted &&
    printf "%s\n" 0 1 2 >expect && test_cmp expect counted &&
    # counted where the task ran, in its own directory
    netns_exec 2 sh -c "cat \"\$SHOAL_DIR\"/jobs/*/task.0/counters" >there &&
    grep "^perf::TASK-CLOCK [1-9]" there &&
    # an event without a PMU comes back as unavailable, and is said
    if grep -q "^PAPI_TOT_INS unavailable" there; then
        grep "PAPI events not available on this machine: PAPI_TOT_INS" tasks.err
    else
        test "$(q "SELECT count(*) FROM counters WHERE run = $id
                 AND event = \"PAPI_TOT_INS\" AND min > 0")" = 3
    fi &&
    # dash ends by _exit: its counts come back all the same
    test "$(q "SELECT count(*) FROM counters WHERE run = $id
             AND bench = \"shell\" AND event = \"perf::TASK-CLOCK\"
             AND min > 0")" = 1 &&
    ! grep "no counts came back" tasks.err &&
    test -z "$(netns_exec 1 ls "$SHOAL_DIR/tmp")" &&
    netns_exec 1 "$SHOAL" jobs --json >jobs.json &&
    grep "\"bench $id where\"" jobs.json
'

cat >ranks.yaml <<'SUITE'
benchmarks:
  - name: ranks
    command: [hostname]
    mpi: {ranks: 2, map-by: node}
    papi: [perf::TASK-CLOCK]
    repeat: 2
SUITE

test_expect_success 'the counters of ranks on both hosts come back through the pool' '
    cores=$(( $(netns_cores 1) + $(netns_cores 2) )) &&
    for i in 1 2; do wait_free $i $cores 20 || exit 1; done &&
    netns_exec 1 env TMPDIR="$SHOAL_DIR/tmp" "$SHOAL" bench run \
        --dir "$SHOAL_DIR" ranks.yaml >ranks.out 2>ranks.err &&
    cat ranks.out ranks.err &&
    id=$(tail -n 1 ranks.out) &&
    q "SELECT output FROM reps WHERE run = $id" >outs &&
    test "$(grep -c -x "$H1" outs)" = 2 && test "$(grep -c -x "$H2" outs)" = 2 &&
    # each repetition sums the counts of both ranks: the one on host 2
    # (without the runner'"'"'s TMPDIR) is not lost
    q "SELECT rep FROM counters WHERE run = $id AND event = \"perf::TASK-CLOCK\"
       AND min > 0 AND sum > max ORDER BY rep" >counted &&
    printf "%s\n" 0 1 >expect && test_cmp expect counted &&
    test -z "$(netns_exec 1 ls "$SHOAL_DIR/tmp")"
'

test_expect_success 'daemons stop' '
    for i in 1 2; do netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1; done
'

test_done

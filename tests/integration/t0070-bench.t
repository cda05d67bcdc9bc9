#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark suites on the embedded runtime: the smallest suite end to end,
# the store, the report, gang jobs through `shoal run`, repetitions that
# crash, hang or print nothing, bad suite files, a regression between two
# runs where the second is slower on purpose, and --resume.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

export SHOAL_DIR="$TRASH/state"
export SHOAL_POOL=no

# q SQL: one query on the store, rows as '|'-separated lines
q() {
    python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute(sys.argv[2]):
    print("|".join(str(v) for v in row))
' "$SHOAL_DIR/bench.db" "$1"
}

cat >nap.yaml <<'EOF'
benchmarks:
  - name: nap
    command: [sleep, "{t}"]
    matrix: {t: [0.01, 0.02]}
    repeat: 3
EOF

test_expect_success 'the smallest suite runs and prints its run id last' '
    "$SHOAL" bench run nap.yaml >run.out 2>run.err &&
    cat run.out run.err &&
    test "$(tail -n 1 run.out)" = 1 &&
    test ! -s run.err
'

test_expect_success 'the store holds the run, its cases and every repetition' '
    q "SELECT status, suite_hash, version, host, topology FROM runs" >runs &&
    cat runs &&
    hash=$(b2sum -l 256 nap.yaml | cut -d" " -f1) &&
    grep "^done|$hash|$("$SHOAL" version | cut -d" " -f2)|$HOST|" runs &&
    grep "Core:" runs &&
    test "$(q "SELECT count(*) FROM cases WHERE run = 1")" = 2 &&
    test "$(q "SELECT count(*) FROM reps WHERE run = 1 AND status = \"ok\"")" = 6 &&
    q "SELECT c.params, f.value FROM figures f JOIN cases c USING (run,
       bench, case_no) WHERE f.name = \"wall\"" >walls &&
    cat walls &&
    test "$(wc -l <walls)" = 6 &&
    sed "s/^{\"t\":\"\([0-9.]*\)\"}|/\1 /" walls >t-wall &&
    cat t-wall &&
    awk "\$2 < \$1 || \$2 > \$1 + 0.5 { exit 1 }" t-wall
'

test_expect_success 'report --format json has one object per case' '
    "$SHOAL" bench report 1 --format json >report.json &&
    cat report.json &&
    python3 - report.json <<-\EOF
	import json, sys
	cases = [json.loads(l) for l in open(sys.argv[1])]
	assert [c["parameters"] for c in cases] == [{"t": "0.01"}, {"t": "0.02"}], cases
	for c, t in zip(cases, (0.01, 0.02)):
	    assert c["name"] == "nap" and c["failed"] == 0, c
	    w = c["figures"]["wall"]
	    assert w["n"] == 3 and w["unit"] == "s" and w["better"] == "lower", w
	    assert t <= w["min"] <= w["median"] <= w["max"] < t + 0.5, w
	    assert w["ci"] == [w["min"], w["max"]] and w["ci_coverage"] == 0.75, w
	EOF
'

test_expect_success 'the table, md and csv reports and ls' '
    "$SHOAL" bench report 1 >table &&
    cat table &&
    grep "^nap  *t=0.01  *wall  *3 " table &&
    grep "distribution-free 95% confidence interval" table &&
    "$SHOAL" bench report 1 --format md | grep "^| nap | t=0.01 | wall | 3 |" &&
    "$SHOAL" bench report 1 --format csv >csv &&
    head -n 1 csv | grep "^bench,parameters,figure,n,median," &&
    test "$(wc -l <csv)" = 3 &&
    "$SHOAL" bench ls >ls &&
    cat ls &&
    grep "^ *1  .* done  *6  *0  .*nap.yaml" ls &&
    "$SHOAL" bench ls --json >ls.json &&
    test "$(wc -l <ls.json)" = 1 &&
    python3 -c "
import json, sys
runs = json.load(open(\"ls.json\"))
assert len(runs) == 1, runs
r = runs[0]
assert set(r) == {\"run\", \"started\", \"status\", \"reps\", \"failed\",
                  \"host\", \"tag\", \"suite\"}, r
assert r[\"run\"] == 1 and r[\"status\"] == \"done\" and r[\"reps\"] == 6, r
assert r[\"failed\"] == 0 and r[\"tag\"] is None and r[\"suite\"].endswith(\"nap.yaml\"), r
assert r[\"started\"] > 1.7e9, r
" &&
    test_expect_code 2 "$SHOAL" bench ls --csv 2>err &&
    grep "unexpected .--csv. for .bench ls." err
'

cat >gang.yaml <<'EOF'
name: gang and failures
benchmarks:
  - name: gang
    command: [sh, -c, 'echo "rank ${PMI_RANK} of ${PMI_SIZE} t=0.{n}5"']
    mpi: {ranks: 2, bind-to: none, oversubscribe: true}
    matrix: {n: [1, 2, 3]}
    exclude: [{n: 2}]
    parse: {regex: 'of (?<size>[0-9]+) t=(?<t>[0-9.]+)'}
    figures: {t: {unit: s}}
    warmup: 1
    repeat: 2
    timeout: 60
  - name: crash
    command: [sh, -c, 'kill -SEGV $$']
    repeat: 2
  - name: hang
    command: [sleep, 30]
    timeout: 0.3
    repeat: 1
  - name: silent
    command: ['true']
    parse: json
    repeat: 1
EOF

test_expect_success 'gang jobs run through shoal run; failures are recorded' '
    test_within 60 "$SHOAL" bench run gang.yaml >run.out 2>run.err &&
    cat run.out run.err &&
    test "$(tail -n 1 run.out)" = 2 &&
    q "SELECT bench, case_no, warmup, status, exit_code FROM reps WHERE
       run = 2 ORDER BY rowid" >reps &&
    cat reps &&
    printf "%s\n" "gang|0|1|ok|0" "gang|0|0|ok|0" "gang|0|0|ok|0" \
        "gang|1|1|ok|0" "gang|1|0|ok|0" "gang|1|0|ok|0" \
        "crash|0|0|crashed|-11" "crash|0|0|crashed|-11" \
        "hang|0|0|timeout|-15" "silent|0|0|noparse|0" >expect &&
    test_cmp expect reps &&
    test "$(q "SELECT params FROM cases WHERE run = 2 AND bench = \"gang\"
               ORDER BY case_no")" = "$(printf "{\"n\":\"1\"}\n{\"n\":\"3\"}")" &&
    q "SELECT case_no, name, value FROM figures WHERE run = 2 AND
       bench = \"gang\" AND name != \"wall\" ORDER BY case_no, rep, name" |
        sort | uniq -c >figs &&
    cat figs &&
    grep "^ *4 0|size|2.0$" figs &&
    grep "^ *4 0|t|0.15$" figs &&
    grep "^ *4 1|t|0.35$" figs &&
    "$SHOAL" bench report 2 >table &&
    cat table &&
    grep "^crash .*(2 failed)" table &&
    grep "^hang .*(1 failed)" table &&
    "$SHOAL" bench show 2 hang >show &&
    cat show &&
    grep "^case 0 (-) rep 1: timeout, exit -15, wall 0.3" show
'

test_expect_success 'a bad suite file is refused with its line and key' '
    printf "benchmarks:\n  - name: nap\n    command: [sleep, 1]\n    repat: 3\n" >bad.yaml &&
    test_expect_code 1 "$SHOAL" bench run bad.yaml >out 2>err &&
    echo "shoal: bad.yaml:4: unknown key '"'"'repat'"'"' in benchmark '"'"'nap'"'"'" >expect &&
    test_cmp expect err &&
    test ! -s out &&
    printf "benchmarks:\n  - name: x\n    command: [no-such-program-here]\n" >missing.yaml &&
    test_expect_code 1 "$SHOAL" bench run missing.yaml 2>err &&
    cat err &&
    grep "^shoal: missing.yaml:3: key '"'"'command'"'"': cannot find '"'"'no-such-program-here'"'"'" err &&
    test "$(q "SELECT count(*) FROM runs")" = 2
'

cat >papi.yaml <<'EOF'
benchmarks:
  - name: count
    command: [/usr/bin/python3, -S, -c, 'sum(range(100000))']
    papi: [PAPI_TOT_INS, perf::TASK-CLOCK]
    repeat: 2
  - name: ranks
    command: [/usr/bin/python3, -S, -c, 'sum(range(100000))']
    mpi: {ranks: 2, bind-to: none, oversubscribe: true}
    papi: [perf::TASK-CLOCK]
    repeat: 2
EOF

test_expect_success 'PAPI counters per repetition, summed over the ranks' '
    "$SHOAL" bench run papi.yaml >papi.out 2>papi.err &&
    cat papi.out papi.err &&
    id=$(tail -n 1 papi.out) &&
    q "SELECT bench, rep, event, sum > 0, min > 0, max >= min FROM counters
       WHERE run = $id ORDER BY rowid" >counters &&
    cat counters &&
    grep "^count|0|perf::TASK-CLOCK|1|1|1$" counters &&
    grep "^count|1|perf::TASK-CLOCK|1|1|1$" counters &&
    grep "^ranks|0|perf::TASK-CLOCK|1|1|1$" counters &&
    q "SELECT sum / max FROM counters WHERE run = $id AND bench = \"ranks\"" |
        awk "\$1 < 1.5 { exit 1 }" &&
    if grep -q "^count|0|PAPI_TOT_INS|1" counters; then
        test ! -s papi.err
    else
        echo "shoal: PAPI events not available on this machine: PAPI_TOT_INS (no counts for them)" >expect &&
        test_cmp expect papi.err
    fi &&
    "$SHOAL" bench report "$id" | grep "^count .*perf::TASK-CLOCK  *2 .* count"
'

# ends S HOW (spin() from tests/fixtures/cpu-spin.h, as spin.c below):
# busy for S seconds of CPU time, then ends by HOW: exit,
# _exit, _Exit, execfail (an exec that fails, then 0.1 s more), or execl,
# execlp or execle of itself ("ends S check HOW two words '' last", execle
# with ENDS_ENV=le added to the environment), which checks that it got
# exactly those arguments (and ENDS_ENV only from execle), is busy S
# seconds again and exits 0 (3 when they are not)
cat >ends.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cpu-spin.h"
extern char **environ;
static int check(int argc, char **argv)
{
    const char *env = getenv("ENDS_ENV");
    int le = !strcmp(argv[3], "execle");

    if (argc != 7 || strcmp(argv[4], "two words") || strcmp(argv[5], "")
        || strcmp(argv[6], "last") || (le != (env && !strcmp(env, "le")))
        || (!le && env)) {
        fprintf(stderr, "ends: %s passed %d arguments, ENDS_ENV=%s\n",
                argv[3], argc, env ? env : "(none)");
        return 3;
    }
    return 0;
}
int main(int argc, char **argv)
{
    spin(argc > 1 ? atof(argv[1]) : 0);
    if (argc > 3 && !strcmp(argv[2], "check"))
        exit(check(argc, argv));
    if (argc > 2 && !strcmp(argv[2], "execl"))
        execl("./ends", "./ends", argv[1], "check", "execl", "two words", "",
              "last", (char *)NULL);
    if (argc > 2 && !strcmp(argv[2], "execlp")) {
        setenv("PATH", ".", 1);
        execlp("ends", "ends", argv[1], "check", "execlp", "two words", "",
               "last", (char *)NULL);
    }
    if (argc > 2 && !strcmp(argv[2], "execle")) {
        size_t n = 0;
        char **env;

        while (environ[n])
            n++;
        env = calloc(n + 2, sizeof(*env));
        memcpy(env, environ, n * sizeof(*env));
        env[n] = "ENDS_ENV=le";
        execle("./ends", "./ends", argv[1], "check", "execle", "two words", "",
               "last", (char *)NULL, env);
    }
    if (argc > 2 && !strncmp(argv[2], "execl", 5)) {
        perror(argv[2]);
        exit(2);
    }
    if (argc > 2 && !strcmp(argv[2], "_exit"))
        _exit(0);
    if (argc > 2 && !strcmp(argv[2], "_Exit"))
        _Exit(0);
    if (argc > 2 && !strcmp(argv[2], "execfail")) {
        execl("./no-such-program", "no-such-program", (char *)NULL);
        spin(0.1);
    }
    exit(0);
}
EOF

cat >ends.yaml <<'EOF'
benchmarks:
  - name: _exit
    command: [./ends, "0.2", _exit]
    papi: [perf::TASK-CLOCK]
    repeat: 1
  - name: _Exit
    command: [./ends, "0.2", _Exit]
    papi: [perf::TASK-CLOCK]
    repeat: 1
  - name: exec
    command: [sh, -c, exec ./ends 0.2 exit]
    papi: [perf::TASK-CLOCK]
    repeat: 1
  - name: execfail
    command: [./ends, "0.2", execfail]
    papi: [perf::TASK-CLOCK]
    repeat: 1
  - name: execl
    command: [./ends, "0.2", execl]
    papi: [perf::TASK-CLOCK]
    repeat: 1
  - name: execlp
    command: [./ends, "0.2", execlp]
    papi: [perf::TASK-CLOCK]
    repeat: 1
  - name: execle
    command: [./ends, "0.2", execle]
    papi: [perf::TASK-CLOCK]
    repeat: 1
  - name: ranks
    command: [sh, -c, exec ./ends 0.2 _exit]
    mpi: {ranks: 2, bind-to: none, oversubscribe: true}
    papi: [perf::TASK-CLOCK]
    repeat: 1
EOF

# TASK-CLOCK counts nanoseconds of CPU time: each process of ./ends
# spends 0.2 s, a shell before its exec a little, never 0
test_expect_success 'processes that end by exec or _exit write their counts' '
    cc -I"$SHOAL_SRCDIR/tests/fixtures" ends.c -o ends &&
    "$SHOAL" bench run ends.yaml >ends.out 2>ends.err &&
    cat ends.out ends.err &&
    id=$(tail -n 1 ends.out) &&
    q "SELECT bench, sum, min, max FROM counters WHERE run = $id AND
       event = \"perf::TASK-CLOCK\" ORDER BY rowid" >ends &&
    cat ends &&
    # one record each, from _exit and _Exit
    awk -F"|" "\$1 ~ /^_(exit|Exit)\$/ && \$2 >= 0.15e9 && \$2 == \$4 { n++ }
               END { exit n != 2 }" ends &&
    # the shell wrote before its exec: two records, the program the longer
    awk -F"|" "\$1 == \"exec\" && \$4 >= 0.15e9 && \$2 > \$4 && \$3 > 0 {
                   ok = 1 } END { exit !ok }" ends &&
    # an exec that failed: a record before it, then one of what came after
    # (0.1 s), not of all the process counted (0.3 s)
    awk -F"|" "\$1 == \"execfail\" && \$4 >= 0.15e9 && \$4 < 0.28e9 &&
               \$3 >= 0.08e9 && \$3 < 0.15e9 { ok = 1 } END { exit !ok }" ends &&
    # execl, execlp and execle: a record before the exec and one of the
    # program started, which got its arguments (and environment) whole
    awk -F"|" "\$1 ~ /^execl[pe]?\$/ && \$2 >= 0.3e9 && \$3 >= 0.15e9 {
                   n++ } END { exit n != 3 }" ends &&
    # both ranks counted (each a shell and ./ends), none said missing
    awk -F"|" "\$1 == \"ranks\" && \$2 >= 0.3e9 && \$4 < 0.3e9 { ok = 1 }
               END { exit !ok }" ends &&
    ! grep "came back" ends.err
'

cat >execl.yaml <<'EOF'
benchmarks:
  - name: execl
    command: [./ends, "0", execl]
    papi: [perf::TASK-CLOCK]
    repeat: 1
  - name: execlp
    command: [./ends, "0", execlp]
    papi: [perf::TASK-CLOCK]
    repeat: 1
  - name: execle
    command: [./ends, "0", execle]
    papi: [perf::TASK-CLOCK]
    repeat: 1
EOF

# The preload library's execl, execlp and execle gather their arguments
# themselves: the program they start checks it got them all (and execle's
# environment), counted or not (a machine without a PMU counts nothing);
# built again, as the test above wrote its counts over ./ends
test_expect_success 'execl, execlp and execle through the preload library pass their arguments whole' '
    cc -I"$SHOAL_SRCDIR/tests/fixtures" ends.c -o ends &&
    "$SHOAL" bench run execl.yaml >execl.out 2>execl.err &&
    cat execl.out execl.err &&
    id=$(tail -n 1 execl.out) &&
    q "SELECT bench, status, exit_code FROM reps WHERE run = $id
       ORDER BY rowid" >execl.reps &&
    printf "%s\n" "execl|ok|0" "execlp|ok|0" "execle|ok|0" >expect &&
    test_cmp expect execl.reps &&
    ! grep "^ends:" execl.err
'

cat >spin.c <<'EOF'
#include <mpi.h>
#include "cpu-spin.h"
int main(int argc, char **argv)
{
    spin(1.0);
    MPI_Init(&argc, &argv);
    MPI_Finalize();
    spin(0.5);
    return 0;
}
EOF

cat >mpisection.yaml <<'EOF'
benchmarks:
  - name: section
    command: ["./spin"]
    mpi: {ranks: 2, bind-to: none, oversubscribe: true}
    papi: [perf::TASK-CLOCK]
    repeat: 1
EOF

# Built with MPICH's mpicc: the preload library must wrap any MPI's
# MPI_Init, and a program built against a sanitized libmpi could take no
# preloaded library after the sanitizers' runtime.
if [ -z "$MPICC_MPICH" ]; then
    test_skip 'counters of an MPI program cover MPI_Init to MPI_Finalize only' \
        'MPICH is not installed'
else
test_expect_success 'counters of an MPI program cover MPI_Init to MPI_Finalize only' '
    "$MPICC_MPICH" -I"$SHOAL_SRCDIR/tests/fixtures" spin.c -o spin &&
    "$SHOAL" bench run mpisection.yaml >sec.out 2>sec.err &&
    cat sec.out sec.err &&
    id=$(tail -n 1 sec.out) &&
    q "SELECT bench, min, max FROM counters WHERE run = $id AND
       event = \"perf::TASK-CLOCK\"" >section &&
    cat section &&
    # TASK-CLOCK counts nanoseconds of CPU: each rank spends 1.5 s outside
    # its MPI section, none of which may be counted
    awk -F"|" "\$1 == \"section\" && \$2 > 0 && \$3 < 0.5e9 { ok = 1 }
               END { exit !ok }" section
'
fi

cat >pingpong.c <<'EOF'
#include <mpi.h>
#include <stdlib.h>
#include <unistd.h>
/* p N SIZE: N round trips of SIZE bytes between ranks 0 and 1;
 * u K: rank 0 sends K messages while rank 1 sleeps, then rank 1 takes
 * them in order */
int main(int argc, char **argv)
{
    int rank, n = atoi(argv[2]), size = argc > 3 ? atoi(argv[3]) : 1;
    char *buf = calloc(1, size ? size : 1);

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    for (int i = 0; argv[1][0] == 'p' && i < n; i++) {
        if (rank == 0) {
            MPI_Send(buf, size, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(buf, size, MPI_BYTE, 1, 0, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(buf, size, MPI_BYTE, 0, 0, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            MPI_Send(buf, size, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
        }
    }
    if (argv[1][0] == 'u' && rank == 1)
        usleep(300000);
    for (int i = 0; argv[1][0] == 'u' && i < n; i++) {
        if (rank == 0)
            MPI_Send(buf, 1, MPI_BYTE, 1, i, MPI_COMM_WORLD);
        else if (rank == 1)
            MPI_Recv(buf, 1, MPI_BYTE, 0, i, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
    }
    MPI_Finalize();
    free(buf);
    return 0;
}
EOF

cat >sde.yaml <<'EOF'
benchmarks:
  - name: pingpong
    command: [./pingpong, p, "40", "{size}"]
    matrix: {size: [100, 200000]}
    mpi: {ranks: 2, bind-to: none, oversubscribe: true}
    papi: [perf::TASK-CLOCK, sde:::shoal_mpi::msgs_sent,
           sde:::shoal_mpi::bytes_sent, sde:::shoal_mpi::msgs_recv,
           sde:::shoal_mpi::bytes_recv, sde:::shoal_mpi::shm_eager_msgs_sent,
           sde:::shoal_mpi::shm_cma_msgs_sent, sde:::shoal_mpi::ofi_msgs_sent,
           sde:::shoal_mpi::progress_ns]
    repeat: 2
  - name: ofi
    command: [./pingpong, p, "40", "100"]
    env: {SHOAL_MPI_SHM: "0"}
    mpi: {ranks: 2, bind-to: none, oversubscribe: true}
    papi: [sde:::shoal_mpi::ofi_msgs_sent, sde:::shoal_mpi::ofi_bytes_sent,
           sde:::shoal_mpi::ofi_msgs_recv, sde:::shoal_mpi::shm_eager_msgs_sent]
    repeat: 1
  - name: unexpected
    command: [./pingpong, u, "10"]
    mpi: {ranks: 2, bind-to: none, oversubscribe: true}
    papi: [sde:::shoal_mpi::unexpected_msgs]
    repeat: 1
EOF

# shoal's MPI's software-defined events count without a PMU: each rank's
# counts are those of its MPI section, so a ping-pong of 40 messages
# shows 40 sends on each rank, whichever protocol carried them.
if ! grep -q "define HAVE_SDE 1" "$SHOAL_BUILDDIR/config.h"; then
    test_skip 'shoal MPI software-defined events through the preload library' \
        'libmpi was built without libsde'
else
test_expect_success 'shoal MPI software-defined events through the preload library' '
    "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" pingpong.c -o pingpong &&
    "$SHOAL" bench run sde.yaml >sde.out 2>sde.err &&
    cat sde.out sde.err &&
    test ! -s sde.err &&
    id=$(tail -n 1 sde.out) &&
    q "SELECT bench, case_no, rep, replace(event, \"sde:::shoal_mpi::\", \"\"),
       CAST(sum AS INTEGER), CAST(min AS INTEGER), CAST(max AS INTEGER)
       FROM counters WHERE run = $id ORDER BY rowid" >sde &&
    cat sde &&
    for rep in 0 1; do
        grep -x "pingpong|0|$rep|msgs_sent|80|40|40" sde &&
        grep -x "pingpong|0|$rep|bytes_sent|8000|4000|4000" sde &&
        grep -x "pingpong|0|$rep|bytes_recv|8000|4000|4000" sde &&
        grep -x "pingpong|0|$rep|shm_eager_msgs_sent|80|40|40" sde &&
        grep -x "pingpong|0|$rep|ofi_msgs_sent|0|0|0" sde &&
        grep -x "pingpong|1|$rep|msgs_sent|80|40|40" sde &&
        grep -x "pingpong|1|$rep|bytes_sent|16000000|8000000|8000000" sde &&
        grep -x "pingpong|1|$rep|bytes_recv|16000000|8000000|8000000" sde || exit 1
    done &&
    # a message received may be the peer MPI_Finalize'"'"'s, sent after
    # its counts stopped and seen by this rank'"'"'s last receive
    awk -F"|" "\$4 == \"msgs_recv\" && (\$6 < 40 || \$7 > 41) { exit 1 }" sde &&
    # large messages are read from the sender'"'"'s memory once both sides
    # know they may (the first may go through the cells)
    q "SELECT sum(sum) FROM counters WHERE run = $id AND bench = \"pingpong\"
       AND case_no = 1 AND rep = 0 AND event LIKE \"%::shm_%_msgs_sent\"" >big &&
    test "$(cat big)" = 80.0 &&
    awk -F"|" "\$4 == \"progress_ns\" && \$6 <= 0 { exit 1 }
               \$4 == \"perf::TASK-CLOCK\" && \$6 <= 0 { exit 1 }" sde &&
    grep -x "ofi|0|0|ofi_msgs_sent|80|40|40" sde &&
    grep -x "ofi|0|0|ofi_bytes_sent|8000|4000|4000" sde &&
    grep -x "ofi|0|0|shm_eager_msgs_sent|0|0|0" sde &&
    awk -F"|" "\$4 == \"ofi_msgs_recv\" && (\$6 < 40 || \$7 > 41) { exit 1 }" sde &&
    # rank 1 takes the first message as it arrives and finds the other
    # nine queued (and maybe rank 0'"'"'s MPI_Finalize message)
    awk -F"|" "\$1 == \"unexpected\" && \$4 == \"unexpected_msgs\" { n = \$5 }
               END { exit !(n >= 9 && n <= 10) }" sde &&
    "$SHOAL" bench report "$id" >sde.report &&
    cat sde.report &&
    grep "^pingpong .*sde:::shoal_mpi::msgs_sent  *2  *80 " sde.report
'
fi

cat >slow.yaml <<'EOF'
benchmarks:
  - name: nap
    command: [sh, -c, 'sleep $NAP']
    repeat: 6
EOF

test_expect_success 'a run made slower on purpose is flagged as a regression' '
    NAP=0.02 "$SHOAL" bench run slow.yaml >base.out &&
    NAP=0.08 "$SHOAL" bench run slow.yaml >slow.out &&
    base=$(tail -n 1 base.out) && slow=$(tail -n 1 slow.out) &&
    test_expect_code 1 "$SHOAL" bench report "$slow" --vs "$base" \
        --fail-on-regression >cmp 2>cmp.err &&
    cat cmp cmp.err &&
    grep "^nap  *-  *wall .* worse$" cmp &&
    grep "one-sided Mann-Whitney U" cmp &&
    grep "run $slow: 1 figure worse than run $base" cmp.err &&
    "$SHOAL" bench report "$slow" --vs "$base" --format json >cmp.json &&
    python3 -c "
import json, sys
c = json.loads(open(\"cmp.json\").readline())
vs = c[\"figures\"][\"wall\"][\"vs\"]
assert vs[\"verdict\"] == \"worse\" and vs[\"change\"] > 1 and vs[\"p\"] < 0.05, vs
assert vs[\"test\"].startswith(\"Mann-Whitney U\"), vs
" &&
    "$SHOAL" bench report "$base" --vs "$slow" --fail-on-regression >back &&
    grep " better$" back &&
    "$SHOAL" bench report "$base" --vs "$base" --fail-on-regression >same &&
    grep " same$" same
'

cat >plot.yaml <<'EOF'
benchmarks:
  - name: scale
    command: [sh, -c, 'echo "t=$(( {n} * 3 + {k} ))"']
    matrix: {n: [1, 2, 4, 8], k: [0, 5]}
    parse: {regex: 't=(?<t>[0-9.]+)'}
    figures: {t: {unit: us}}
    repeat: 2
  - name: osu
    command: [cat, "$SHOAL_SRCDIR/tests/fixtures/bench/osu_bw.txt"]
    parse: osu
    repeat: 2
EOF

if command -v gnuplot >/dev/null; then
test_expect_success 'plots: SVG and PNG of each figure against its axis' '
    sed "s|\$SHOAL_SRCDIR|$SHOAL_SRCDIR|" plot.yaml >plot2.yaml &&
    id=$("$SHOAL" bench run plot2.yaml | tail -n 1) &&
    "$SHOAL" bench report "$id" --plot plots >/dev/null 2>plot.err &&
    cat plot.err &&
    grep "^shoal: 3 plots in '"'"'plots'"'"'$" plot.err &&
    grep "^set logscale x 2$" plots/scale-t.gp &&
    grep "title \"k=0\"" plots/scale-t.gp &&
    grep "^4 12 12 12$" plots/scale-t.dat &&
    grep "^set xlabel \"size\"" plots/osu-bandwidth.gp &&
    ! grep "logscale" plots/osu-bandwidth.gp &&
    for p in scale-t scale-wall osu-bandwidth; do
        python3 - "plots/$p" <<-\EOF || exit 1
	import struct, sys
	import xml.etree.ElementTree as ET
	svg = ET.parse(sys.argv[1] + ".svg").getroot()
	assert svg.tag == "{http://www.w3.org/2000/svg}svg", svg.tag
	assert (svg.get("width"), svg.get("height")) == ("800", "500"), svg.attrib
	png = open(sys.argv[1] + ".png", "rb").read()
	assert png[:8] == b"\x89PNG\r\n\x1a\n", png[:8]
	assert png[12:16] == b"IHDR" and struct.unpack(">II", png[16:24]) == (800, 500)
	EOF
    done
'
else
test_skip 'plots: SVG and PNG of each figure against its axis' 'no gnuplot'
fi

cat >long.yaml <<'EOF'
benchmarks:
  - name: long
    command: [sleep, "0.4"]
    repeat: 5
EOF

test_expect_success 'an interrupted suite keeps its repetitions and resumes' '
    last=$(q "SELECT max(id) FROM runs") && id=$((last + 1))
    "$SHOAL" bench run long.yaml >long.out 2>long.err &
    pid=$! &&
    for _ in $(seq 100); do
        test "$(q "SELECT count(*) FROM reps WHERE run = $id")" -ge 1 && break
        sleep 0.1
    done &&
    kill -INT $pid &&
    rc=0 && { wait $pid || rc=$?; } &&
    cat long.out long.err &&
    test "$rc" = 130 &&
    grep "shoal bench run --resume $id" long.err &&
    test "$(q "SELECT status FROM runs WHERE id = $id")" = interrupted &&
    done=$(q "SELECT count(*) FROM reps WHERE run = $id") &&
    test "$done" -ge 1 && test "$done" -lt 5 &&
    "$SHOAL" bench run --resume "$id" >resume.out &&
    test "$(tail -n 1 resume.out)" = "$id" &&
    test "$(q "SELECT count(*) FROM reps WHERE run = $id")" = 5 &&
    test "$(q "SELECT status FROM runs WHERE id = $id")" = done
'

cat >precise.yaml <<'EOF'
benchmarks:
  - name: steady
    command: [sh, -c, 'echo t=100']
    parse: {regex: 't=(?<t>[0-9.]+)'}
    precision: {ci: 5%, max: 20, figure: t}
  - name: outlier
    command: [sh, -c, 'n=$(cat o 2>/dev/null || echo 0); echo $((n + 1)) >o; test $n = 1 && echo t=200 || echo t=100']
    parse: {regex: 't=(?<t>[0-9.]+)'}
    precision: {ci: 5%, max: 20, figure: t}
  - name: noisy
    command: [sh, -c, 'n=$(cat c 2>/dev/null || echo 0); echo $((n + 1)) >c; echo t=$((n % 2 * 100 + 50))']
    parse: {regex: 't=(?<t>[0-9.]+)'}
    warmup: 1
    precision: {ci: 5%, max: 8, figure: t}
EOF

test_expect_success 'a target precision repeats until the median is pinned down' '
    rm -f o c &&
    "$SHOAL" bench run precise.yaml >precise.out &&
    id=$(tail -n 1 precise.out) &&
    q "SELECT bench, reps, reached, max, target FROM precision WHERE run = $id" >prec &&
    cat prec &&
    grep "^steady|6|1|20|0.05$" prec &&
    grep "^outlier|9|1|20|0.05$" prec &&
    grep "^noisy|8|0|8|0.05$" prec &&
    test "$(q "SELECT count(*) FROM reps WHERE run = $id AND bench = \"noisy\" AND warmup = 0")" = 8 &&
    test "$(q "SELECT count(*) FROM reps WHERE run = $id AND bench = \"steady\"")" = 6 &&
    "$SHOAL" bench report "$id" >prec.table &&
    cat prec.table &&
    grep "^steady .* t .*(CI within 5%: reached after 6 of at most 20)$" prec.table &&
    grep "^noisy .* t .*(CI within 5%: NOT reached after 8 of at most 8)$" prec.table &&
    ! grep "^steady .* wall .*CI within" prec.table &&
    "$SHOAL" bench report "$id" --format json >prec.json &&
    python3 - prec.json <<-\EOF
	import json, sys
	c = {o["name"]: o for o in map(json.loads, open(sys.argv[1]))}
	assert c["outlier"]["precision"] == {"figure": "t", "target": 0.05,
	    "max": 20, "reps": 9, "reached": True}, c["outlier"]
	assert c["noisy"]["precision"]["reached"] is False, c["noisy"]
	assert c["noisy"]["figures"]["t"]["n"] == 8, c["noisy"]
	EOF
'

test_expect_success '--repeat N overrides a target precision' '
    "$SHOAL" bench run precise.yaml --only steady --repeat 2 >fixed.out &&
    id=$(tail -n 1 fixed.out) &&
    test "$(q "SELECT count(*) FROM reps WHERE run = $id")" = 2 &&
    test "$(q "SELECT count(*) FROM precision WHERE run = $id")" = 0
'

cat >noise.yaml <<'EOF'
benchmarks:
  - name: nap
    command: [sleep, "0.3"]
    warmup: 1
    repeat: 2
    noise: {max-load: 0.5, wait: 1}
EOF

busy() {
    for _ in 1 2 3; do
        test_bg sh -c "while :; do :; done"
    done
}

test_expect_success 'repetitions under a busy loop wait, then are flagged' '
    busy &&
    "$SHOAL" bench run noise.yaml >noise.out &&
    id=$(tail -n 1 noise.out) &&
    test_end_bg &&
    q "SELECT rep, runqueue, others, waited, under_load FROM noise WHERE run = $id" >noise &&
    cat noise &&
    test "$(wc -l <noise)" = 2 &&
    # waited runs to the start of the sample that let the repetition go:
    # the last one may start up to a sample (0.1 s) and a nap (0.25 s)
    # before the wait is over
    awk -F"|" "\$2 < 1 || \$3 < 0.5 || \$4 < 0.6 || \$4 > 2 || \$5 != 1 { exit 1 }" noise &&
    "$SHOAL" bench report "$id" >noise.table &&
    cat noise.table &&
    grep "^nap .* wall .*(2 under load)$" noise.table &&
    grep "^under load: " noise.table &&
    "$SHOAL" bench report "$id" --format json | grep "\"under_load\":2," &&
    "$SHOAL" bench show "$id" nap >noise.show &&
    cat noise.show &&
    test "$(grep -c "run queue .*/CPU, others .* of the CPUs, waited .* s, UNDER LOAD$" noise.show)" = 2 &&
    ! grep "warm-up.*run queue" noise.show
'

cat >noise-wait.yaml <<'EOF'
benchmarks:
  - name: nap
    command: [sleep, "0.01"]
    repeat: 1
    noise: {max-load: 0.5, wait: 3}
EOF

test_expect_success 'the wait for a quiet node is bounded, and ends when the load goes' '
    for _ in 1 2 3; do
        test_bg timeout 1 sh -c "while :; do :; done"
    done &&
    "$SHOAL" bench run noise-wait.yaml >wait.out &&
    id=$(tail -n 1 wait.out) &&
    test_end_bg &&
    q "SELECT waited FROM noise WHERE run = $id" >waited &&
    cat waited &&
    awk "\$1 < 0.8 || \$1 > 3.3 { exit 1 }" waited
'

test_expect_success 'without noise: no noise records, no flags' '
    test "$(q "SELECT count(*) FROM noise WHERE run = 1")" = 0 &&
    "$SHOAL" bench report 1 --format json >plain.json &&
    ! grep under_load plain.json
'

# The shipped suites, small: two repetitions, a few benchmarks each.
suites="$SHOAL_SRCDIR/benchmarks/suites"

# check_report RUN BENCH FIGURE...: the JSON report of RUN parses, BENCH
# has cases, each with every FIGURE and no failure
check_report() {
    run=$1 bench=$2 && shift 2 &&
    "$SHOAL" bench report "$run" --format json >"report.$run.json" &&
    python3 - "report.$run.json" "$bench" "$@" <<-\EOF
	import json, sys
	path, bench, figures = sys.argv[1], sys.argv[2], sys.argv[3:]
	cases = [c for c in map(json.loads, open(path)) if c["name"] == bench]
	assert cases, bench
	for c in cases:
	    assert c["failed"] == 0, c
	    for f in figures:
	        assert c["figures"][f]["n"] >= 2, (f, c)
	        assert c["figures"][f]["median"] > 0, (f, c)
	print(bench, len(cases), "cases")
	EOF
}

test_expect_success 'the shipped MPI suite: ping-pong and allreduce of shoal MPI' '
    test -x "$SHOAL_BUILDDIR/benchmarks/shoal-mpi-bench" &&
    grep "^  bin: \"/" "$SHOAL_BUILDDIR/benchmarks/suites/mpi.yaml" &&
    for b in pingpong allreduce; do
        test_within 120 "$SHOAL" bench run "$SHOAL_BUILDDIR/benchmarks/suites/mpi.yaml" \
            --var bin="$SHOAL_BUILDDIR/benchmarks" --only $b --repeat 2 >mpi.out &&
        id=$(tail -n 1 mpi.out) || exit 1
        case $b in
        pingpong) check_report "$id" pingpong latency_us bandwidth_MBps ;;
        allreduce) check_report "$id" allreduce time_us ;;
        esac || exit 1
        test "$(q "SELECT setting FROM run_vars WHERE run = $id")" = \
            "bin=$SHOAL_BUILDDIR/benchmarks" || exit 1
    done &&
    test "$(q "SELECT count(*) FROM cases WHERE run = $id")" = 6 &&
    q "SELECT c.params FROM reps r JOIN cases c USING (run, bench, case_no)
       WHERE r.run = $id AND r.status = \"ok\"" | sort -u >params &&
    grep "\"ranks\":\"4\"" params &&
    test_expect_code 1 "$SHOAL" bench run "$SHOAL_BUILDDIR/benchmarks/suites/mpi.yaml" \
        --var nope=1 2>err &&
    grep "no variable .nope. in" err &&
    test_expect_code 2 "$SHOAL" bench run --resume "$id" --var bin=/x 2>err
'

test_expect_success 'the shipped launch and task suites' '
    "$SHOAL" bench run "$suites/launch.yaml" --repeat 2 >launch.out &&
    check_report "$(tail -n 1 launch.out)" run-true wall &&
    "$SHOAL" bench run "$suites/tasks.yaml" --repeat 2 >tasks.out &&
    id=$(tail -n 1 tasks.out) &&
    if test -f "$SHOAL_DIR/taskd.pid"; then kill "$(cat "$SHOAL_DIR/taskd.pid")"; fi &&
    check_report "$id" submit-true wall &&
    test "$(q "SELECT count(*) FROM cases WHERE run = $id")" = 2
'

test_expect_success 'the OSU suite without OSU: each benchmark skipped, said clearly' '
    "$SHOAL" bench run "$suites/osu.yaml" --var osu="$TRASH/no-osu" >osu.out 2>osu.err &&
    cat osu.out osu.err &&
    id=$(tail -n 1 osu.out) &&
    test "$(grep -c "^shoal: benchmark .osu_.*. skipped: cannot execute .$TRASH/no-osu/mpi/.*: No such file or directory (it is optional" osu.err)" = 3 &&
    test "$(q "SELECT count(*) FROM reps WHERE run = $id")" = 0 &&
    test "$(q "SELECT status FROM runs WHERE id = $id")" = done
'

test_expect_success 'the store keeps the environment, less what looks secret' '
    MY_API_TOKEN=hush BENCH_NOTE=kept "$SHOAL" bench run nap.yaml >env.out &&
    id=$(tail -n 1 env.out) &&
    test "$(q "SELECT value FROM run_env WHERE run = $id AND name = \"BENCH_NOTE\"")" = kept &&
    test "$(q "SELECT value FROM run_env WHERE run = $id AND name = \"PATH\"")" = "$PATH" &&
    test "$(q "SELECT count(*) FROM run_env WHERE run = $id AND name LIKE \"%TOKEN%\"")" = 0
'

test_done

#!/bin/sh
# SPDX-License-Identifier: MIT
# Application checkpoints end to end: tests/mpi-shim/ckpt_solver.c, built
# with shoal's mpicc and libshoal, run with shoal run (the embedded
# runtime), killed mid-way, and resumed from ./shoal-ckpt with the same
# result as a run that was never interrupted.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/restart.sh"

SOLVER="$TRASH/ckpt_solver"

run() {
    timeout -k 5 60 "$SHOAL" run --oversubscribe "$@"
}

test_expect_success 'the solver builds with shoal mpicc and libshoal' '
    solver_build "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" "$SOLVER"
'

test_expect_success 'an uninterrupted run prints its result and keeps two versions' '
    mkdir whole && cd whole &&
    run -n 2 "$SOLVER" >out &&
    grep -c "^result 300 " out &&
    test "$(wc -l <out)" -eq 1 &&
    tail -n 1 out >"$TRASH/expect-result" &&
    for r in 0 1; do
        ls -d shoal-ckpt/rank$r/v* | sed "s|.*/||" >"$TRASH/versions.$r" &&
        printf "v250\nv275\n" | test_cmp - "$TRASH/versions.$r" &&
        test -f shoal-ckpt/rank$r/v275/COMMITTED &&
        head -n 1 shoal-ckpt/rank$r/v275/MANIFEST | grep -x "shoal-ckpt 1" || return 1
    done
'

test_expect_success 'a run that crashes at step 110 exits non-zero without a result' '
    mkdir crash && cd crash &&
    test_within 30 test_expect_code 3 env SOLVER_CRASH_AT=110 \
        "$SHOAL" run -n 2 "$SOLVER" >out 2>err &&
    ! grep "^result" out &&
    grep "rank 1 on .* exited with status 3" err &&
    test -f shoal-ckpt/rank0/v100/COMMITTED &&
    test -f shoal-ckpt/rank1/v100/COMMITTED &&
    no_strays "$SOLVER"
'

test_expect_success 'run again, it resumes from version 100 with the same result' '
    cd crash &&
    run -n 2 "$SOLVER" >out &&
    echo "resumed from version 100 at step 100" >expect &&
    cat "$TRASH/expect-result" >>expect &&
    test_cmp expect out
'

test_expect_success 'a corrupt newest version is skipped for the one before it' '
    mkdir corrupt && cd corrupt &&
    test_expect_code 3 env SOLVER_CRASH_AT=110 \
        "$SHOAL" run -n 2 "$SOLVER" >out 2>err &&
    for r in 0 1; do
        printf "\377\377\377\377" |
            dd of=shoal-ckpt/rank$r/v100/state bs=1 seek=40 conv=notrunc \
                2>/dev/null || return 1
    done &&
    run -n 2 "$SOLVER" >out &&
    echo "resumed from version 75 at step 75" >expect &&
    cat "$TRASH/expect-result" >>expect &&
    test_cmp expect out
'

test_expect_success 'on one rank, interrupted and resumed, the result is the same' '
    mkdir one && cd one &&
    run -n 1 "$SOLVER" 300 7 >whole &&
    rm -rf shoal-ckpt &&
    test_expect_code 3 env SOLVER_CRASH_AT=150 \
        "$SHOAL" run -n 1 "$SOLVER" 300 7 >out 2>err &&
    run -n 1 "$SOLVER" 300 7 >out &&
    echo "resumed from version 147 at step 147" >expect &&
    cat whole >>expect &&
    test_cmp expect out
'

test_expect_success 'under shoal run --checkpoint the crashed solver is restarted by itself' '
    mkdir auto && cd auto &&
    SOLVER_CRASH_AT=110 run -n 2 --checkpoint --checkpoint-dir ck \
        "$SOLVER" >out 2>err &&
    cat err out &&
    grep "shoal: restarting from checkpoint version 100 (restart 1 of 3)" err &&
    echo "resumed from version 100 at step 100" >expect &&
    cat "$TRASH/expect-result" >>expect &&
    test_cmp expect out &&
    ! test -e ck
'

test_expect_success 'with --checkpoint=auto shoal run asks for checkpoints at Daly'"'"'s interval' '
    mkdir autoint && cd autoint &&
    test_expect_code 124 env SOLVER_STEP_MS=20 SHOAL_CKPT_MIN_INTERVAL=1 \
        SHOAL_CKPT_MTBF=30 "$SHOAL" run -n 2 --oversubscribe --timeout 6 \
        --checkpoint=auto --checkpoint-dir ck "$SOLVER" 100000 100000 \
        >out 2>err &&
    "$SHOAL" ckpt ls ck >ls.out &&
    cat ls.out &&
    grep "^  checkpoint every [0-9]* s (auto: Daly.s optimum for a checkpoint cost of [0-9.]* s and an MTBF of 30 s, from SHOAL_CKPT_MTBF (no pool))" ls.out &&
    "$SHOAL" ckpt ls --json ck >ls.json &&
    python3 -c "
import json, math
r = json.load(open(\"ls.json\"))
iv = r[\"interval\"]
c, m, t = iv[\"cost\"], iv[\"mtbf\"], iv[\"interval\"]
assert m == 30 and c >= 0, iv
want = math.sqrt(2 * c * m) * (1 + math.sqrt(c / (2 * m)) / 3 + c / (18 * m)) - c
assert abs(t - max(1, want)) < 0.1, (t, want)
# K is 100000: every version there was asked for by the runtime
assert r[\"version\"] > 0, r
"
'

if test -n "$MPICC_MPICH"; then
    test_expect_success 'the same solver built with MPICH, restarted by shoal run' '
        # in the sanitized build: what MPICH leaves allocated at exit is
        # not ours to free
        export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" &&
        solver_build "$MPICC_MPICH" "$SOLVER.mpich" &&
        mkdir mpich && cd mpich &&
        SOLVER_CRASH_AT=110 run -n 2 --checkpoint --checkpoint-dir ck \
            "$SOLVER.mpich" >out 2>err &&
        cat err out &&
        grep "shoal: restarting from checkpoint version 100 (restart 1 of 3)" err &&
        echo "resumed from version 100 at step 100" >expect &&
        cat "$TRASH/expect-result" >>expect &&
        test_cmp expect out
    '
else
    test_skip 'the same solver built with MPICH, restarted by shoal run' \
        'no MPICH mpicc'
fi

test_done

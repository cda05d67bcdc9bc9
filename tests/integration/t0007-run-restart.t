#!/bin/sh
# SPDX-License-Identifier: MIT
# shoal run --checkpoint / --restart-on-failure on the embedded runtime: a
# failed rank restarts the job from the newest version every rank
# committed; damaged versions are passed over and named; restarts are
# bounded; what restarting cannot mend (a timeout, ^C) is not restarted.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

COUNT="$SHOAL_SRCDIR/tests/fixtures/ckpt-count.sh"
export SHOAL_POOL=no

test_expect_success 'without checkpoints, --restart-on-failure runs the job again from the start' '
    rm -f steps.* &&
    "$SHOAL" run -n 2 --restart-on-failure "$COUNT" 8 1 2 >out 2>err &&
    cat err &&
    grep "rank 1 on .* exited with status 3" err &&
    grep "shoal: restarting from the beginning (restart 1 of 3)" err &&
    test "$(grep -c "counted to 8" out)" = 2 &&
    test "$(wc -l <steps.1)" = 10
'

test_expect_success 'with --checkpoint a failed rank restarts the job from its last version' '
    rm -f steps.* &&
    "$SHOAL" run -n 3 --oversubscribe --checkpoint=1 --checkpoint-dir ck \
        "$COUNT" 12 1 6 >out 2>err &&
    cat err out &&
    grep "shoal: restarting from checkpoint version [6-9] (restart 1 of 3)" err &&
    test "$(grep -c "resumes after step [6-9]" out)" = 3 &&
    test "$(grep -c "counted to 12" out)" = 3 &&
    # the others went on while the rank failed: a few steps done again
    for r in 0 1 2; do test "$(wc -l <steps.$r)" -le 16 || exit 1; done &&
    # done: its checkpoints are gone, and the default place with them
    ! test -e ck
'

test_expect_success 'a damaged version is not restored: the one before is, and the user is told' '
    rm -f steps.* &&
    CKPT_COUNT_MANIFEST=1 CKPT_COUNT_DAMAGE=1 \
        "$SHOAL" run -n 2 --checkpoint --checkpoint-dir ck "$COUNT" 8 0 4 \
        >out 2>err &&
    cat err out &&
    grep "shoal: checkpoint version 4 is not restored: rank 0.s copy does not match its manifest" err &&
    grep "shoal: restarting from checkpoint version 3 (restart 1 of 3)" err &&
    test "$(grep -c "counted to 8" out)" = 2
'

# zombie.sh: each rank counts to 20, committing each step (rank 1 is
# still far from done when rank 0 fails after step 9). In the first
# run rank 1 leaves behind a process that keeps writing versions holding
# 666 into its checkpoint directory (a rank of an old run still alive, as
# on a host cut off), then fails after step 4; in the second run rank 0
# fails after step 9. No run may restore what the leftover wrote.
cat >zombie.sh <<\EOF
#!/bin/sh
i=0
[ "$SHOAL_CKPT_RESTART" = 1 ] && i=$(cat "$SHOAL_CKPT_DIR/v$SHOAL_CKPT_VERSION/count")
[ "$i" -gt 0 ] && echo "rank $SHOAL_RANK resumes after step $i"
[ "$i" -gt 20 ] && { echo "rank $SHOAL_RANK restored $i, an old run's"; exit 9; }
if [ "$SHOAL_RANK" = 1 ] && [ "$SHOAL_RESTART_COUNT" = 0 ]; then
    setsid sh -c 'echo $$ >zombie.pid
        # once the job runs again without it, as a rank cut off would
        n=0
        while ! test -d "${0%/run0/rank1}/run1" && [ $n -lt 200 ]; do
            sleep 0.05; n=$((n + 1))
        done
        for k in $(seq 30); do
            for v in $(seq 22); do
                mkdir -p "$0/v$v" && echo 666 >"$0/v$v/count" &&
                    : >"$0/v$v/COMMITTED"
            done 2>/dev/null
            sleep 0.1
        done' "$SHOAL_CKPT_DIR" </dev/null >/dev/null 2>&1 &
fi
while [ "$i" -lt 20 ]; do
    i=$((i + 1))
    sleep 0.2
    v="$SHOAL_CKPT_DIR/v$i"
    mkdir -p "$v" && echo "$i" >"$v/count" && : >"$v/COMMITTED" || exit 1
    if { [ "$SHOAL_RANK" = 1 ] && [ "$SHOAL_RESTART_COUNT" = 0 ] && [ $i = 4 ]; } ||
        { [ "$SHOAL_RANK" = 0 ] && [ "$SHOAL_RESTART_COUNT" = 1 ] && [ $i = 9 ]; }; then
        sleep 0.5
        exit 3
    fi
done
echo "rank $SHOAL_RANK counted to $i"
EOF
chmod +x zombie.sh

test_expect_success 'what a rank of an earlier run still writes is never restored' '
    "$SHOAL" run -n 2 --checkpoint --checkpoint-dir zk ./zombie.sh >out 2>err;
    rc=$? &&
    while kill -0 "$(cat zombie.pid)" 2>/dev/null; do sleep 0.1; done &&
    cat err out &&
    test "$rc" = 0 &&
    test "$(grep -c "restarting from checkpoint version" err)" = 2 &&
    ! grep "an old run" out &&
    test "$(grep -c "counted to 20" out)" = 2
'

test_expect_success 'a rank that never commits holds the job at the beginning, and says so' '
    "$SHOAL" run -n 2 --checkpoint --checkpoint-dir nc --max-restarts 1 \
        sh -c "if [ \$SHOAL_RANK = 0 ]; then
                   for v in 1 2 3; do mkdir -p \$SHOAL_CKPT_DIR/v\$v &&
                       : >\$SHOAL_CKPT_DIR/v\$v/COMMITTED; done
               fi
               [ \$SHOAL_RESTART_COUNT = 0 ] && sleep 0.5 && exit 4
               echo rank \$SHOAL_RANK restart=\$SHOAL_CKPT_RESTART" \
        >out 2>err &&
    cat err out &&
    grep "shoal: restarting from the beginning (no checkpoint committed by every rank yet) (restart 1 of 1)" err &&
    test "$(grep -c "restart=0" out)" = 2
'

test_expect_success 'restarts are bounded; the last run says how the job ended' '
    test_expect_code 5 "$SHOAL" run -n 2 --restart-on-failure --max-restarts 2 \
        sh -c "exit 5" 2>err &&
    cat err &&
    test "$(grep -c "restarting from the beginning" err)" = 2 &&
    grep "shoal: not restarting: --max-restarts 2 reached" err
'

# ask.sh: commit the next version (HTCondor-style), then exit 85 (or
# $ASK_CODE) to be restarted from it, until version 3.
cat >ask.sh <<\EOF
#!/bin/sh
v=${SHOAL_CKPT_VERSION:-0}
[ "$v" -ge 3 ] && { echo "rank $SHOAL_RANK finished at version $v"; exit 0; }
n=$((v + 1))
mkdir -p "$SHOAL_CKPT_DIR/v$n" && : >"$SHOAL_CKPT_DIR/v$n/COMMITTED"
sleep 0.5 # the first rank to exit ends the job: let every rank commit
exit ${ASK_CODE:-85}
EOF
chmod +x ask.sh

test_expect_success 'a rank exiting with the checkpoint exit code restarts without using one up' '
    "$SHOAL" run -n 2 --checkpoint --checkpoint-dir ck --max-restarts 0 \
        ./ask.sh >out 2>err &&
    cat err out &&
    test "$(grep -c "as a rank asked (exit status 85)" err)" = 3 &&
    test "$(grep -c "finished at version 3" out)" = 2 &&
    ASK_CODE=86 "$SHOAL" run -n 1 --checkpoint --checkpoint-exit-code 86 \
        --max-restarts 0 --checkpoint-dir ck ./ask.sh 2>err &&
    grep "as a rank asked (exit status 86)" err
'

test_expect_success 'asking for a restart without a new version is a failure' '
    test_expect_code 85 "$SHOAL" run -n 1 --checkpoint --checkpoint-dir ck \
        --max-restarts 1 sh -c "exit 85" 2>err &&
    cat err &&
    grep "restarting from the beginning .* (restart 1 of 1)" err &&
    grep "not restarting: --max-restarts 1 reached" err
'

test_expect_success 'a timeout is not restarted, and the checkpoints are kept' '
    test_expect_code 124 "$SHOAL" run -n 1 --timeout 1 --checkpoint \
        --checkpoint-dir ck3 sleep 30 2>err &&
    cat err &&
    ! grep restarting err &&
    grep "shoal: checkpoints kept in .*/ck3/.*/run0$" err
'

test_expect_success 'shoal ckpt ls shows what a job kept; rm removes it, and only job roots' '
    test_expect_code 124 "$SHOAL" run -n 2 --timeout 3 --checkpoint \
        --checkpoint-dir kept "$COUNT" 100 2>/dev/null &&
    job=$(ls -d kept/*) && root=$job/run0 &&
    "$SHOAL" ckpt ls kept >ls.out &&
    cat ls.out &&
    grep "^$root$" ls.out &&
    grep "^  restart from version [1-9][0-9]* (committed by every rank)" ls.out &&
    grep "^  rank1 *[0-9]* *committed *2 *[0-9]* B" ls.out &&
    grep "(kept)" ls.out &&
    "$SHOAL" ckpt ls --json "$root" >ls.json &&
    python3 -c "
import json, sys
r = json.load(open(\"ls.json\"))
names = [m[\"name\"] for m in r[\"members\"]]
assert names == [\"rank0\", \"rank1\"], names
v = r[\"version\"]
assert v > 0
for m in r[\"members\"]:
    vs = [x[\"version\"] for x in m[\"versions\"] if x[\"committed\"]]
    assert v in vs, (v, vs)
    # retention: at most two committed versions before the job-wide one
    assert len([x for x in vs if x < v]) <= 2, vs
" &&
    test_expect_code 1 "$SHOAL" ckpt rm kept 2>err &&
    grep "not removed: .kept. holds no job.s checkpoints" err &&
    test -d "$root" &&
    "$SHOAL" ckpt rm "$job" &&
    ! test -e "$job" &&
    "$SHOAL" ckpt ls kept >ls.out &&
    grep "no checkpoints in kept" ls.out &&
    test_expect_code 2 "$SHOAL" ckpt frob 2>err &&
    grep "unknown subcommand .frob." err
'

test_expect_success 'bad checkpoint options are usage errors' '
    test_expect_code 2 "$SHOAL" run --checkpoint=0 true 2>err &&
    grep "invalid checkpoint interval .0." err &&
    test_expect_code 2 "$SHOAL" run --max-restarts -1 true 2>err &&
    grep "invalid number of restarts" err &&
    test_expect_code 2 "$SHOAL" run --checkpoint-exit-code 0 true 2>err &&
    grep "invalid checkpoint exit code" err &&
    test_expect_code 2 "$SHOAL" run --checkpoint-dir "" true 2>err
'

test_done

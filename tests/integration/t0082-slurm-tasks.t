#!/bin/sh
# SPDX-License-Identifier: MIT
# Bag-of-tasks jobs inside allocations of a real Slurm cluster of two nodes
# (slurm.sh): shoal submit, wait and results in a batch script and under
# salloc complete with every result exactly once. The tasks run on the
# node where they were submitted: spreading them over the allocation is
# not done yet (README, "On a Slurm cluster").
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/slurm.sh"

slurm_setup_or_skip

export SHOAL_DIR="$TRASH/node"
# the task service ends soon after its last job, or with the allocation
export SHOAL_TASKD_IDLE_EXIT=5

# check_results FILE N: N tasks, each done once with its own line
check_results() {
    awk -F, 'NR > 1 && $3 == "done"' "$1" | wc -l >n &&
    test "$(cat n)" = "$2" &&
    awk -F, 'NR > 1 { print $1 }' "$1" | sort -n | uniq -d >dups &&
    test ! -s dups &&
    awk -F, 'NR > 1 { print $4 }' "$1" | sort -u | wc -l >nodes &&
    test "$(cat nodes)" = 1
}

cat >tasks.sh <<SH
#!/bin/sh
set -e
id=\$("$SHOAL" submit --range 1-300 -- sh -c 'echo task {} \$SHOAL_TASK_ID')
"$SHOAL" wait "\$id"
"$SHOAL" results "\$id" --csv >"\$1"
for i in 0 149 299; do "$SHOAL" output "\$id" \$i; done >"\$1.out"
SH
chmod +x tasks.sh

test_expect_success 'shoal submit in a batch script: every result once' '
    timeout -k 5 120 sbatch --wait -N2 -n4 -o batch.log \
        ./tasks.sh "$TRASH/batch.csv" </dev/null &&
    cat batch.log &&
    check_results batch.csv 300 &&
    printf "task %d %d\n" 1 0 150 149 300 299 >expect &&
    test_cmp expect batch.csv.out
'

test_expect_success 'shoal submit under salloc: every result once' '
    SHOAL_DIR="$TRASH/node2" timeout -k 5 120 salloc --quiet -N2 -n4 \
        ./tasks.sh "$TRASH/salloc.csv" </dev/null &&
    check_results salloc.csv 300 &&
    printf "task %d %d\n" 1 0 150 149 300 299 >expect &&
    test_cmp expect salloc.csv.out
'

test_done

#!/bin/sh
# SPDX-License-Identifier: MIT
# Bag-of-tasks jobs inside allocations of a real Slurm cluster of two nodes
# (slurm.sh): shoal submit starts a pool over the allocated nodes (a home
# daemon keeping the journal in SHOAL_DIR, one daemon per node through
# srun) that lasts as long as the allocation; the nodes pull the tasks,
# every result is recorded exactly once, and when the allocation ends the
# pool is gone and the journal stays, with a copy of every task's output
# (the home fetches it from the node as the result comes in).
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/slurm.sh"

slurm_setup_or_skip

export SHOAL_DIR="$TRASH/node"
# the task service ends soon after its last job, or with the allocation
export SHOAL_TASKD_IDLE_EXIT=5
export TMPDIR="$TRASH/tmp"
mkdir -p "$TMPDIR"

# check_results FILE N: N tasks, each done once with its own line, on
# the two nodes
check_results() {
    awk -F, 'NR > 1 && $3 == "done"' "$1" | wc -l >n &&
    test "$(cat n)" = "$2" &&
    awk -F, 'NR > 1 { print $1 }' "$1" | sort -n | uniq -d >dups &&
    test ! -s dups &&
    awk -F, 'NR > 1 { print $4 }' "$1" | sort -u | wc -l >nodes &&
    test "$(cat nodes)" = 2
}

# pool_gone DIR: the allocation's pool ended with it, leaving the journal
pool_gone() {
    for _ in $(seq 100); do
        test ! -e "$1/daemon.pid" && test -z "$(ls "$TMPDIR")" &&
            ! pgrep -f "slurm-node .*$TRASH" >/dev/null && break
        sleep 0.1
    done
    test ! -e "$1/daemon.pid" && test ! -e "$1/control.sock" &&
        test -z "$(ls "$TMPDIR")" && no_strays "slurm-node .*$TRASH"
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
    { timeout -k 5 120 sbatch --wait -N2 -n4 -o batch.log \
        ./tasks.sh "$TRASH/batch.csv" </dev/null || {
        cat batch.log; slurm_say_why; }; } &&
    cat batch.log &&
    check_results batch.csv 300 &&
    printf "task %d %d\n" 1 0 150 149 300 299 >expect &&
    test_cmp expect batch.csv.out && pool_gone "$SHOAL_DIR"
'

test_expect_success 'shoal submit under salloc: every result once' '
    { SHOAL_DIR="$TRASH/node2" timeout -k 5 120 salloc --quiet -N2 -n4 \
        ./tasks.sh "$TRASH/salloc.csv" </dev/null || slurm_say_why; } &&
    check_results salloc.csv 300 &&
    printf "task %d %d\n" 1 0 150 149 300 299 >expect &&
    test_cmp expect salloc.csv.out && pool_gone "$TRASH/node2"
'

test_expect_success 'the journal and the output outlive the allocation' '
    SHOAL_DIR="$TRASH/node2" "$SHOAL" results 1 --csv >after.csv &&
    test_cmp salloc.csv after.csv &&
    awk -F, "NR > 1 { print \$9 }" after.csv >paths &&
    test "$(wc -l <paths)" = 300 &&
    for p in $(cat paths); do
        case $p in "$TRASH/node2/slurm-nodes/node-node"[12]/*) ;; *) exit 1 ;; esac
    done &&
    cat $(cat paths) | sort -u | wc -l >n && test "$(cat n)" = 300
'

# the nodes' directories may be on disks this machine does not see (a
# SHOAL_DIR that is not shared): the home copied every task's output as
# its result came in
test_expect_success 'the output is read after the allocation from the home alone' '
    rm -rf "$TRASH/node2/slurm-nodes" &&
    for i in 0 149 299; do
        SHOAL_DIR="$TRASH/node2" "$SHOAL" output 1 $i || exit 1
    done >after.out &&
    printf "task %d %d\n" 1 0 150 149 300 299 >expect &&
    test_cmp expect after.out &&
    ls "$TRASH/node2/output/1" | grep -c "\.out\$" >n && echo 300 >expect &&
    test_cmp expect n &&
    ls "$SHOAL_DIR/output/1" | grep -c "\.err\$" >n && test_cmp expect n
'

test_expect_success 'shoal run in the allocation uses the pool shoal submit made' '
    cat >both.sh <<-SH &&
	#!/bin/sh
	"$SHOAL" submit --range 1-2 -- true >/dev/null &&
	"$SHOAL" run -n 4 sh -c "echo \\\$SLURMD_NODENAME"
	SH
    chmod +x both.sh &&
    SHOAL_DIR="$TRASH/node3" timeout -k 5 120 salloc --quiet -N2 -n4 \
        ./both.sh </dev/null | sort | uniq -c | awk "{print \$2, \$1}" >out &&
    printf "node1 2\nnode2 2\n" >expect && test_cmp expect out &&
    pool_gone "$TRASH/node3"
'

test_done

#!/bin/sh
# SPDX-License-Identifier: MIT
# shoal run places and binds ranks only on the CPUs Slurm gives the step.
# The cluster of slurm.sh runs each slurmd under `taskset -c 1`
# (SLURMD_CPUS), so every step of the allocation, shoal's daemons' too,
# may run on CPU 1 alone, as a step Slurm binds (task/affinity,
# task/cgroup) may run on its CPUs alone; the nodes still say they have
# two. A daemon that ignored that would bind the first rank of each node
# to CPU 0.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/slurm.sh"

if [ "$(getconf _NPROCESSORS_ONLN)" -lt 2 ]; then
    test_skip 'binding within the step'"'"'s CPUs' 'one CPU: no CPU to leave out'
    test_done
    exit 0
fi
SLURMD_CPUS=1
slurm_setup_or_skip

export TMPDIR="$TRASH/tmp"
mkdir -p "$TMPDIR"

alloc() {
    timeout -k 5 60 salloc --quiet "$@" </dev/null
}

cat >cpus.sh <<'SH'
#!/bin/sh
echo "$SLURMD_NODENAME $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)"
SH
chmod +x cpus.sh

test_expect_success 'the steps of this cluster run on CPU 1 alone' '
    alloc -N2 -n2 srun ./cpus.sh | sort >out &&
    printf "node1 1\nnode2 1\n" >expect && test_cmp expect out
'

test_expect_success 'one rank per node, bound to the step'"'"'s CPU and reported so' '
    alloc -N2 -n2 "$SHOAL" run -n 2 --bind-to core --report-bindings \
        ./cpus.sh >out 2>err &&
    sort out >sorted && printf "node1 1\nnode2 1\n" >expect &&
    test_cmp expect sorted &&
    grep "^\[node1\] rank 0 bound to PUs 1 " err &&
    grep "^\[node2\] rank 1 bound to PUs 1 " err
'

test_expect_success 'more ranks than the step'"'"'s cores: refused, or sharing its CPU' '
    test_expect_code 1 alloc -N2 -n4 "$SHOAL" run -n 4 true 2>err &&
    grep "not enough slots: 4 ranks requested but only 2 slots" err &&
    alloc -N2 -n4 "$SHOAL" run -n 4 --oversubscribe ./cpus.sh | sort >out &&
    printf "node1 1\nnode1 1\nnode2 1\nnode2 1\n" >expect && test_cmp expect out
'

test_done

# SPDX-License-Identifier: MIT
# slurm.sh - a real Slurm cluster of two nodes on this machine, for the
# tests that run shoal inside allocations. Source it after lib.sh.
#
#   slurm_setup_or_skip   start munged, slurmctld and two slurmd (nodes
#                         node1 and node2, 2 CPUs each) in $TRASH/slurm,
#                         wait until both nodes are idle; on failure record
#                         a skipped test with the reason and end the file
#   slurm_teardown        stop every daemon it started, by pid (also on
#                         exit)
#
# SLURMD_CPUS=LIST (set before slurm_setup_or_skip) starts each slurmd
# under `taskset -c LIST`: every step then runs on those CPUs alone, as
# when Slurm binds a step (task/affinity, task/cgroup), which the
# task/none plugin these machines allow cannot do; the nodes still say
# CPUs=2 (SlurmdParameters=config_overrides).
#
# Everything lives in $SLURM_TOP: slurm.conf (exported as SLURM_CONF, so
# salloc, srun, sbatch and sinfo find this cluster and no other), the
# munge key, socket and logs, the controller's state and each node's spool
# and TmpFS. Ports are loopback ports nothing else listens on, reserved by
# a lock directory per base port in ${TMPDIR:-/tmp}, so tests running side
# by side get clusters of their own.
#
# What these machines need (found by trying): the cgroup plugins cannot
# run (no freezer controller), so proctrack/linuxproc and task/none; munged
# runs as the munge user, in a directory of mode 755 it owns; several
# slurmd on one host each need a Port= of their own, `slurmd -N NAME` and
# a TmpFS of their own; KillOnBadExit=1 so a failed rank ends its step.
# srun can exit 0 after a failed launch: tests check the output as well.
# Give srun </dev/null in loops, or it eats the loop's input.

SLURM_TOP="$TRASH/slurm"
SLURM_PIDS=
SLURM_PORTLOCK=
slurm_skip_reason=

# slurm_pick_ports: SLURM_PORT, a base port with it and the two above free
# on loopback, reserved by a lock directory (taken over when its holder is
# gone).
slurm_pick_ports() {
    local base lock tries used
    tries=0
    used=$(ss -Htan 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    while [ $tries -lt 50 ]; do
        tries=$((tries + 1))
        base=$((20000 + ($$ * 7 + tries * 131) % 9000))
        echo "$used" | grep -qx -e "$base" -e "$((base + 1))" \
            -e "$((base + 2))" && continue
        lock="${TMPDIR:-/tmp}/shoal-slurm-port.$base"
        if ! mkdir "$lock" 2>/dev/null; then
            holder=$(cat "$lock/pid" 2>/dev/null)
            [ -n "$holder" ] && kill -0 "$holder" 2>/dev/null && continue
            rm -rf "$lock"
            mkdir "$lock" 2>/dev/null || continue
        fi
        echo $$ >"$lock/pid"
        SLURM_PORTLOCK=$lock
        SLURM_PORT=$base
        return 0
    done
    slurm_skip_reason="no free loopback ports for slurmctld and slurmd"
    return 1
}

slurm_write_conf() {
    cat >"$SLURM_TOP/slurm.conf" <<CONF
ClusterName=shoaltest$$
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$SLURM_PORT
SlurmdPort=$((SLURM_PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_TOP/munge/munge.socket
StateSaveLocation=$SLURM_TOP/ctld
SlurmdSpoolDir=$SLURM_TOP/spool/%n
SlurmctldPidFile=$SLURM_TOP/slurmctld.pid
SlurmdPidFile=$SLURM_TOP/slurmd.%n.pid
SlurmctldLogFile=$SLURM_TOP/slurmctld.log
SlurmdLogFile=$SLURM_TOP/slurmd.%n.log
TmpFS=$SLURM_TOP/tmp/%n
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
KillOnBadExit=1
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=10
KillWait=2
Waittime=0
SlurmctldDebug=info
SlurmdDebug=info
${SLURMD_CPUS:+SlurmdParameters=config_overrides}
NodeName=node1 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$((SLURM_PORT + 1)) CPUs=2 State=UNKNOWN
NodeName=node2 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$((SLURM_PORT + 2)) CPUs=2 State=UNKNOWN
PartitionName=test Nodes=node1,node2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
}

# slurm_wait_pidfile FILE SECONDS: the pid a daemon wrote to FILE.
slurm_wait_pidfile() {
    local end
    end=$(($(date +%s) + $2))
    while [ ! -s "$1" ]; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.1
    done
    cat "$1"
}

slurm_setup() {
    local c pid end state
    slurm_skip_reason=
    if [ "$(id -u)" != 0 ]; then
        slurm_skip_reason="not root: slurmd and munged need root"
        return 1
    fi
    for c in munged slurmctld slurmd srun salloc sbatch sinfo ss ${SLURMD_CPUS:+taskset}; do
        PATH="$PATH:/usr/sbin:/sbin" command -v $c >/dev/null 2>&1 || {
            slurm_skip_reason="no '$c' command (packages munge, slurmctld, slurmd, slurm-client)"
            return 1
        }
    done
    id munge >/dev/null 2>&1 || {
        slurm_skip_reason="no 'munge' user (package munge)"
        return 1
    }
    slurm_pick_ports || return 1
    trap 'slurm_teardown; rm -rf "$TRASH"' EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # munged checks that its directories are not writable by others and
    # that every directory above them is not either
    chmod 755 "$TRASH"
    mkdir -p "$SLURM_TOP/munge" "$SLURM_TOP/ctld" "$SLURM_TOP/spool" \
        "$SLURM_TOP/tmp/node1" "$SLURM_TOP/tmp/node2"
    chmod 755 "$SLURM_TOP" "$SLURM_TOP/munge"
    chmod 1777 "$SLURM_TOP/tmp/node1" "$SLURM_TOP/tmp/node2"
    dd if=/dev/urandom of="$SLURM_TOP/munge/munge.key" bs=1024 count=1 \
        2>/dev/null
    chmod 400 "$SLURM_TOP/munge/munge.key"
    chown -R munge:munge "$SLURM_TOP/munge"
    PATH="$PATH:/usr/sbin:/sbin" runuser -u munge -- munged \
        --key-file="$SLURM_TOP/munge/munge.key" \
        --socket="$SLURM_TOP/munge/munge.socket" \
        --pid-file="$SLURM_TOP/munge/munged.pid" \
        --log-file="$SLURM_TOP/munge/munged.log" \
        --seed-file="$SLURM_TOP/munge/munged.seed" \
        2>"$SLURM_TOP/munged.err" || {
        slurm_skip_reason="munged does not start: $(cat "$SLURM_TOP/munged.err" "$SLURM_TOP/munge/munged.log" 2>/dev/null | tail -3)"
        return 1
    }
    pid=$(slurm_wait_pidfile "$SLURM_TOP/munge/munged.pid" 10) || {
        slurm_skip_reason="munged wrote no pid file"
        return 1
    }
    SLURM_PIDS="$pid"
    slurm_write_conf
    SLURM_CONF="$SLURM_TOP/slurm.conf"
    export SLURM_CONF
    # nothing of an outer allocation leaks into the tests' jobs
    unset SLURM_JOB_ID SLURM_JOBID SLURM_JOB_NODELIST SLURM_NODELIST \
        SLURM_TASKS_PER_NODE SLURM_JOB_CPUS_PER_NODE SLURM_STEP_ID \
        SLURM_NTASKS SLURM_NNODES SLURM_JOB_NUM_NODES
    /usr/sbin/slurmctld -i 2>"$SLURM_TOP/slurmctld.err" || {
        slurm_skip_reason="slurmctld does not start: $(tail -3 "$SLURM_TOP/slurmctld.log" "$SLURM_TOP/slurmctld.err" 2>/dev/null)"
        return 1
    }
    pid=$(slurm_wait_pidfile "$SLURM_TOP/slurmctld.pid" 10) || {
        slurm_skip_reason="slurmctld wrote no pid file: $(tail -3 "$SLURM_TOP/slurmctld.log" 2>/dev/null)"
        return 1
    }
    SLURM_PIDS="$SLURM_PIDS $pid"
    for n in node1 node2; do
        ${SLURMD_CPUS:+taskset -c "$SLURMD_CPUS"} /usr/sbin/slurmd -N $n \
            2>"$SLURM_TOP/slurmd.$n.err" || {
            slurm_skip_reason="slurmd -N $n does not start: $(tail -3 "$SLURM_TOP/slurmd.$n.log" "$SLURM_TOP/slurmd.$n.err" 2>/dev/null)"
            return 1
        }
        pid=$(slurm_wait_pidfile "$SLURM_TOP/slurmd.$n.pid" 10) || {
            slurm_skip_reason="slurmd -N $n wrote no pid file"
            return 1
        }
        SLURM_PIDS="$SLURM_PIDS $pid"
    done
    end=$(($(date +%s) + 30))
    while :; do
        state=$(sinfo -h -N -o '%N %t' 2>/dev/null | sort | tr '\n' ' ')
        [ "$state" = "node1 idle node2 idle " ] && return 0
        if [ "$(date +%s)" -ge "$end" ]; then
            slurm_skip_reason="the nodes are not idle after 30 s: '$state'; $(tail -2 "$SLURM_TOP/slurmctld.log")"
            return 1
        fi
        sleep 0.2
    done
}

# slurm_say_why: what Slurm logged last, for a test that failed in a job
# (sbatch and salloc say little of a job that hung or was ended).
slurm_say_why() {
    squeue -h -o '%i %T %r' 2>/dev/null | sed 's/^/squeue: /'
    tail -n 15 "$SLURM_TOP/slurmctld.log" "$SLURM_TOP"/slurmd.node?.log \
        2>/dev/null
    return 1
}

# Stop the daemons (nodes first, munged last) and wait for each to be gone.
slurm_teardown() {
    local p pids
    pids=
    for p in $SLURM_PIDS; do pids="$p $pids"; done
    for p in $pids; do
        kill -TERM "$p" 2>/dev/null || continue
        for _ in $(seq 100); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null
    done
    SLURM_PIDS=
    [ -n "$SLURM_PORTLOCK" ] && rm -rf "$SLURM_PORTLOCK"
    SLURM_PORTLOCK=
}

slurm_setup_or_skip() {
    if ! slurm_setup; then
        slurm_teardown
        test_skip "tests inside a Slurm allocation" "$slurm_skip_reason"
        test_done
        exit
    fi
}

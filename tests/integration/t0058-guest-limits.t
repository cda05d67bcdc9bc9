#!/bin/sh
# SPDX-License-Identifier: MIT
# Guest jobs' limits: each job runs in a cgroup of its own under the
# daemon's (its ranks and tasks in it, its cpuset the granted PUs), a job
# that touches more memory than --guest-memory is ended with a message
# naming the limit while one under it passes, tasks run at nice 10 in the
# idle I/O class and a task over the limit fails with the reason, and
# every job's cgroup is gone once the job is.
#
# The memory and cpuset parts need those cgroup controllers usable here
# (v1 or v2, as root or with a delegation); where the daemon says one is
# not enforced, its tests are skipped with the daemon's reason.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

PORT=$((25000 + ($$ % 2000)))
export SHOAL_SPEED=1000 SHOAL_DIR="$TRASH/d1"
unset SHOAL_TOPOLOGY
"$SHOAL" keygen -o "$TRASH/pool.key"

stop_all() {
    for d in "$TRASH/d1" "$TRASH/d2" "$TRASH/d3"; do
        [ -f "$d/daemon.pid" ] && kill -TERM "$(cat "$d/daemon.pid")" 2>/dev/null
    done
    sleep 1
    for d in "$TRASH/d1" "$TRASH/d2" "$TRASH/d3"; do
        [ -f "$d/daemon.pid" ] && kill -KILL "$(cat "$d/daemon.pid")" 2>/dev/null
    done
    rm -rf "$TRASH"
}
trap stop_all EXIT

wait_until() {
    deadline=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# guest_stat KEY: the daemon's guest stats
guest_stat() {
    "$SHOAL" status --stats --json | python3 -c '
import json, sys; print(json.load(sys.stdin)["guest"][sys.argv[1]])' "$1"
}

# the daemon counts a job's OOM kills once the job's cgroup is removed
oom_counted() { test "$(guest_stat oom_kills)" -ge 1; }

# A program that reports where it runs (its cgroups, its cpuset's cpus,
# its own binding, its nice value), then touches MiB of memory.
cat >"$TRASH/hog.py" <<'EOF'
import os, sys, time
cg = {}
for line in open("/proc/self/cgroup").read().splitlines():
    _, ctls, path = line.split(":", 2)
    for c in ctls.split(","):
        cg[c] = path
def ctl_dir(c):
    if c in cg:
        return "/sys/fs/cgroup/" + c + cg[c]
    top = "/sys/fs/cgroup" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "/sys/fs/cgroup/unified"
    return top + cg.get("", "/")
status = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
print("memory-cgroup", cg.get("memory") or cg.get(""))
print("cpuset-cgroup", cg.get("cpuset") or cg.get(""))
try:
    print("cpuset-cpus", open(ctl_dir("cpuset") + "/cpuset.cpus").read().strip())
except OSError as e:
    print("cpuset-cpus", "?", e)
print("allowed", status["Cpus_allowed_list"].strip())
print("nice", open("/proc/self/stat").read().rsplit(")", 1)[1].split()[16])
sys.stdout.flush()
x = bytearray(b"\x01") * (int(sys.argv[1]) << 20)
time.sleep(0.2)
print("touched", sys.argv[1])
EOF
# A task: its I/O class, then the same.
cat >"$TRASH/task.sh" <<EOF
#!/bin/sh
echo "ioclass \$(ionice -p \$\$)"
exec python3 "$TRASH/hog.py" "\$1"
EOF
chmod +x "$TRASH/task.sh"

test_expect_success 'bad guest options are usage errors naming the option' '
    test_expect_code 2 "$SHOAL" daemon run --guest-memory lots 2>err &&
    grep "bad value .lots. for option .--guest-memory." err &&
    test_expect_code 2 "$SHOAL" daemon run --guest-memory 0 2>err &&
    grep "option .--guest-memory." err &&
    test_expect_code 2 "$SHOAL" daemon run --guest-memory 120% 2>err &&
    grep "option .--guest-memory." err &&
    test_expect_code 2 "$SHOAL" daemon run --guest-cpu-weight 0 2>err &&
    grep "bad value .0. for option .--guest-cpu-weight." err &&
    test_expect_code 2 "$SHOAL" daemon run --guest-limits maybe 2>err &&
    grep "bad value .maybe. for option .--guest-limits." err &&
    SHOAL_GUEST_MEMORY=much test_expect_code 2 "$SHOAL" daemon run 2>err &&
    grep "bad value .much. for SHOAL_GUEST_MEMORY" err
'

test_expect_success 'a daemon with --guest-memory 64M says what it enforces' '
    "$SHOAL" daemon start --key "$TRASH/pool.key" --listen "127.0.0.1:$PORT" \
        --name n1 --guest-memory 64M &&
    test "$(guest_stat limits)" = on &&
    test "$(guest_stat cpu_weight)" -eq 10 -o "$(guest_stat cpu)" = none &&
    "$SHOAL" status --stats | grep -A3 "^guest:" | grep "limits *on" &&
    echo "memory $(guest_stat memory) cpu $(guest_stat cpu) cpuset $(guest_stat cpuset)" &&
    echo "not enforced: $(guest_stat not_enforced)"
'

MEMORY=$(guest_stat memory)
CPUSET=$(guest_stat cpuset)
WHY=$(guest_stat not_enforced)
NODE=$("$SHOAL" status --json | python3 -c '
import json, sys
print([m for m in json.load(sys.stdin)["members"] if m["self"]][0]["id"])')

# cg_dir CONTROLLER PATH: the directory of a cgroup path as /proc shows it
cg_dir() {
    if [ -d "/sys/fs/cgroup/$1$2" ]; then
        echo "/sys/fs/cgroup/$1$2"
    elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        echo "/sys/fs/cgroup$2"
    else
        echo "/sys/fs/cgroup/unified$2"
    fi
}

if [ "$MEMORY" = none ]; then
    test_skip 'a job under its memory limit runs in its cgroup' "$WHY"
    test_skip 'a job over its memory limit is ended with a message' "$WHY"
else
    test_expect_success 'a job under its memory limit runs in its cgroup, and it is gone after' '
        { "$SHOAL" run -n 2 python3 "$TRASH/hog.py" 16 >out 2>err &&
            test "$(grep -c "touched 16" out)" -eq 2 &&
            grep "^memory-cgroup .*/shoal/$NODE/gang-[0-9a-f]*$" out ||
            { cat out err; false; }; } &&
        cg=$(grep -m1 "^memory-cgroup" out | cut -d" " -f2) &&
        test "$(grep "^memory-cgroup" out | sort -u | wc -l)" -eq 1 &&
        dir=$(cg_dir memory "$cg") &&
        { wait_until 15 test ! -d "$dir" ||
            { echo "$dir is left, holding:"; cat "$dir/cgroup.procs"; false; }; } &&
        ! test -d "$dir"
    '

    test_expect_success 'a job over its memory limit is ended with a message naming it' '
        start=$(date +%s) &&
        test_expect_code 137 "$SHOAL" run -n 1 python3 "$TRASH/hog.py" 200 >out 2>err &&
        cat err &&
        grep "rank 0 on .n1. was killed: the job exceeded its memory limit of 64 MiB on .n1." err &&
        ! grep "touched" out &&
        test $(($(date +%s) - start)) -le 30 &&
        "$SHOAL" status >/dev/null &&
        wait_until 5 oom_counted
    '
fi

if [ "$CPUSET" = none ]; then
    test_skip 'a rank cgroup cpuset is the granted PUs' "$WHY"
else
    test_expect_success 'a rank cgroup cpuset is the granted PUs' '
        "$SHOAL" run -n 1 python3 "$TRASH/hog.py" 1 >out &&
        cat out &&
        grep "^cpuset-cgroup .*/shoal/$NODE/gang-[0-9a-f]*$" out &&
        cpus=$(sed -n "s/^cpuset-cpus //p" out) &&
        allowed=$(sed -n "s/^allowed //p" out) &&
        test -n "$allowed" && test "$cpus" = "$allowed" &&
        test "$cpus" != "$(cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null ||
            cat /sys/fs/cgroup/cpuset.cpus.effective)"
    '
fi

if [ "$CPUSET" = none ] || [ "$(nproc)" -lt 2 ]; then
    test_skip 'a job on the second core sees it, bound and in its cpuset' \
        "${WHY:-one core only}"
else
    test_expect_success 'a job on the second core sees it, bound and in its cpuset' '
        test_bg "$SHOAL" run -n 1 sleep 20 &&
        wait_until 10 sh -c "ls -d /sys/fs/cgroup/cpuset/shoal/$NODE/gang-* \
            /sys/fs/cgroup/shoal/$NODE/gang-* 2>/dev/null | grep -q ." &&
        "$SHOAL" run -n 1 python3 "$TRASH/hog.py" 1 >out 2>err &&
        cat out err &&
        cpus=$(sed -n "s/^cpuset-cpus //p" out) &&
        allowed=$(sed -n "s/^allowed //p" out) &&
        test "$cpus" = "$allowed" &&
        first=$(cat /sys/fs/cgroup/cpuset/shoal/$NODE/gang-*/cpuset.cpus |
            grep -vx "$cpus" | head -1) &&
        echo "first job on $first, second on $cpus" &&
        test -n "$first" && test "$first" != "$cpus"
    '
fi

test_expect_success 'tasks run in their job cgroup at nice 10 in the idle I/O class' '
    id=$("$SHOAL" submit --range 8-8 -- "$TRASH/task.sh" "{}") &&
    "$SHOAL" wait "$id" &&
    out="$SHOAL_DIR/jobs/$id/task.0/stdout" &&
    cat "$out" &&
    grep "^nice 10$" "$out" &&
    grep "^ioclass idle$" "$out" &&
    grep "touched 8" "$out" &&
    if [ "$MEMORY" != none ]; then
        grep "^memory-cgroup .*/shoal/$NODE/tasks-[0-9a-f]*$" "$out" &&
        cg=$(grep "^memory-cgroup" "$out" | cut -d" " -f2) &&
        wait_until 5 test ! -d "$(cg_dir memory "$cg")"
    fi
'

if [ "$MEMORY" = none ]; then
    test_skip 'a task over its memory limit fails with the reason, retried' "$WHY"
else
    test_expect_success 'a task over its memory limit fails with the reason, retried' '
        id=$("$SHOAL" submit --retries 1 --range 200-200 -- "$TRASH/task.sh" "{}") &&
        test_expect_code 1 "$SHOAL" wait "$id" &&
        "$SHOAL" results --json "$id" >res &&
        cat res &&
        python3 -c "
import json, sys
r = json.load(open(\"res\"))[0]
assert r[\"status\"] == 137, r
assert r[\"attempts\"] == 2, r
assert r[\"reason\"] == \"killed: the job exceeded its memory limit of 64 MiB on '"'"'n1'"'"'\", r
"
    '
fi

test_expect_success 'the daemon stops and its cgroups are gone' '
    "$SHOAL" daemon stop &&
    for c in memory cpu cpuset; do
        ! ls -d /sys/fs/cgroup/$c/shoal/$NODE /sys/fs/cgroup/$c/*/shoal/$NODE \
            /sys/fs/cgroup/$c/*/*/shoal/$NODE 2>/dev/null | grep . || return 1
    done &&
    ! ls -d /sys/fs/cgroup/shoal/$NODE /sys/fs/cgroup/*/shoal/$NODE 2>/dev/null | grep .
'

test_expect_success 'the limits are keys of the configuration file too' '
    mkdir -p "$TRASH/d3" &&
    printf "guest-memory = lots\n" >"$TRASH/d3/shoal.conf" &&
    test_expect_code 2 "$SHOAL" daemon start --dir "$TRASH/d3" \
        --key "$TRASH/pool.key" --listen "127.0.0.1:$((PORT + 2))" 2>err &&
    grep "shoal.conf:1: bad value .lots. for key .guest-memory.: expected bytes" err &&
    printf "guest-memory = 32M\nguest-cpu-weight = 20\n" >"$TRASH/d3/shoal.conf" &&
    "$SHOAL" daemon start --dir "$TRASH/d3" --key "$TRASH/pool.key" \
        --listen "127.0.0.1:$((PORT + 2))" --name n3 &&
    SHOAL_DIR="$TRASH/d3" guest_stat limits >limits &&
    if [ "$MEMORY" != none ]; then
        test "$(SHOAL_DIR="$TRASH/d3" guest_stat memory_limit)" -eq 33554432
    fi &&
    if [ "$(SHOAL_DIR="$TRASH/d3" guest_stat cpu)" != none ]; then
        test "$(SHOAL_DIR="$TRASH/d3" guest_stat cpu_weight)" -eq 20
    fi &&
    "$SHOAL" daemon stop --dir "$TRASH/d3"
'

test_expect_success 'with --guest-limits off, jobs run in the daemon cgroup' '
    export SHOAL_DIR="$TRASH/d2" &&
    "$SHOAL" daemon start --key "$TRASH/pool.key" \
        --listen "127.0.0.1:$((PORT + 1))" --name n2 --guest-limits off &&
    test "$(guest_stat limits)" = off &&
    "$SHOAL" run -n 1 python3 "$TRASH/hog.py" 1 >out &&
    ! grep "/shoal/" out &&
    grep "Guest limits off\|guest limits off" "$SHOAL_DIR/daemon.log" &&
    "$SHOAL" daemon stop
'

test_done

# SPDX-License-Identifier: MIT
# lib.sh - a small sharness-style harness for shoal's end-to-end tests.
# Each test file sources this, calls test_expect_success / test_expect_code,
# and ends with test_done; output is TAP.
#
# Cleanup at exit: a test file registers what must be undone with
# `test_atexit CMD...` (stop a daemon, tear down namespaces) as soon as it
# has made it, instead of setting its own EXIT trap: the one trap set here
# runs every registered command, last registered first, each whatever the
# others return, then removes $TRASH. A file that sets `trap ... EXIT`
# itself replaces all of that and must repeat it.

: "${SHOAL_BUILDDIR:?run through make check}"
: "${SHOAL_SRCDIR:?run through make check}"
SHOAL="$SHOAL_BUILDDIR/cmd/shoal"
MPI_DIR="$SHOAL_BUILDDIR/tests/mpi"
HOST=$(hostname)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Ranks end fast when a job is killed, so the tests stay quick.
export SHOAL_KILL_GRACE=${SHOAL_KILL_GRACE:-1}

test_count=0
test_failed=0
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/shoal-test.XXXXXX")

# test_atexit CMD...: run CMD (its words as one command line, evaluated in
# this shell) when the test file exits, before those registered earlier.
test_atexit_cmds=
test_atexit() {
    test_atexit_cmds="{ $*
} || :
$test_atexit_cmds"
}

test_atexit_run() {
    eval "$test_atexit_cmds"
    rm -rf "$TRASH"
}
trap test_atexit_run EXIT
cd "$TRASH" || exit 1

say_fail() {
    echo "not ok $test_count - $1"
    sed 's/^/#   /' "$TRASH/.test-output" 2>/dev/null
    test_failed=$((test_failed + 1))
}

# test_bg COMMAND...: start COMMAND in the background, its pid in $bg_pid;
# whatever a test starts this way is ended when the test is over.
test_bg() {
    "$@" &
    bg_pid=$!
    echo "$bg_pid" >>"$TRASH/.bg-pids"
}

test_end_bg() {
    [ -f "$TRASH/.bg-pids" ] || return 0
    for p in $(cat "$TRASH/.bg-pids"); do
        kill -CONT "$p" 2>/dev/null
        kill -TERM "$p" 2>/dev/null
    done
    rm -f "$TRASH/.bg-pids"
}

# test_expect_success DESCRIPTION SCRIPT
test_expect_success() {
    test_count=$((test_count + 1))
    if (set -e; eval "$2") >"$TRASH/.test-output" 2>&1; then
        echo "ok $test_count - $1"
    else
        say_fail "$1"
    fi
    test_end_bg
}

# test_skip DESCRIPTION REASON
test_skip() {
    test_count=$((test_count + 1))
    echo "ok $test_count - $1 # SKIP $2"
}

# test_expect_code CODE COMMAND...: inside a test, run COMMAND and check
# its exit status.
test_expect_code() {
    want=$1
    shift
    set +e
    "$@"
    got=$?
    set -e
    if [ "$got" -ne "$want" ]; then
        echo "expected exit status $want, got $got: $*" >&2
        return 1
    fi
}

# test_cmp EXPECTED ACTUAL
test_cmp() {
    diff -u "$1" "$2"
}

# test_within SECONDS COMMAND...: the command must finish in time.
test_within() {
    limit=$1
    shift
    start=$(date +%s.%N)
    "$@"
    rc=$?
    end=$(date +%s.%N)
    if awk -v s="$start" -v e="$end" -v l="$limit" 'BEGIN{exit !(e-s>l)}'; then
        echo "took longer than ${limit}s: $*" >&2
        return 1
    fi
    return $rc
}

# no_strays MARKER: no process whose command line holds MARKER is left.
no_strays() {
    sleep 0.2
    if pgrep -f -- "$1" >/dev/null; then
        echo "stray processes: $(pgrep -af -- "$1")" >&2
        return 1
    fi
}

test_done() {
    echo "1..$test_count"
    [ "$test_failed" -eq 0 ]
}

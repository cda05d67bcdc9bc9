#!/bin/sh
# SPDX-License-Identifier: MIT
# shoal run refuses bad input with a clear message and the right status.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

# expect_error STATUS MESSAGE ARGS...: shoal run ARGS fails with STATUS and
# its stderr holds MESSAGE.
expect_error() {
    status=$1 message=$2
    shift 2
    test_expect_code "$status" "$SHOAL" run "$@" 2>err &&
    if ! grep -F -- "$message" err; then
        echo "stderr was:" >&2; cat err >&2; return 1
    fi
}

test_expect_success 'unknown option' '
    expect_error 2 "shoal: unknown option '"'"'--frobnicate'"'"'" --frobnicate true &&
    grep -F "see '"'"'shoal run --help'"'"'" err
'
test_expect_success '-n 0' '
    expect_error 2 "invalid number of ranks '"'"'0'"'"': must be a positive integer" -n 0 true
'
test_expect_success 'missing program' '
    expect_error 2 "shoal: no program given" -n 2
'
test_expect_success 'missing option value' '
    expect_error 2 "option '"'"'--map-by'"'"' needs a value" --map-by
'
test_expect_success 'program not found: 127' '
    expect_error 127 "cannot find '"'"'no-such-program-xyz'"'"' in PATH" -n 1 no-such-program-xyz
'
test_expect_success 'program not executable: 126' '
    echo "not a program" >notexec &&
    expect_error 126 "cannot execute '"'"'./notexec'"'"': Permission denied" -n 1 ./notexec
'
test_expect_success 'a directory is not a program: 126' '
    expect_error 126 "cannot execute" -n 1 /tmp
'
test_expect_success 'bad working directory' '
    expect_error 1 "cannot change to directory '"'"'/nonexistent-wdir'"'"'" -n 1 --wdir /nonexistent-wdir /bin/true
'
test_expect_success 'more ranks than slots without --oversubscribe' '
    n=$(( $(nproc) + 1 )) &&
    expect_error 1 "not enough slots" -n $n true &&
    grep -F -- "--oversubscribe" err
'
test_expect_success '-H limits the slots' '
    expect_error 1 "not enough slots" -H localhost:1 -n 2 true &&
    "$SHOAL" run -H localhost:2 -n 2 true
'
test_expect_success 'a remote host without a pool' '
    expect_error 1 "cannot use host '"'"'node-elsewhere'"'"': no pool is running" -H node-elsewhere -n 1 true
'
test_expect_success 'bad -H syntax' '
    expect_error 2 "invalid host '"'"'localhost:zero'"'"'" -H localhost:zero true
'
test_expect_success 'hostfile with an unknown key names file and line' '
    printf "localhost slots=2\nlocalhost colour=red\n" >hf &&
    expect_error 2 "hf:2: unknown key '"'"'colour'"'"'" --hostfile hf true
'
test_expect_success 'hostfile slots are used' '
    printf "# local\nlocalhost slots=2\n" >hf &&
    "$SHOAL" run --hostfile hf sh -c "echo \$SHOAL_SIZE" >out &&
    printf "2\n2\n" >expect && test_cmp expect out
'
test_expect_success 'unreadable hostfile' '
    expect_error 2 "cannot open hostfile '"'"'missing-hf'"'"'" --hostfile missing-hf true
'
test_expect_success 'bad --map-by and --bind-to' '
    expect_error 2 "galaxy" --map-by galaxy true &&
    expect_error 2 "galaxy" --bind-to galaxy true
'
test_expect_success 'bad --timeout' '
    expect_error 2 "invalid timeout '"'"'soon'"'"'" --timeout soon true
'
test_expect_success 'bad SHOAL_TOPOLOGY' '
    (export SHOAL_TOPOLOGY="package:x" && expect_error 1 "package:x" -n 1 true)
'
test_expect_success 'unknown shoal command' '
    test_expect_code 2 "$SHOAL" frobnicate 2>err &&
    grep -F "shoal: unknown command '"'"'frobnicate'"'"'" err
'
test_expect_success 'a bad tunable is an error, not ignored' '
    (export SHOAL_KILL_GRACE=soon && expect_error 2 "invalid SHOAL_KILL_GRACE='"'"'soon'"'"'" -n 1 true)
'
test_expect_success 'a SHOAL_POOL it does not know is an error' '
    (export SHOAL_POOL=off && expect_error 2 "shoal: invalid SHOAL_POOL='"'"'off'"'"': expected auto or no" -n 1 true) &&
    SHOAL_POOL=no "$SHOAL" run -n 1 true &&
    SHOAL_POOL=auto "$SHOAL" run -n 1 true &&
    SHOAL_POOL= "$SHOAL" run -n 1 true
'
test_expect_success 'shoal info --params lists the tunables' '
    "$SHOAL" info --params >out &&
    grep -x SHOAL_KILL_GRACE out && grep -x SHOAL_TOPOLOGY out
'
test_expect_success '--help prints the options and exits 0' '
    "$SHOAL" run --help >out && grep -F -- "--map-by" out
'
test_expect_success 'an --output-filename that cannot be made: exit 1 and one message, every way' '
    for how in SHOAL_POOL=no SHOAL_PROXY_NODES=1 SHOAL_PROXY_NODES=0; do
        test_expect_code 1 env $how "$SHOAL" run -n 1 \
            --output-filename /proc/no-such/out echo hi 2>err &&
        echo "shoal: cannot create directory '"'"'/proc/no-such/out/1/rank.0'"'"': No such file or directory" >expect &&
        test_cmp expect err || exit 1
    done
'
test_done

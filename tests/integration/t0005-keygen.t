#!/bin/sh
# SPDX-License-Identifier: MIT
# shoal keygen makes pool keys: printed, or in a new file of mode 0600.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

test_expect_success 'a key is one line of 64 hex digits, new each time' '
    "$SHOAL" keygen >k1 && "$SHOAL" keygen >k2 &&
    test "$(wc -l <k1)" -eq 1 &&
    grep -Eq "^[0-9a-f]{64}$" k1 &&
    ! cmp -s k1 k2
'
test_expect_success '-o creates the file with mode 0600 whatever the umask' '
    (umask 000 && "$SHOAL" keygen -o pool.key) &&
    test "$(stat -c %a pool.key)" = 600 &&
    grep -Eq "^[0-9a-f]{64}$" pool.key
'
test_expect_success '-o never replaces an existing file' '
    cp pool.key before &&
    test_expect_code 1 "$SHOAL" keygen -o pool.key 2>err &&
    grep -F "shoal: cannot create key file '"'"'pool.key'"'"': File exists" err &&
    cmp pool.key before
'
test_expect_success 'bad arguments are usage errors' '
    test_expect_code 2 "$SHOAL" keygen --frobnicate 2>err &&
    grep -F "unexpected argument '"'"'--frobnicate'"'"'" err &&
    test_expect_code 2 "$SHOAL" keygen -o 2>err
'
test_expect_success '--help says how to use it' '
    "$SHOAL" keygen --help >out && grep -F -- "-o, --output FILE" out
'
test_done

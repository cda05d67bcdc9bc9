#!/bin/sh
# SPDX-License-Identifier: MIT
# Placement and binding: reported, and applied before the program runs.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

allowed='grep Cpus_allowed_list /proc/self/status | cut -f2'
ncores=$(hwloc-calc --number-of core machine:0 2>/dev/null || nproc)

test_expect_success 'ranks are bound to one core each by default' '
    "$SHOAL" run -n 2 --report-bindings --tag-output sh -c "$allowed" >out 2>err &&
    grep -F "[$HOST] rank 0 bound to PUs" err &&
    grep -F "[$HOST] rank 1 bound to PUs" err &&
    r0=$(sed -n "s/^\[0\] //p" out) && r1=$(sed -n "s/^\[1\] //p" out) &&
    test -n "$r0" && test -n "$r1" && test "$r0" != "$r1" &&
    grep -F "rank 0 bound to PUs $r0 " err &&
    grep -F "rank 1 bound to PUs $r1 " err
'

test_expect_success '--bind-to none leaves ranks unbound' '
    "$SHOAL" run -n 2 --bind-to none --report-bindings sh -c "$allowed" >out 2>err &&
    grep -F "rank 0 is not bound" err &&
    all=$(sh -c "$allowed") &&
    printf "%s\n%s\n" "$all" "$all" >expect && test_cmp expect out
'

test_expect_success 'oversubscribed ranks are not bound' '
    "$SHOAL" run -n $((ncores + 1)) --oversubscribe --report-bindings true 2>err &&
    grep -F "rank $ncores is not bound" err
'

# A machine we do not have: 2 packages x 2 NUMA x 4 cores x 2 PUs.
big="package:2 numa:2 core:4 pu:2"

bindings() {
    SHOAL_TOPOLOGY="$big" "$SHOAL" run --report-bindings "$@" true 2>&1 >/dev/null |
        sed -n "s/^\[$HOST\] rank \([0-9]*\) bound to PUs \([^ ]*\) .*/\1 \2/p"
}

test_expect_success 'synthetic topology: default map-by core, bind-to core' '
    bindings -n 4 >out &&
    printf "0 0-1\n1 2-3\n2 4-5\n3 6-7\n" >expect && test_cmp expect out
'
test_expect_success 'synthetic topology: map-by numa spreads ranks' '
    bindings -n 4 --map-by numa >out &&
    printf "0 0-1\n1 8-9\n2 16-17\n3 24-25\n" >expect && test_cmp expect out
'
test_expect_success 'synthetic topology: map-by package alternates packages' '
    bindings -n 4 --map-by package >out &&
    printf "0 0-1\n1 16-17\n2 2-3\n3 18-19\n" >expect && test_cmp expect out
'
test_expect_success 'synthetic topology: bind-to numa' '
    bindings -n 2 --bind-to numa >out &&
    printf "0 0-7\n1 0-7\n" >expect && test_cmp expect out
'
test_expect_success 'synthetic topology: PE=2 gives each rank two cores' '
    bindings -n 2 --map-by core:PE=2 >out &&
    printf "0 0-3\n1 4-7\n" >expect && test_cmp expect out
'
test_expect_success 'synthetic topology: hwthreads as slots' '
    bindings -n 3 --use-hwthread-cpus >out &&
    printf "0 0\n1 1\n2 2\n" >expect && test_cmp expect out
'
test_expect_success 'synthetic topology: slots are its cores' '
    test_expect_code 1 env SHOAL_TOPOLOGY="$big" "$SHOAL" run -n 17 true 2>err &&
    grep -F "not enough slots" err &&
    SHOAL_TOPOLOGY="$big" "$SHOAL" run sh -c "echo \$SHOAL_SIZE" | sort -u >out &&
    echo 16 >expect && test_cmp expect out
'
test_expect_success 'synthetic topology: bindings are reported, not applied' '
    SHOAL_TOPOLOGY="$big" "$SHOAL" run -n 1 sh -c "$allowed" >out &&
    sh -c "$allowed" >expect && test_cmp expect out
'
test_expect_success 'topology from an XML file' '
    lstopo-no-graphics -i "$big" --of xml topo.xml &&
    SHOAL_TOPOLOGY="$TRASH/topo.xml" "$SHOAL" run -n 2 --map-by numa --report-bindings true 2>err &&
    grep -F "rank 1 bound to PUs 8-9 " err
'
test_done

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the programs of tests/mpi-shim/testlist built with shoal's mpicc
# under a PMI-1 launcher, on each listed provider, and compares their
# output with the same source built and run with the reference MPI.
# Prints TAP. Every run is bounded by a timeout; launchers reap their
# ranks, and nothing else is started in the background. Building and
# judging a run are shared with the multi-host run of the list
# (shim-lib.sh, tests/integration/t0063-mpi-shim-netns.t).
set -u
src=${SHOAL_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SHOAL_BUILDDIR:-$src}
# The launcher for shoal's programs; one line to switch.
SHIM_LAUNCHER=${SHIM_LAUNCHER:-"$build/cmd/shoal run --oversubscribe -n"}
bin="$build/tests/mpi-shim/bin"
mkdir -p "$bin"
. "$src/tests/mpi-shim/shim-lib.sh"
if ! command -v ${SHIM_LAUNCHER%% *} >/dev/null 2>&1; then
    echo "1..0 # SKIP no PMI-1 launcher '${SHIM_LAUNCHER%% *}'"
    exit 0
fi

# Count the plan: per program one build, per (ranks, provider) one run,
# per ranks one reference comparison.
plan=0
while read -r name ranks provs expect; do
    shim_selected "$name" || continue
    nr=$(echo "$ranks" | tr ',' ' ' | wc -w)
    np=$(echo "$provs" | tr ',' ' ' | wc -w)
    plan=$((plan + 1 + nr * np + nr))
done < <(shim_testlist)
echo "1..$plan"

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $* # SKIP"; }

while read -r name ranks provs expect; do
    shim_selected "$name" || continue
    if shim_build "$name" >"$bin/$name.diag"; then
        ok "build $name"
    else
        notok "build $name"; cat "$bin/$name.diag"
    fi
    for spec in $(echo "$ranks" | tr ',' ' '); do
        # "8/block:2": 8 ranks made to believe they sit on nodes of 2
        # consecutive ranks (SHOAL_MPI_NODE=@block:2, mpi-shim/README.md).
        np=${spec%%/*}
        fake=""
        tagname=$np
        if [ "$spec" != "$np" ]; then
            fake="@${spec#*/}"
            tagname="$np.${spec#*/}"
            tagname=${tagname//:/}
        fi
        first_out=""
        for prov in $(echo "$provs" | tr ',' ' '); do
            out="$bin/$name.$tagname.$prov.out"
            err="$bin/$name.$tagname.$prov.err"
            if [ "$shim_built" != yes ]; then
                notok "$name -n $spec on $prov (not built)"; continue
            fi
            SHOAL_OFI_PROVIDER=$(provider_name "$prov") SHOAL_MPI_NODE=$fake \
                SHOAL_MPI_SHM=$(shm_switch "$prov") \
                timeout -k 10 "$RUN_TIMEOUT" $SHIM_LAUNCHER "$np" \
                "$bin/$name.shim" </dev/null >"$out" 2>"$err"
            rc=$?
            [ $rc -ne 0 ] && cleanup_shm
            if [ "$expect" = FATAL ]; then
                if shim_verdict "$expect" "$prov" $rc "$out" "$err" >"$out.diag"; then
                    ok "$name -n $np on $prov aborts with the fatal message"
                else
                    notok "$name -n $np on $prov (rc $rc)"; cat "$out.diag"
                fi
                continue
            fi
            if shim_verdict "$expect" "$prov" $rc "$out" "$err" >"$out.diag"; then
                ok "$name -n $spec on $prov"
            else
                notok "$name -n $spec on $prov (rc $rc)"; cat "$out.diag"
            fi
            [ -z "$first_out" ] && first_out="$out"
        done
        # Differential: the reference MPI prints the same.
        if [ "$shim_ref_built" != yes ]; then
            skip "$name -n $spec matches the reference (no reference MPI)"
            continue
        fi
        shim_ref_run "$name" "$np" "$tagname"
        if [ "$expect" = FATAL ]; then
            ok "$name -n $np reference also fails"
        elif [ -n "$first_out" ] && shim_ref_cmp "$name" "$tagname" "$first_out" \
            >"$first_out.diag"; then
            ok "$name -n $spec matches the reference"
        else
            notok "$name -n $spec matches the reference"; cat "$first_out.diag"
        fi
    done
done < <(shim_testlist)

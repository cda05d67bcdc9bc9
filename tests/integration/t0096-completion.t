#!/bin/sh
# SPDX-License-Identifier: MIT
# Bash completion (completion/shoal.bash): commands, subcommands, options
# read from each command's help, option values, programs and job ids.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

export SHOAL_DIR="$TRASH/node"
export SHOAL_TASKD_IDLE_EXIT=20
test_atexit stop_taskd
stop_taskd() {
    [ -f "$SHOAL_DIR/taskd.pid" ] || return 0
    kill "$(cat "$SHOAL_DIR/taskd.pid")" 2>/dev/null || true
}

# complete WORD...: what completing the last WORD offers, one per line,
# sorted (the first WORD is the command as typed: a path to shoal here)
complete_words() {
    bash -c '
        . "$SHOAL_SRCDIR/completion/shoal.bash" || exit 1
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _shoal || exit 1
        printf "%s\n" "${COMPREPLY[@]}" | sort
    ' complete "$@"
}

bin=$(dirname "$SHOAL")

test_expect_success 'the script is registered for shoal, shoald, mpirun, mpiexec' '
    bash -c ". \"$SHOAL_SRCDIR/completion/shoal.bash\" && complete -p" >reg &&
    for c in shoal shoald mpirun mpiexec; do
        grep -E "complete -F _shoal .*\b$c\b" reg || return 1
    done
'

test_expect_success 'commands come from shoal --help' '
    complete_words "$SHOAL" "" >out &&
    "$SHOAL" --help | sed -n "/^commands:/,/^\$/s/^  \([a-z]*\) .*/\1/p" |
        sort >cmds &&
    test $(wc -l <cmds) -ge 15 &&
    for c in $(cat cmds); do grep -x "$c" out || return 1; done &&
    complete_words "$SHOAL" su >out &&
    printf "submit\n" >expect && test_cmp expect out
'

test_expect_success 'every option shoal run --help lists is offered' '
    complete_words "$SHOAL" run - >out &&
    for o in -n -np -H --host --hostfile --map-by --npernode -N \
        --bind-to --report-bindings --display-map -x --wdir --tag-output \
        --timeout --checkpoint --checkpoint-dir --replicas --mca -V \
        --version -h --help; do
        grep -x -- "$o" out || { echo "missing $o" >&2; return 1; }
    done &&
    ! grep -v "^-" out
'

test_expect_success 'mpirun and mpiexec complete as shoal run' '
    complete_words "$SHOAL" run --rep >a &&
    complete_words "$bin/mpirun" --rep >b && test_cmp a b &&
    complete_words "$bin/mpiexec" --rep >c && test_cmp a c &&
    printf "%s\n" --replicas --report-bindings >expect && test_cmp expect a
'

test_expect_success 'option values: mapping and binding levels, daemon modes' '
    complete_words "$SHOAL" run --map-by n >out &&
    printf "%s\n" node numa >expect && test_cmp expect out &&
    complete_words "$bin/mpirun" --bind-to c >out &&
    printf "core\n" >expect && test_cmp expect out &&
    complete_words "$SHOAL" daemon run --lend d >out &&
    printf "%s\n" dedicated desktop >expect && test_cmp expect out
'

test_expect_success 'subcommands come from the usage lines' '
    complete_words "$SHOAL" daemon "" >out &&
    printf "%s\n" run start stop >expect && test_cmp expect out &&
    complete_words "$SHOAL" ckpt "" >out &&
    printf "%s\n" ls rm >expect && test_cmp expect out &&
    complete_words "$SHOAL" bench r >out &&
    printf "%s\n" report run >expect && test_cmp expect out &&
    complete_words "$bin/shoald" --lend- >out &&
    printf "%s\n" --lend-window >expect && test_cmp expect out
'

test_expect_success 'after the program (or after an option value) come files' '
    mkdir dir && : >dir/prog1 && : >dir/prog2 &&
    complete_words "$SHOAL" run -n 2 --mca btl tcp dir/prog1 dir/p >out &&
    printf "%s\n" dir/prog1 dir/prog2 >expect && test_cmp expect out &&
    complete_words "$SHOAL" run --wdir di >out &&
    printf "dir\n" >expect && test_cmp expect out
'

test_expect_success 'job ids come from shoal jobs' '
    id1=$("$SHOAL" submit --range 1-2 -- true) &&
    id2=$("$SHOAL" submit --range 1-2 -- true) &&
    "$SHOAL" wait "$id2" >/dev/null &&
    complete_words "$SHOAL" wait "" >out &&
    printf "%s\n" "$id1" "$id2" | sort >expect && test_cmp expect out &&
    complete_words "$SHOAL" results "$id2" >out &&
    printf "%s\n" "$id2" >expect && test_cmp expect out
'

test_done

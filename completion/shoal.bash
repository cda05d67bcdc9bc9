# SPDX-License-Identifier: MIT
# Bash completion for shoal, shoald, mpirun and mpiexec.
#
# Commands, subcommands and options are read from the commands' own help
# (`shoal --help`, `shoal CMD --help`), so what is completed is what the
# installed shoal accepts, never a copy that drifts from it. Job ids come
# from `shoal jobs`. Needs nothing but bash itself (not the
# bash-completion package's helpers). Installed by `make install` into
# $(datadir)/bash-completion/completions, where bash-completion loads it
# on first use of any of these command names.

# The option words of one help text: the first column of every line that
# starts (after blanks) with '-', split at the first run of two blanks.
_shoal_help_options()
{
    local line first
    while IFS= read -r line; do
        [[ $line =~ ^[[:space:]]+- ]] || continue
        first=${line#"${line%%[![:space:]]*}"}
        first=${first%%  *}
        grep -oE '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*(\[?=)?' <<<"$first" |
            sed -e 's/^[ ,]//' -e 's/\[=$/=/'
    done | sort -u
}

# The words a command takes first (run|start|stop, ls|rm, ...), from the
# usage lines of its help: "shoal CMD WORD" or "shoal CMD a|b|c".
_shoal_help_subcommands()
{
    local cmd=$1 line rest
    while IFS= read -r line; do
        [[ $line =~ shoal\ $cmd\ ([a-z|]+)([[:space:]]|$) ]] || continue
        rest=${BASH_REMATCH[1]}
        tr '|' '\n' <<<"$rest"
    done | sort -u
}

_shoal_commands()
{
    "$1" --help 2>/dev/null |
        sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'
}

_shoal_job_ids()
{
    "$1" jobs 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }'
}

# Values of the options whose argument is a fixed set or a path.
# Returns 1 when PREV takes no such argument.
_shoal_option_value()
{
    local prev=$1 cur=$2
    case $prev in
    --hostfile | --machinefile | --config | --key | --each-line | --counters)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    --wdir | --dir | --output-filename | --checkpoint-dir | --counters-dir)
        mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    --map-by | --rank-by)
        mapfile -t COMPREPLY < <(compgen -W \
            'slot hwthread core numa package node ppr:' -- "$cur") ;;
    --bind-to)
        mapfile -t COMPREPLY < <(compgen -W \
            'hwthread core numa package none' -- "$cur") ;;
    --lend)
        mapfile -t COMPREPLY < <(compgen -W \
            'dedicated desktop never' -- "$cur") ;;
    --credentials)
        mapfile -t COMPREPLY < <(compgen -W 'munge pool auto' -- "$cur") ;;
    --unknown-user)
        mapfile -t COMPREPLY < <(compgen -W 'refuse guest' -- "$cur") ;;
    --guest-limits)
        mapfile -t COMPREPLY < <(compgen -W 'on off' -- "$cur") ;;
    --format)
        mapfile -t COMPREPLY < <(compgen -W 'table md csv json' -- "$cur") ;;
    -x)
        mapfile -t COMPREPLY < <(compgen -e -- "$cur") ;;
    -n | -np | -N | --npernode | --npersocket | -H | --host | --timeout | \
        --max-restarts | --replicas | --checkpoint-exit-code | --name | \
        --cores | --retries | --time-limit | --range | --param | --mca | \
        --listen | --advertise | --join | --owner-idle | --vacate-after)
        COMPREPLY=() ;; # a value only the user knows
    *) return 1 ;;
    esac
    return 0
}

# Complete the arguments of a `shoal run` (or mpirun) command line from
# word index FIRST on: options until the program, then files.
_shoal_complete_run()
{
    local shoal=$1 first=$2 cur=${COMP_WORDS[COMP_CWORD]} i word
    for ((i = first; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
        -*) ;;
        *)
            # a word after an option that takes a value is that value
            local before=${COMP_WORDS[i - 1]}
            if ((i > first)) && _shoal_option_value "$before" "" &&
                [[ $before == -* ]]; then
                continue
            fi
            # --mca KEY VALUE takes two
            ((i > first + 1)) && [[ ${COMP_WORDS[i - 2]} == --mca ]] &&
                continue
            # the program is named: the rest is its own arguments
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return 0
            ;;
        esac
    done
    if ((COMP_CWORD > first)) &&
        _shoal_option_value "${COMP_WORDS[COMP_CWORD - 1]}" "$cur"; then
        return 0
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W \
            "$("$shoal" run --help 2>/dev/null | _shoal_help_options)" \
            -- "$cur")
    else
        mapfile -t COMPREPLY < <(compgen -c -- "$cur"; compgen -f -- "$cur")
    fi
}

_shoal()
{
    local shoal=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]}
    local cmd i
    COMPREPLY=()
    # shoald is `shoal daemon run`, mpirun and mpiexec are `shoal run`:
    # the shoal asked for help is the one installed beside them
    local name=${shoal##*/} dir=
    [[ $shoal == */* ]] && dir=${shoal%/*}/
    case $name in
    mpirun | mpiexec)
        _shoal_complete_run "${dir}shoal" 1
        return 0
        ;;
    shoald) cmd=daemon shoal=${dir}shoal ;;
    esac

    if [[ -z $cmd ]]; then
        if ((COMP_CWORD == 1)); then
            mapfile -t COMPREPLY < <(compgen -W \
                "$(_shoal_commands "$shoal") --help --version" -- "$cur")
            return 0
        fi
        cmd=${COMP_WORDS[1]}
    fi

    case $cmd in
    run)
        _shoal_complete_run "$shoal" 2
        return 0
        ;;
    help)
        ((COMP_CWORD == 2)) && mapfile -t COMPREPLY < <(compgen -W \
            "$(_shoal_commands "$shoal")" -- "$cur")
        return 0
        ;;
    submit)
        # after `--` comes the command the tasks run
        for ((i = 2; i < COMP_CWORD; i++)); do
            if [[ ${COMP_WORDS[i]} == -- ]]; then
                mapfile -t COMPREPLY < <(compgen -c -- "$cur"
                    compgen -f -- "$cur")
                return 0
            fi
        done
        ;;
    esac

    if _shoal_option_value "${COMP_WORDS[COMP_CWORD - 1]}" "$cur"; then
        return 0
    fi
    local help
    help=$("$shoal" "$cmd" --help 2>/dev/null)
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W \
            "$(_shoal_help_options <<<"$help")" -- "$cur")
        return 0
    fi
    # the first word after the command may be one of its subcommands
    local words
    words=$(_shoal_help_subcommands "$cmd" <<<"$help")
    if [[ -n $words && $name != shoald ]] && ((COMP_CWORD == 2)); then
        mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        return 0
    fi
    case $cmd in
    job | wait | results | output | cancel | resubmit)
        mapfile -t COMPREPLY < <(compgen -W \
            "$(_shoal_job_ids "$shoal")" -- "$cur")
        ;;
    ckpt | bench)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    esac
    return 0
}

complete -F _shoal shoal shoald mpirun mpiexec

#!/bin/sh
# SPDX-License-Identifier: MIT
# shoal help CMD, and CMD --help for every command: exit 0, every option
# on a line of its own.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

# help_lists CMD OPTION...: `shoal CMD --help` exits 0, `shoal help CMD`
# prints the same, and each OPTION begins a line of it (after the indent).
help_lists() {
    cmd=$1
    shift
    "$SHOAL" "$cmd" --help >help.out 2>help.err &&
    test ! -s help.err &&
    "$SHOAL" help "$cmd" >help2.out &&
    test_cmp help.out help2.out &&
    head -1 help.out | grep "^usage: shoal $cmd" &&
    for o in -h "$@"; do
        if ! grep -E -- "^  $o[ ,]" help.out; then
            echo "'$o' is not listed by 'shoal $cmd --help':" >&2
            cat help.out >&2
            return 1
        fi
    done
}

test_expect_success 'jobs --help lists --json, --name and --state' \
    'help_lists jobs --json --name --state'
test_expect_success 'job --help lists --json' 'help_lists job ID --json'
test_expect_success 'wait --help' 'help_lists wait ID'
test_expect_success 'results --help lists --json, --csv and --failed' \
    'help_lists results ID --json --csv --failed'
test_expect_success 'output --help' 'help_lists output ID TASK'
test_expect_success 'cancel --help' 'help_lists cancel ID'
test_expect_success 'resubmit --help lists --failed' \
    'help_lists resubmit ID --failed'
test_expect_success 'info --help exits 0 and lists --params and --json' \
    'help_lists info --params --json'
test_expect_success 'submit --help' \
    'help_lists submit --name --cores --retries --time-limit --range --each-line --param --after --mem'
test_expect_success 'run --help' \
    'help_lists run --mca -V --map-by --report-bindings'

test_expect_success 'shoal help CMD for the other commands' '
    for cmd in keygen daemon status ckpt bench; do
        "$SHOAL" help $cmd >out && "$SHOAL" $cmd --help >expect &&
        test_cmp expect out && test -s out || return 1
    done
'

test_expect_success 'shoal help alone, and of an unknown command' '
    "$SHOAL" help >out && grep -F "help COMMAND" out &&
    test_expect_code 2 "$SHOAL" help frobnicate 2>err &&
    grep -F "shoal: unknown command '"'"'frobnicate'"'"'" err &&
    test_expect_code 2 "$SHOAL" help proxy 2>err &&
    grep -F "unknown command '"'"'proxy'"'"'" err
'

test_expect_success 'info with a bad option still fails with its usage' '
    test_expect_code 2 "$SHOAL" info --frobnicate 2>err &&
    grep -F "usage: shoal info [--params | --json]" err
'

test_expect_success 'shoal info --json parses, and holds what info and --params say' '
    "$SHOAL" info --json >info.json &&
    "$SHOAL" info --params | grep "^SHOAL_" >expect &&
    SHOAL_KILL_GRACE=7 "$SHOAL" info --json >info7.json &&
    python3 - "$("$SHOAL" version | sed "s/^shoal //")" >got <<-\EOF
	import json, sys
	d = json.load(open("info.json"))
	assert d["version"] == sys.argv[1], d["version"]
	assert [(m["library"], m["wireup"]) for m in d["mpi"]] == [
	    ("shoal'"'"'s MPI", "PMI-1"), ("MPICH", "PMI-1"), ("Open MPI", "PMIx")], d["mpi"]
	assert d["pmix"].startswith("OpenPMIx"), d["pmix"]
	for p in d["params"]:
	    assert p["type"] in ("double", "string"), p
	    assert p["help"], p
	grace = [p for p in json.load(open("info7.json"))["params"]
	         if p["name"] == "SHOAL_KILL_GRACE"][0]
	assert grace["value"] == "7" and grace["default"] == "3", grace
	for e in d["environment"]:
	    assert e["kind"] in ("shoal", "mpi", "set", "internal"), e
	    assert e["help"], e
	print("\n".join(p["name"] for p in d["params"] + d["environment"]))
	EOF
    test_cmp expect got
'

# Every SHOAL_* name the sources use: tunables (PARAM_DEFINE's lower-case
# name), variables read (getenv) and variables set for the programs shoal
# starts ("SHOAL_X=" built into an environment)
source_vars() {
    python3 - "$SHOAL_SRCDIR" <<-\EOF
	import os, re, sys
	names = set()
	for top in ("cmd", "runtime", "util", "scheduler", "mpi-shim"):
	    for d, _, files in os.walk(os.path.join(sys.argv[1], top)):
	        for f in files:
	            if not f.endswith(".c"):
	                continue
	            text = open(os.path.join(d, f), errors="replace").read()
	            for m in re.finditer(r'PARAM_DEFINE\(\s*\w+,\s*"([a-z0-9_]+)"', text):
	                names.add("SHOAL_" + m.group(1).upper())
	            for m in re.finditer(r'(?:getenv\(|")(SHOAL_[A-Z0-9_]*[A-Z0-9])["=]', text):
	                names.add(m.group(1))
	print("\n".join(sorted(names)))
	EOF
}

test_expect_success 'info --params names every SHOAL_* variable the sources use' '
    source_vars >used &&
    test "$(wc -l <used)" -ge 40 &&
    "$SHOAL" info --params | grep "^SHOAL_" | sort -u >listed &&
    comm -23 used listed >missing &&
    if test -s missing; then
        echo "used in the sources but not listed by info --params:" >&2
        cat missing >&2
        false
    fi
'

test_expect_success 'info --params lists no variable the sources do not use' '
    source_vars >used &&
    "$SHOAL" info --params | grep "^SHOAL_" | sort -u >listed &&
    comm -13 used listed >extra &&
    if test -s extra; then
        echo "listed by info --params but used nowhere:" >&2
        cat extra >&2
        false
    fi
'

test_done

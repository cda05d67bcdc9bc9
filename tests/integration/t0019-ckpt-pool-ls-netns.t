#!/bin/sh
# SPDX-License-Identifier: MIT
# What the pool keeps of a job's checkpoints, listed from one host: a job
# run with --checkpoint --replicas 1 fails, so every rank's versions stay
# on the host it ran on and on its partner; `shoal ckpt ls --pool` on
# host 1 asks every daemon (ckpt.pool-list, LIST/LISTED frames) and shows
# per rank and version the hosts holding it and the version a restart
# would use. With a host's daemon killed the listing names it as not
# listed and still shows what the others hold.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 5

. "$SHOAL_SRCDIR/tests/integration/pool.sh"

ALL=18

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3 4 5; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3 4 5; do wait_free $i $ALL 20 || exit 1; done
'

test_expect_success 'ls --pool with no checkpoints anywhere lists every host' '
    netns_exec 1 "$SHOAL" ckpt ls --pool --json >none.json &&
    cat none.json &&
    "$NETNS_PYTHON" -c "
import json, sys
r = json.load(open(\"none.json\"))
assert r[\"jobs\"] == [], r
assert len(r[\"nodes\"]) == 5 and r[\"missing\"] == [], r
"
'

# fail.sh: commit versions 1 and 2 (HTCondor-style), then fail
cat >fail.sh <<\EOF
#!/bin/sh
for n in 1 2; do
    mkdir -p "$SHOAL_CKPT_DIR/v$n" &&
        echo "$SHOAL_RANK $n" >"$SHOAL_CKPT_DIR/v$n/state" &&
        : >"$SHOAL_CKPT_DIR/v$n/COMMITTED"
    sleep 0.5
done
sleep 1
exit 3
EOF
chmod +x fail.sh

test_expect_success 'a replicated job fails and says where its checkpoints are' '
    test_expect_code 3 netns_exec 1 "$SHOAL" run -n 3 --map-by node \
        --checkpoint --replicas 1 --max-restarts 0 ./fail.sh 2>fail.err &&
    cat fail.err &&
    key=$(sed -n "s/.*checkpoints kept on the pool.s nodes, as job \([^ ]*\) .*/\1/p" fail.err) &&
    test -n "$key" && echo "$key" >key &&
    grep "shoal ckpt ls --pool $key" fail.err
'

# check_listing FILE HOSTS: FILE (ckpt ls --pool --json) lists the job's
# 3 ranks, versions 1 and 2 committed on at least 2 distinct hosts, at
# most one of them the original, restart version 2, and HOSTS hosts
# listed.
check_listing() {
    "$NETNS_PYTHON" - "$1" "$(cat key)" "$2" <<\PY
import json, sys
r = json.load(open(sys.argv[1]))
key, hosts = sys.argv[2], int(sys.argv[3])
assert len(r["nodes"]) == hosts, r["nodes"]
jobs = [j for j in r["jobs"] if j["key"] == key]
assert len(jobs) == 1, r["jobs"]
job = jobs[0]
assert [k["rank"] for k in job["ranks"]] == [0, 1, 2], job
for rank in job["ranks"]:
    vs = {v["version"]: v for v in rank["versions"]}
    for n in (1, 2):
        v = vs[n]
        held = [h for h in v["holders"] if h["committed"]]
        assert v["committed"] and v["copies"] == len(held) >= 2, v
        assert len({h["node"] for h in held}) == len(held), v
        assert sum(h["original"] for h in held) <= 1, v
        assert all(h["bytes"] == 4 and h["files"] == 1 for h in held), v
        print("rank", rank["rank"], "version", n, "on",
              ", ".join(h["name"] + (" (original)" if h["original"] else "")
                        for h in held))
assert job["restart"] == 2, job
PY
}

test_expect_success 'ls --pool on host 1: every version of every rank on two hosts' '
    netns_exec 1 "$SHOAL" ckpt ls --pool --json >all.json &&
    check_listing all.json 5 &&
    "$NETNS_PYTHON" -c "
import json
r = json.load(open(\"all.json\"))
assert r[\"missing\"] == [], r[\"missing\"]
# every rank has its original on the host it ran on
for rank in r[\"jobs\"][0][\"ranks\"]:
    for v in rank[\"versions\"]:
        assert any(h[\"original\"] for h in v[\"holders\"]), rank
" &&
    netns_exec 1 "$SHOAL" ckpt ls --pool "$(cat key)" >all.txt &&
    cat all.txt &&
    grep "restart from version 2 (every rank has it committed" all.txt &&
    test "$(grep -c "^  [0-2]  *[12]  committed  *[2-5]  *4 B  .*(original)" all.txt)" = 6 &&
    grep "^nodes listed: " all.txt
'

test_expect_success 'ls --pool names what it is asked wrongly' '
    test_expect_code 1 netns_exec 1 "$SHOAL" ckpt ls --pool no-such-job 2>no.err &&
    grep "shoal: no checkpoints of .no-such-job. on the nodes that answered" no.err &&
    test_expect_code 1 netns_exec 1 "$SHOAL" ckpt ls --pool "a/../b" 2>bad.err &&
    grep "invalid checkpoint key .a/\.\./b." bad.err &&
    test_expect_code 2 netns_exec 1 "$SHOAL" ckpt ls --pool --timeout 0 2>to.err &&
    grep "timeout must be" to.err
'

test_expect_success 'a host whose daemon is killed is named, the rest still listed' '
    # a host that holds an original, other than host 1
    victim=$("$NETNS_PYTHON" -c "
import json
r = json.load(open(\"all.json\"))
names = {h[\"name\"] for k in r[\"jobs\"][0][\"ranks\"] for v in k[\"versions\"]
         for h in v[\"holders\"] if h[\"original\"]}
names.discard(\"$(netns_name 1)\")
print(sorted(names)[-1])") &&
    i=$(for i in 2 3 4 5; do [ "$(netns_name $i)" = "$victim" ] && echo $i; done; :) &&
    test -n "$i" && echo "$i" >victim &&
    echo "host $i ($victim) loses its daemon" &&
    pid=$(netns_exec $i sh -c "cat \"\$SHOAL_DIR\"/daemon.pid") &&
    netns_exec $i kill -KILL "$pid" &&
    start=$(date +%s) &&
    netns_exec 1 "$SHOAL" ckpt ls --pool --json >less.json &&
    took=$(($(date +%s) - start)) && echo "answered in ${took} s" &&
    test "$took" -le 5 &&
    "$NETNS_PYTHON" -c "
import json, sys
r = json.load(open(\"less.json\"))
print(r[\"missing\"])
assert [m[\"name\"] for m in r[\"missing\"]] == [\"$victim\"], r[\"missing\"]
assert len(r[\"nodes\"]) == 4, r[\"nodes\"]
job = r[\"jobs\"][0]
assert [k[\"rank\"] for k in job[\"ranks\"]] == [0, 1, 2], job
held = [h[\"name\"] for k in job[\"ranks\"] for v in k[\"versions\"]
        for h in v[\"holders\"]]
assert \"$victim\" not in held and len(held) > 0, held
# the victim ran a rank whose copy is still on its partner
assert job[\"restart\"] == 2, job
" &&
    netns_exec 1 "$SHOAL" ckpt ls --pool >less.txt &&
    cat less.txt &&
    grep "^not listed: $victim (" less.txt &&
    test "$(grep -c "^not listed: " less.txt)" = 1 &&
    grep "^nodes listed: .*,.*,.*," less.txt
'

test_expect_success 'the daemons left stop and nothing runs after them' '
    left= &&
    for i in 1 2 3 4 5; do
        [ "$i" = "$(cat victim)" ] && continue
        left="$left $i" &&
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle $left
'

test_done

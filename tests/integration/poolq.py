#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""poolq.py - read `shoal status` output for the multi-host tests.

  members      stdin: `shoal status --json`; print one line per member,
               sorted: "NAME STATE CORES"
  age NAME     stdin: `shoal status --json`; print member NAME's age_ms,
               the time since it entered its state
  counter NAME...
               stdin: `shoal status --stats` (JSON or text); print the sum
               of every counter called one of NAME (e.g. auth-failed), at
               any depth of the JSON, or as "NAME: N" / "NAME N" in text
"""

import json
import re
import sys


def find_members(doc):
    if isinstance(doc, list):
        return doc
    for key in ("members", "pool", "nodes"):
        if isinstance(doc.get(key), list):
            return doc[key]
    raise SystemExit("poolq: no member list in status: %s" % list(doc))


def field(member, *names):
    for scope in (member, member.get("summary") or {}):
        for name in names:
            if name in scope:
                return scope[name]
    return "-"


def cmd_members():
    doc = json.load(sys.stdin)
    lines = []
    for m in find_members(doc):
        lines.append("%s %s %s" % (field(m, "name", "hostname"),
                                   field(m, "state"), field(m, "cores")))
    for line in sorted(lines):
        print(line)


def cmd_age(name):
    doc = json.load(sys.stdin)
    for m in find_members(doc):
        if field(m, "name", "hostname") == name:
            print(int(m["age_ms"]))
            return
    raise SystemExit("poolq: no member %s" % name)


def walk(node, names, total):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in names and isinstance(v, (int, float)):
                total[0] += v
            else:
                walk(v, names, total)
    elif isinstance(node, list):
        for v in node:
            walk(v, names, total)


def cmd_counter(*names):
    text = sys.stdin.read()
    total = [0]
    try:
        walk(json.loads(text), set(names), total)
    except ValueError:
        for name in names:
            for m in re.finditer(r"(?m)(?:^|\s)%s:?\s+(\d+)" % re.escape(name),
                                 text):
                total[0] += int(m.group(1))
    print(int(total[0]))


def main(argv):
    if len(argv) >= 2 and argv[1] == "members":
        cmd_members()
    elif len(argv) == 3 and argv[1] == "age":
        cmd_age(argv[2])
    elif len(argv) >= 3 and argv[1] == "counter":
        cmd_counter(*argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ckptq.py - send one op to a daemon's control socket, for the tests.

  ckptq.py SOCKET OP JSON [TIMEOUT]
      send {"op": OP, ...JSON} and print the reply as JSON on one line;
      exit 0 when it says "ok", 1 with its error on stderr when not, 2 on
      a usage or transport error.
"""

import json
import socket
import struct
import sys


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    path, op, fields = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 120
    fields["op"] = op
    body = b"J" + json.dumps(fields).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(struct.pack("!I", len(body)) + body)
        while True:
            head = recv_all(s, 4)
            n = struct.unpack("!I", head)[0]
            frame = recv_all(s, n)
            if frame[:1] == b"J":
                break
    except (OSError, EOFError) as e:
        print("ckptq: %s: %s" % (path, e), file=sys.stderr)
        return 2
    reply = json.loads(frame[1:])
    print(json.dumps(reply, sort_keys=True))
    if not reply.get("ok"):
        print("error: %s" % reply.get("error"), file=sys.stderr)
        return 1
    return 0


def recv_all(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""nettool.py - small network probes for shoal's multi-host tests.

Run on a simulated host (netns_exec I python3 nettool.py ...), never in the
machine's own network namespace: every command talks only to the address it
is given. Each command ends within its timeout and exits 0 on success, 1 on
failure (with a reason on stderr), 2 on a usage error.

  ping ADDR [TIMEOUT]            one ICMP echo answered within TIMEOUT s
  tcp-serve ADDR PORT [TIMEOUT]  accept one connection, print what it sent,
                                 answer "echo <hostname> <data>"
  tcp-send ADDR PORT TEXT [TIMEOUT]
                                 send TEXT (stdin if "-"), print the answer
  udp-send ADDR PORT HEX...      one datagram per HEX argument
  udp-garbage ADDR PORT COUNT    COUNT datagrams of random bytes and lengths,
                                 some starting with shoal's magic "SHOL"
  tcp-halfopen ADDR PORT COUNT BYTES HOLD
                                 open COUNT connections, each announcing a
                                 frame of BYTES and sending all of it but
                                 its last byte (random, never a valid seal),
                                 hold them HOLD s; print "closed N of COUNT"
                                 (connections the peer closed meanwhile) and
                                 "refused N" (connections never opened)
  sniff-udp IFACE PORT COUNT TIMEOUT
                                 print, one hex line each, the payloads of
                                 the first COUNT UDP datagrams to PORT that
                                 arrive on IFACE (needs root)
"""

import os
import select
import socket
import struct
import sys
import time


def die(msg):
    print("nettool: " + msg, file=sys.stderr)
    sys.exit(1)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def cmd_ping(addr, timeout="2"):
    deadline = time.monotonic() + float(timeout)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    payload = b"shoal-netns-ping"
    # Resend every 200 ms: the first echo may wait for ARP.
    seq = 0
    while time.monotonic() < deadline:
        seq += 1
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + payload), ident,
                          seq) + payload
        try:
            sock.sendto(pkt, (addr, 0))
        except OSError:
            pass  # unreachable now may be reachable later: keep trying
        step = min(0.2, max(0.0, deadline - time.monotonic()))
        end = time.monotonic() + step
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([sock], [], [], left)
            if not r:
                break
            data, src = sock.recvfrom(2048)
            ihl = (data[0] & 0x0F) * 4
            icmp = data[ihl:ihl + 8]
            if len(icmp) < 8 or src[0] != addr:
                continue
            typ, _, _, rid, _ = struct.unpack("!BBHHH", icmp)
            if typ == 0 and rid == ident:
                return 0
    die("no echo reply from %s within %ss" % (addr, timeout))


def cmd_tcp_serve(addr, port, timeout="10"):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, int(port)))
    srv.listen(1)
    srv.settimeout(float(timeout))
    try:
        conn, peer = srv.accept()
    except socket.timeout:
        die("no connection to %s:%s within %ss" % (addr, port, timeout))
    conn.settimeout(float(timeout))
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.sendall(b"echo " + socket.gethostname().encode() + b" " + data)
    conn.close()
    print("from %s: %s" % (peer[0], data.decode(errors="replace")),
          flush=True)
    return 0


def cmd_tcp_send(addr, port, text, timeout="10"):
    deadline = time.monotonic() + float(timeout)
    while True:
        try:
            conn = socket.create_connection((addr, int(port)), timeout=1)
            break
        except OSError as e:
            if time.monotonic() > deadline:
                die("cannot connect to %s:%s: %s" % (addr, port, e))
            time.sleep(0.1)
    conn.settimeout(float(timeout))
    conn.sendall(sys.stdin.buffer.read() if text == "-" else text.encode())
    conn.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    print(data.decode(errors="replace"))
    return 0


def cmd_udp_send(addr, port, *hexes):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for h in hexes:
        sock.sendto(bytes.fromhex(h), (addr, int(port)))
    return 0


def cmd_udp_garbage(addr, port, count):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(int(count)):
        n = 1 + (i * 97) % 1400
        body = os.urandom(n)
        if i % 2:
            body = b"SHOL" + body
        sock.sendto(body, (addr, int(port)))
        # paced, so that the receiver's socket buffer is not what drops them
        time.sleep(0.002)
    return 0


def cmd_tcp_halfopen(addr, port, count, nbytes, hold):
    nbytes = int(nbytes)
    conns, refused = [], 0
    chunk = os.urandom(65536)
    for _ in range(int(count)):
        try:
            conn = socket.create_connection((addr, int(port)), timeout=2)
        except OSError:
            refused += 1
            continue
        conn.setblocking(False)
        conns.append([conn, struct.pack("!I", nbytes), nbytes - 1])
    # feed every connection as far as the peer reads, until each has sent
    # all but one byte, the peer closed it, or the hold is over
    deadline = time.monotonic() + float(hold)
    closed = 0
    while time.monotonic() < deadline:
        progress = False
        for c in conns:
            sock, head, left = c
            if sock is None:
                continue
            try:
                if head:
                    n = sock.send(head)
                    c[1] = head[n:]
                elif left > 0:
                    n = sock.send(chunk[:min(left, len(chunk))])
                    c[2] = left - n
                else:
                    r, _, _ = select.select([sock], [], [], 0)
                    if r and not sock.recv(1, socket.MSG_PEEK):
                        raise ConnectionResetError
                    continue
                progress = progress or n > 0
            except BlockingIOError:
                pass
            except OSError:
                sock.close()
                c[0] = None
                closed += 1
        if not progress:
            time.sleep(0.05)
    for c in conns:
        if c[0] is not None:
            c[0].close()
    print("closed %d of %d" % (closed, len(conns)))
    print("refused %d" % refused)
    return 0


def cmd_sniff_udp(iface, port, count, timeout):
    eth_p_ip = 0x0800
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                         socket.htons(eth_p_ip))
    sock.bind((iface, eth_p_ip))
    want = int(count)
    deadline = time.monotonic() + float(timeout)
    got = 0
    while got < want:
        left = deadline - time.monotonic()
        if left <= 0:
            die("saw %d of %d datagrams to port %s within %ss" %
                (got, want, port, timeout))
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        frame, meta = sock.recvfrom(65536)
        if meta[2] != socket.PACKET_HOST:
            continue
        ip = frame[14:]
        if len(ip) < 20 or ip[9] != socket.IPPROTO_UDP:
            continue
        ihl = (ip[0] & 0x0F) * 4
        udp = ip[ihl:]
        if len(udp) < 8:
            continue
        _, dport, length, _ = struct.unpack("!HHHH", udp[:8])
        if dport != int(port):
            continue
        print(udp[8:length].hex(), flush=True)
        got += 1
    return 0


COMMANDS = {
    "ping": cmd_ping,
    "tcp-serve": cmd_tcp_serve,
    "tcp-send": cmd_tcp_send,
    "udp-send": cmd_udp_send,
    "udp-garbage": cmd_udp_garbage,
    "tcp-halfopen": cmd_tcp_halfopen,
    "sniff-udp": cmd_sniff_udp,
}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[1]](*argv[2:])
    except TypeError as e:
        print("nettool: %s: %s" % (argv[1], e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

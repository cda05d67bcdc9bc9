#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ptyowner.py DIR: an owner at a terminal, for tests and benchmarks.

Opens a pty whose slave is read by a child (as a login shell reads its
terminal, which is what moves the terminal's access time), writes the
slave's path into DIR/tty, then obeys one word a line from the FIFO
DIR/cmd: "old" sets the slave's access time 1000 s back (the kernel moves
it at most once per 8 s, so a test cannot wait for idleness), "type"
writes a line into the master (the owner types), "again" types too and
sets the access time to now, as the kernel shows it within 8 s (for a
test whose owner types twice within 8 s and needs the second seen at
once), "quit" ends it.
"""
import os
import pty
import sys
import time

d = sys.argv[1]
master, slave = pty.openpty()
name = os.ttyname(slave)
reader = os.fork()
if reader == 0:
    os.close(master)
    while True:
        try:
            if not os.read(slave, 64):
                break
        except OSError:
            break
    os._exit(0)
fifo = os.path.join(d, "cmd")
os.mkfifo(fifo)
with open(os.path.join(d, "tty.tmp"), "w") as f:
    f.write(name + "\n")
os.rename(os.path.join(d, "tty.tmp"), os.path.join(d, "tty"))
try:
    while True:
        with open(fifo) as f:
            for word in f.read().split():
                if word == "old":
                    t = time.time() - 1000
                    os.utime(name, (t, t))
                elif word == "type":
                    os.write(master, b"ls\n")
                elif word == "again":
                    os.write(master, b"ls\n")
                    os.utime(name, None)
                elif word == "quit":
                    raise SystemExit(0)
finally:
    os.kill(reader, 9)
    os.waitpid(reader, 0)

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_logind.py ADDRESS: org.freedesktop.login1 on the D-Bus at ADDRESS,
with the Manager's IdleHint and IdleSinceHint (and a few other properties,
as logind's GetAll has many) through org.freedesktop.DBus.Properties.

Tests steer it through org.freedesktop.login1.Fake:
  SetIdle(b idle, t since_usec)  set both hints
  Stall(d seconds)               answer the next GetAll that much later
Prints "ready" once it owns its name."""
import sys
import time

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

MANAGER = "org.freedesktop.login1.Manager"
FAKE = "org.freedesktop.login1.Fake"


class Manager(dbus.service.Object):
    def __init__(self, conn):
        super().__init__(conn, "/org/freedesktop/login1")
        self.idle = False
        self.since = 0
        self.stall = 0

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s",
                         out_signature="a{sv}")
    def GetAll(self, interface):
        if interface != MANAGER:
            raise dbus.exceptions.DBusException(
                "no interface " + interface,
                name="org.freedesktop.DBus.Error.UnknownInterface")
        if self.stall:
            time.sleep(self.stall)
            self.stall = 0
        return {
            "NAutoVTs": dbus.UInt32(6),
            "IdleHint": dbus.Boolean(self.idle),
            "IdleSinceHint": dbus.UInt64(self.since),
            "IdleSinceHintMonotonic": dbus.UInt64(0),
            "BlockInhibited": dbus.String(""),
            "Docked": dbus.Boolean(False),
        }

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss",
                         out_signature="v")
    def Get(self, interface, name):
        return self.GetAll(interface)[name]

    @dbus.service.method(FAKE, in_signature="bt")
    def SetIdle(self, idle, since):
        self.idle = bool(idle)
        self.since = int(since)

    @dbus.service.method(FAKE, in_signature="d")
    def Stall(self, seconds):
        self.stall = float(seconds)


def main():
    DBusGMainLoop(set_as_default=True)
    conn = dbus.bus.BusConnection(sys.argv[1])
    name = dbus.service.BusName("org.freedesktop.login1", conn)
    manager = Manager(conn)
    print("ready", flush=True)
    GLib.MainLoop().run()
    del name, manager


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Free TCP ports for the deploy tests: one argument per run wanted, its length;
prints the first port of each run (all bound at once while choosing, so no two
runs overlap). Usage: free_ports.py 1 3 1  ->  e.g. "21000 21007 21014"."""
import socket
import sys

held = []


def take(n):
    for base in range(21000, 60000, 7):
        socks = []
        try:
            for i in range(n):
                s = socket.socket()
                s.bind(("0.0.0.0", base + i))
                socks.append(s)
            held.extend(socks)
            return base
        except OSError:
            for s in socks:
                s.close()
    sys.exit("no free ports")


print(" ".join(str(take(int(n))) for n in sys.argv[1:]))

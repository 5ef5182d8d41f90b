#!/usr/bin/env python3
"""ctlping.py SOCK STOPFILE [INTERVAL] - the daemon's own answer time.

Asks `status` on the control socket over and over, as the CLI does (one
connection per request: the request line, then the answer to EOF), and
prints each round trip in microseconds, one a line ("fail" when there was
no OK), until STOPFILE exists; bounded: 20,000 requests, one hour.  Unlike
timing `xmppguard status`, this leaves out starting a process on a busy
machine: what remains is the daemon's loop getting to the request.
"""
import os
import socket
import sys
import time

sock, stop = sys.argv[1], sys.argv[2]
interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1
end = time.monotonic() + 3600
n = 0
while not os.path.exists(stop) and n < 20000 and time.monotonic() < end:
    t0 = time.monotonic_ns()
    ok = False
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(sock)
        s.sendall(b"status\n")
        buf = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
        s.close()
        ok = buf.startswith(b"OK\n")
    except OSError:
        pass
    dt = (time.monotonic_ns() - t0) // 1000
    print(dt if ok else "fail", flush=True)
    n += 1
    time.sleep(interval)

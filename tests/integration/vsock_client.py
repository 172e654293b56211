#!/usr/bin/env python3
"""Host-side client for femtovm's hybrid vsock protocol (tests only).

  vsock_client.py echo UDS PORT NBYTES [NCONN]
      NCONN connections at once (default 1): each writes "CONNECT PORT\\n",
      expects "OK <host_port>\\n" (host_port >= 2^30), then streams NBYTES
      random bytes while reading the echo, shuts down its write side and
      checks that exactly the same bytes came back before EOF.
  vsock_client.py refused UDS PORT
      expects the socket to be closed without an OK line.
Prints one summary line; exit 0 on success, 1 on any mismatch."""
import os
import selectors
import socket
import sys
import time


def connect(uds, port):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(uds)
    s.sendall(b"CONNECT %d\n" % port)
    return s


def read_line(s, limit=64):
    line = b""
    while not line.endswith(b"\n") and len(line) < limit:
        c = s.recv(1)
        if not c:
            break
        line += c
    return line


def echo(uds, port, nbytes, nconn, timeout=120.0):
    conns = []
    for _ in range(nconn):
        s = connect(uds, port)
        s.settimeout(30)
        line = read_line(s)
        if not line.startswith(b"OK ") or int(line[3:]) < (1 << 30):
            print("FAIL bad reply %r" % line)
            return 1
        s.setblocking(False)
        data = os.urandom(nbytes)
        conns.append({"s": s, "data": data, "sent": 0, "got": bytearray(),
                      "eof": False, "port": int(line[3:])})
    ports = {c["port"] for c in conns}
    if len(ports) != nconn:
        print("FAIL host ports not unique")
        return 1
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c["s"], selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    left = nconn
    deadline = time.time() + timeout
    while left and time.time() < deadline:
        for key, ev in sel.select(timeout=1.0):
            c = key.data
            s = c["s"]
            if ev & selectors.EVENT_WRITE and c["sent"] < len(c["data"]):
                try:
                    c["sent"] += s.send(c["data"][c["sent"]:c["sent"] + 65536])
                except BlockingIOError:
                    pass
                if c["sent"] == len(c["data"]):
                    s.shutdown(socket.SHUT_WR)
                    sel.modify(s, selectors.EVENT_READ, c)
            if ev & selectors.EVENT_READ:
                try:
                    b = s.recv(65536)
                except BlockingIOError:
                    continue
                if b:
                    c["got"] += b
                else:
                    c["eof"] = True
                    sel.unregister(s)
                    s.close()
                    left -= 1
    bad = [c for c in conns if not c["eof"] or bytes(c["got"]) != c["data"]]
    total = sum(len(c["got"]) for c in conns)
    if bad:
        c = bad[0]
        print("FAIL %d of %d connections: sent %d got %d eof %s" %
              (len(bad), nconn, c["sent"], len(c["got"]), c["eof"]))
        return 1
    print("ok %d connections, %d bytes echoed" % (nconn, total))
    return 0


def refused(uds, port):
    s = connect(uds, port)
    s.settimeout(20)
    line = read_line(s)
    if line:
        print("FAIL got %r, expected the connection to close" % line)
        return 1
    print("ok refused")
    return 0


def main():
    mode, uds, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "echo":
        nconn = int(sys.argv[5]) if len(sys.argv) > 5 else 1
        return echo(uds, port, int(sys.argv[4]), nconn)
    return refused(uds, port)


if __name__ == "__main__":
    sys.exit(main())

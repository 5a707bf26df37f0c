#!/usr/bin/env python3
"""fault_backend.py - a target for the fault run (test_71_fault_run.py) that
writes down every request it executes and misbehaves on command.

    python3 fault_backend.py --port P --name NAME --log FILE --control FILE

It binds 127.0.0.1:P (SO_REUSEADDR, so that a restart after kill -9 gets the
same port back) and prints "PORT <n>" once it listens. One thread per
connection, HTTP/1.1 keep-alive, request bodies by Content-Length only.

A request is "executed" once its head and body are read in full: one line
"<id> <method> <pid> <port> <mode>" is appended to FILE (O_APPEND, one
write(2), before any byte of the answer goes out, so that a kill -9 never
hides an execution). <id> is the X-Req-Id header (a POST's body must be
"req=<id>"; a mismatch is logged as id "bad:<id>"). Requests without
X-Req-Id (albd's own, none here) are answered but not logged.

The answer, by the mode in CONTROL (one word, read at every request, so it
can be switched while running and survives a restart; no file: "ok"):

  ok          200, "Content-Length", body "<method> <id> <name>\\n"
  slow:MS     the same after MS milliseconds
  reset       the head and 10 of the 100 body bytes it announces, 50 ms
              later an RST (SO_LINGER 0): a reset mid-response
  close       no answer: the connection is closed (FIN) after the request
              was read (the request ran, its answer was lost)
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time


def read_mode(path):
    try:
        with open(path) as f:
            return f.read().strip() or "ok"
    except OSError:
        return "ok"


class Server:
    def __init__(self, args):
        self.name = args.name
        self.control = args.control
        self.log_fd = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.pid = os.getpid()
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", args.port))
        self.ls.listen(512)
        self.port = self.ls.getsockname()[1]

    def serve(self):
        sys.stdout.write("PORT %d\n" % self.port)
        sys.stdout.flush()
        while True:
            c, _ = self.ls.accept()
            threading.Thread(target=self.conn, args=(c,), daemon=True).start()

    def conn(self, c):
        try:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                hdrs = {}
                for line in lines[1:]:
                    n, _, v = line.partition(":")
                    hdrs[n.strip().lower()] = v.strip()
                n = int(hdrs.get("content-length", "0"))
                while len(buf) < n:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                body, buf = buf[:n], buf[n:]
                rid = hdrs.get("x-req-id")
                mode = read_mode(self.control)
                if rid is not None:
                    if method == "POST" and body != ("req=%s" % rid).encode():
                        rid = "bad:" + rid
                    os.write(self.log_fd, ("%s %s %d %d %s\n" % (rid, method, self.pid, self.port, mode)).encode())
                keep = hdrs.get("connection", "").lower() != "close"
                if mode.startswith("slow:"):
                    time.sleep(int(mode[5:]) / 1000.0)
                elif mode == "close":
                    c.close()
                    return
                elif mode == "reset":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Backend: %s\r\n\r\n0123456789"
                              % self.name.encode())
                    time.sleep(0.05)
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    c.close()
                    return
                out = ("%s %s %s\n" % (method, rid, self.name)).encode()
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Backend: %s\r\nX-Req-Id: %s\r\n%s\r\n%s"
                          % (len(out), self.name.encode(), str(rid).encode(),
                             b"" if keep else b"Connection: close\r\n", out))
                if not keep:
                    return
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--control", required=True)
    Server(p.parse_args()).serve()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""demo_backend.py - a tiny HTTP/1.1 backend for trying albd.

    python3 scripts/demo_backend.py --port 8081 --name a

Listens on 127.0.0.1 only. Every GET, HEAD, POST (and PUT, DELETE, PATCH,
OPTIONS) is answered with "hello from backend NAME\n"; /health answers 200
"ok". Responses carry Content-Length and the connection is kept alive, so
albd can pool it. Python standard library only.
"""

import argparse
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive by default
    server_version = "albd-demo-backend"
    backend_name = "?"

    def _discard_body(self):
        """Read the request body so the next request on this connection
        starts at the right byte (Content-Length or chunked)."""
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    return
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers up to the empty line
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                self.rfile.read(size + 2)  # data + CRLF
        n = int(self.headers.get("Content-Length") or 0)
        while n > 0:
            chunk = self.rfile.read(min(n, 65536))
            if not chunk:
                return
            n -= len(chunk)

    def _answer(self, send_body=True):
        self._discard_body()
        if self.path.split("?", 1)[0] == "/health":
            body = b"ok"
        else:
            body = ("hello from backend %s\n" % self.backend_name).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.backend_name)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def do_GET(self):
        self._answer()

    def do_HEAD(self):
        self._answer(send_body=False)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def log_message(self, fmt, *args):
        sys.stderr.write("[backend %s] %s %s\n" % (self.backend_name, self.address_string(),
                                                   fmt % args))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", required=True)
    args = ap.parse_args()

    Handler.backend_name = args.name
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    sys.stderr.write("[backend %s] listening on 127.0.0.1:%d\n" % (args.name, args.port))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()

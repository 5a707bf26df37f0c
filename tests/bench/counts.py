#!/usr/bin/env python3
"""albd's own repeatable figures per proxied request (`make bench`).

Counts, not timings, so they repeat on a busy machine:
  instructions  user-space instructions of the whole albd process per
                request (valgrind --tool=callgrind, counters zeroed after a
                warm-up, dumped after the measured batch)
  syscalls      system calls of the whole process per request (strace -c -f
                attached after the warm-up), with the commonest listed
  allocations   heap allocations (malloc, calloc, realloc, the aligned
                kinds) per request, from tests/bench/alloc_count.c preloaded:
                of the whole process, and of the worker threads alone

Each mode starts albd (one worker, one listener, one round robin group of
two targets, health checks off) in front of a small keep-alive backend
started by this script, warms up with WARM requests, then measures N
requests from C client connections, each sending its next request when the
previous answer has arrived (keep-alive; --close: a new connection per
request). Only albd's own process is measured.

Usage (from the project root, after building):
  tests/bench/counts.py [--albd src/albd] [--modes instructions,syscalls,allocations]
      [--requests N] [--warm N] [--conns C] [--close] [--access-log] [--json FILE]
"""
import argparse, json, os, re, selectors, signal, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BODY = b'0123456789abcdefghi\n'   # 20 bytes, as bench.py's nginx targets answer
RESPONSE = (b'HTTP/1.1 200 OK\r\nServer: counts\r\nContent-Type: text/plain\r\n'
            b'Content-Length: %d\r\n\r\n' % len(BODY)) + BODY
REQUEST = b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: counts\r\nAccept: */*\r\n\r\n'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(('127.0.0.1', port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def backend(ports):
    """A keep-alive HTTP/1.1 target on PORTS: one complete answer per
    request head, in one send."""
    sel = selectors.DefaultSelector()
    for p in ports:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(('127.0.0.1', p))
        ls.listen(1024)
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, None)
    bufs = {}
    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                c.setblocking(False)
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                bufs[c] = b''
                sel.register(c, selectors.EVENT_READ, 1)
                continue
            c = key.fileobj
            try:
                d = c.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b''
            if not d:
                sel.unregister(c)
                bufs.pop(c, None)
                c.close()
                continue
            b = bufs[c] + d
            out = b''
            while b'\r\n\r\n' in b:
                _, b = b.split(b'\r\n\r\n', 1)
                out += RESPONSE
            bufs[c] = b
            if out:
                try:
                    c.sendall(out)
                except OSError:
                    pass


def response_len(buf):
    """Length of the complete response at the start of BUF, or 0."""
    end = buf.find(b'\r\n\r\n')
    if end < 0:
        return 0
    m = re.search(rb'\r\ncontent-length:\s*(\d+)', buf[:end], re.I)
    n = end + 4 + (int(m.group(1)) if m else 0)
    return n if len(buf) >= n else 0


class Client:
    """CONNS client connections to PORT, kept from one batch to the next
    (with --close, a new connection per request), each sending its next
    request when the previous answer has arrived."""

    def __init__(self, port, conns, close):
        self.port, self.conns, self.close = port, conns, close
        self.req = REQUEST if not close else REQUEST.replace(b'\r\n\r\n', b'\r\nConnection: close\r\n\r\n')
        self.idle = []

    def _connect(self):
        s = socket.create_connection(('127.0.0.1', self.port), 10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def run(self, total, timeout=600.0):
        """TOTAL requests; returns the number answered 200."""
        sel = selectors.DefaultSelector()
        left, ok = total, 0

        def send(s):
            nonlocal left
            s.setblocking(True)
            s.sendall(self.req)
            s.setblocking(False)
            left -= 1

        for _ in range(min(self.conns, total)):
            s = self.idle.pop() if self.idle else self._connect()
            send(s)
            sel.register(s, selectors.EVENT_READ, [b''])
        end = time.time() + timeout
        while sel.get_map():
            if time.time() > end:
                raise RuntimeError('requests did not finish in %d s' % timeout)
            for key, _ in sel.select(5):
                s, st = key.fileobj, key.data
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    d = b''
                st[0] += d
                n = response_len(st[0])
                if n:
                    ok += st[0].startswith(b'HTTP/1.1 200 ')
                    st[0] = st[0][n:]
                if not d or self.close:
                    if n or not d:
                        sel.unregister(s)
                        s.close()
                        if left > 0:
                            s = self._connect()
                            send(s)
                            sel.register(s, selectors.EVENT_READ, [b''])
                    continue
                if n:
                    if left > 0:
                        send(s)
                    else:
                        sel.unregister(s)
                        self.idle.append(s)
        return ok


def write_config(d, port, t1, t2, access_log):
    conf = os.path.join(d, 'albd.conf')
    extra = ''
    if access_log:
        extra = 'access_log = { path = "%s"; format = "alb"; };\n' % os.path.join(d, 'access.log')
    with open(conf, 'w') as f:
        f.write('workers = 1;\n'
                'state_dir = "%s";\n'
                'admin = { enabled = false; };\n%s'
                'listeners = ( { name = "web"; listen = "127.0.0.1:%d"; default_forward = "tg"; } );\n'
                'target_groups = ( { name = "tg"; targets = ( { address = "127.0.0.1:%d"; },'
                ' { address = "127.0.0.1:%d"; } ); health_check = { enabled = false; }; } );\n'
                % (os.path.join(d, 'state'), extra, port, t1, t2))
    return conf


class Albd:
    """albd (under PREFIX, e.g. valgrind) in front of this script's
    backend, in a temporary directory; a context manager."""

    def __init__(self, a, prefix=(), env=None):
        self.a, self.prefix, self.env = a, list(prefix), env

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix='albd-counts-')
        self.proc = self.backend = self.log = None
        self.client = None
        try:
            t1, t2 = free_port(), free_port()
            self.backend = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--backend',
                                             '%d,%d' % (t1, t2)], start_new_session=True)
            self.port = free_port()
            conf = write_config(self.dir, self.port, t1, t2, self.a.access_log)
            self.log = open(os.path.join(self.dir, 'albd.log'), 'w')
            env = dict(os.environ, **(self.env or {}))
            self.proc = subprocess.Popen(self.prefix + [self.a.albd, '-c', conf], stdout=self.log,
                                         stderr=subprocess.STDOUT, env=env, start_new_session=True)
            if not (wait_port(t1) and wait_port(t2)):
                raise RuntimeError('the backend did not start')
            if not wait_port(self.port, 120):
                raise RuntimeError('albd did not listen; its log:\n%s' % open(self.log.name).read()[-3000:])
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.client = Client(self.port, self.a.conns, self.a.close)
        return self

    def __exit__(self, *exc):
        if self.client:
            for c in self.client.idle:
                c.close()
        for p in (self.proc, self.backend):
            if p is None:
                continue
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if self.log:
            self.log.close()
        subprocess.run(['rm', '-rf', self.dir])

    def run(self, n):
        ok = self.client.run(n)
        if ok != n:
            raise RuntimeError('%d of %d requests answered 200' % (ok, n))


def instructions(a):
    with Albd(a, ['valgrind', '--tool=callgrind', '--callgrind-out-file=%s/cg.out' % tempfile.gettempdir()
                  + '.%p']) as s:
        out = '%s/cg.out.%d' % (tempfile.gettempdir(), s.proc.pid)
        s.run(a.warm)
        subprocess.run(['callgrind_control', '-z', str(s.proc.pid)], check=True, capture_output=True)
        s.run(a.requests)
        for f in [out] + ['%s.%d' % (out, i) for i in range(1, 20)]:
            if os.path.exists(f):
                os.unlink(f)
        subprocess.run(['callgrind_control', '-d', str(s.proc.pid)], check=True, capture_output=True)
        dumps = [f for f in ['%s.%d' % (out, i) for i in range(1, 20)] if os.path.exists(f)]
        total = 0
        for f in dumps:
            for line in open(f):
                if line.startswith('summary:') or line.startswith('totals:'):
                    total += int(line.split()[1])
                    break
        for f in dumps:
            os.unlink(f)
    s_path = out
    if os.path.exists(s_path):
        os.unlink(s_path)
    return {'instructions_per_request': round(total / a.requests)}


def syscalls(a):
    with Albd(a) as s:
        s.run(a.warm)
        out = os.path.join(s.dir, 'strace.out')
        st = subprocess.Popen(['strace', '-c', '-f', '-o', out, '-p', str(s.proc.pid)],
                              stderr=subprocess.PIPE, text=True)
        # strace says "Process N attached" per thread on stderr; give it a
        # moment to attach to all of them
        time.sleep(1.0)
        s.run(a.requests)
        st.send_signal(signal.SIGINT)
        st.wait(60)
        calls = {}
        for line in open(out):
            f = line.split()
            if len(f) >= 5 and f[0][0].isdigit() and f[-1] != 'total':
                calls[f[-1]] = int(f[3])
        total = sum(calls.values())
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
    return {'syscalls_per_request': round(total / a.requests, 3),
            'syscalls_top': {k: round(v / a.requests, 3) for k, v in top}}


def allocations(a):
    so = os.path.join(tempfile.gettempdir(), 'albd-alloc-count-%d.so' % os.getpid())
    subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-o', so, os.path.join(HERE, 'alloc_count.c')], check=True)
    cf = os.path.join(tempfile.gettempdir(), 'albd-alloc-count-%d.bin' % os.getpid())
    try:
        with Albd(a, env={'LD_PRELOAD': so, 'ALBD_ALLOC_COUNT_FILE': cf}) as s:
            def read():
                b = open(cf, 'rb').read()
                return [int.from_bytes(b[i:i + 8], 'little') for i in range(0, 64, 8)]
            s.run(a.warm)
            time.sleep(1.2)   # let the control thread's once-a-second work settle
            before = read()
            s.run(a.requests)
            after = read()
    finally:
        for f in (so, cf):
            if os.path.exists(f):
                os.unlink(f)
    d = [y - x for x, y in zip(before, after)]
    return {'allocations_per_request': round(d[0] / a.requests, 4),
            'reallocations_per_request': round(d[1] / a.requests, 4),
            'frees_per_request': round(d[2] / a.requests, 4),
            # the workers alone (the control thread's once-a-second work
            # allocates whatever the request rate)
            'allocations_worker_per_request': round((d[4] + d[5]) / a.requests, 4)}


MODES = {'instructions': instructions, 'syscalls': syscalls, 'allocations': allocations}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--backend':
        backend([int(p) for p in sys.argv[2].split(',')])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--albd', default=os.path.join(ROOT, 'src', 'albd'))
    ap.add_argument('--modes', default='instructions,syscalls,allocations')
    ap.add_argument('--requests', type=int, default=20000)
    ap.add_argument('--warm', type=int, default=2000)
    ap.add_argument('--conns', type=int, default=16)
    ap.add_argument('--close', action='store_true', help='a new connection per request')
    ap.add_argument('--access-log', action='store_true', help='with the access log on')
    ap.add_argument('--json', help='write the figures here')
    a = ap.parse_args()
    res = {'requests': a.requests, 'conns': a.conns, 'close': a.close, 'access_log': a.access_log}
    for m in a.modes.split(','):
        res.update(MODES[m](a))
        print('%-28s %s' % (m, {k: v for k, v in res.items() if k.startswith(m[:5])}), flush=True)
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(res, f, indent=1)
    print(json.dumps(res))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Slow readers: albd and nginx side by side under the same slowhttptest -X
attack (many clients reading a 1 MB response a byte at a time), while a
normal client asks for a small response at a steady rate.

One nginx serves the static files (the target: a 1 MB body and a 2-byte
one). Each proxy in turn (albd with the config below, nginx as a reverse
proxy with its defaults: proxy_buffering on, upstream keep-alive), both
with WORKERS workers, is started, left to settle, attacked for DURATION
seconds, and watched for 15 s after the attack ends.

Figures per proxy:
  base_mb        RSS of all its processes before the attack
  peak_mb        the highest RSS during it
  conns          the most client connections to it at once (ESTABLISHED
                 sockets on its port, from /proc/net/tcp)
  sockets        the most sockets it had open beyond those before the attack
                 (albd: a client and a target socket per slow reader; nginx
                 lets the target's go once it has read the body)
  kb_per_conn    (peak - base) / conns
  after_mb       RSS 15 s after slowhttptest ended (its connections closed)
  normal         the normal requests during the attack: count, failures,
                 p50/p99/max latency (ms), how many took over 1 s
  direct         the same requests sent straight to the target at the same
                 time (the control: what the machine and the target add)

Usage (from the project root, after building; as root, or with ulimit -n
high enough: each slow reader takes two descriptors in a proxy):
  tests/bench/slowread_bench.py [--conns 4000] [--duration 30] [--rate 1000]
      [--workers 2] [--albd src/albd] [--only albd|nginx] [--json FILE]
"""
import argparse, json, os, resource, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = '127.0.0.1'


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError('exited with %s' % proc.returncode)
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('did not listen on %d' % port)


def raise_nofile():
    n = 200000
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def tree_pids(pid):
    """PID and its descendants (nginx's workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir('/proc/%d/task' % p):
                with open('/proc/%d/task/%s/children' % (p, t)) as f:
                    todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def rss_kb(pid):
    total = 0
    for p in tree_pids(pid):
        try:
            with open('/proc/%d/status' % p) as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def sockets(pid):
    """Sockets open in PID and its descendants."""
    n = 0
    for p in tree_pids(pid):
        try:
            for fd in os.listdir('/proc/%d/fd' % p):
                try:
                    if os.readlink('/proc/%d/fd/%s' % (p, fd)).startswith('socket:'):
                        n += 1
                except OSError:
                    pass
        except OSError:
            pass
    return n


def established(port):
    """Connections accepted on PORT (local port PORT, ESTABLISHED)."""
    want = ':%04X' % port
    n = 0
    with open('/proc/net/tcp') as f:
        next(f)
        for line in f:
            parts = line.split(None, 4)
            if parts[1].endswith(want) and parts[3] == '01':
                n += 1
    return n


def get(port, path, timeout=10):
    """One request on a new connection; returns the latency in seconds or
    raises."""
    t0 = time.monotonic()
    s = socket.create_connection((HOST, port), timeout=timeout)
    t_conn = time.monotonic() - t0
    try:
        s.sendall(('GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n' % path).encode())
        data = b''
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    finally:
        s.close()
    if not data.startswith(b'HTTP/1.1 200'):
        raise RuntimeError('bad answer %r' % data[:40])
    return time.monotonic() - t0, t_conn


class Normal(threading.Thread):
    """GET PATH every INTERVAL seconds (a new connection each), latencies
    recorded until stop."""

    def __init__(self, port, path, interval=0.1):
        super().__init__(daemon=True)
        self.port, self.path, self.interval = port, path, interval
        self.lat, self.conn_lat, self.failed = [], [], 0
        self.stop_ev = threading.Event()

    def run(self):
        nxt = time.monotonic()
        while not self.stop_ev.is_set():
            try:
                t, tc = get(self.port, self.path)
                self.lat.append(t)
                self.conn_lat.append(tc)
            except Exception:
                self.failed += 1
            nxt += self.interval
            self.stop_ev.wait(max(0.0, nxt - time.monotonic()))

    def summary(self):
        lat = sorted(self.lat)
        if not lat:
            return {'count': 0, 'failed': self.failed}

        def q(x):
            return round(lat[min(len(lat) - 1, int(x * len(lat)))] * 1000, 1)
        return {'count': len(lat), 'failed': self.failed, 'p50_ms': q(0.50), 'p99_ms': q(0.99),
                'max_ms': round(lat[-1] * 1000, 1), 'over_1s': sum(1 for x in lat if x > 1.0),
                'connect_over_1s': sum(1 for x in self.conn_lat if x > 1.0)}


class Sampler(threading.Thread):
    def __init__(self, pid, port):
        super().__init__(daemon=True)
        self.pid, self.port = pid, port
        self.peak_rss = 0
        self.peak_conns = 0
        self.peak_sockets = 0
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            self.peak_rss = max(self.peak_rss, rss_kb(self.pid))
            self.peak_conns = max(self.peak_conns, established(self.port))
            self.peak_sockets = max(self.peak_sockets, sockets(self.pid))
            self.stop_ev.wait(0.25)


BACKEND_CONF = """worker_processes 2;
daemon off;
pid {dir}/backend.pid;
error_log {dir}/backend.err warn;
events {{ worker_connections 20000; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port} reuseport backlog=4096; root {dir}/www; }}
}}
"""

NGINX_CONF = """worker_processes {workers};
daemon off;
pid {dir}/proxy.pid;
error_log {dir}/proxy.err warn;
events {{ worker_connections 20000; }}
worker_rlimit_nofile 200000;
http {{
  access_log off;
  keepalive_requests 1000000;
  proxy_temp_path {dir}/proxy_temp;
  upstream be {{ server 127.0.0.1:{target}; keepalive 256; }}
  server {{ listen 127.0.0.1:{port} reuseport backlog=4096;
    location / {{ proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}
}}
"""

ALBD_CONF = """workers = {workers};
admin = {{ enabled = false; }};
state_dir = "{dir}/state";
timeouts = {{ client_header = 10; client_keepalive = 60; idle = 120; drain = 2; }};
limits = {{ max_connections = 100000; }};
listeners = ( {{ name = "web"; listen = "127.0.0.1:{port}"; default_forward = "tg"; }} );
target_groups = ( {{ name = "tg"; targets = ( {{ address = "127.0.0.1:{target}"; }} );
  response_timeout = 120; health_check = {{ enabled = false; }}; }} );
"""


def run_one(name, cmd, port, a, tmp, target):
    log = open(os.path.join(tmp, name + '.log'), 'w')
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=raise_nofile)
    try:
        wait_port(port, proc)
        for _ in range(20):
            get(port, '/small')
        time.sleep(2.5)
        base = rss_kb(proc.pid)
        base_sockets = sockets(proc.pid)
        sampler = Sampler(proc.pid, port)
        normal = Normal(port, '/small')
        direct = Normal(target, '/small')   # the control: the same, straight to the target
        sampler.start()
        normal.start()
        direct.start()
        slow = subprocess.run(
            ['slowhttptest', '-X', '-c', str(a.conns), '-r', str(a.rate), '-w', '1', '-y', '1', '-n', '1',
             '-z', '1', '-k', '1', '-p', '3', '-l', str(a.duration), '-u',
             'http://%s:%d/1m' % (HOST, port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=raise_nofile,
            timeout=a.duration + 60)
        normal.stop_ev.set()
        direct.stop_ev.set()
        normal.join()
        direct.join()
        sampler.stop_ev.set()
        sampler.join()
        t_end = time.monotonic()
        after = rss_kb(proc.pid)
        while time.monotonic() - t_end < 15:
            time.sleep(0.5)
            after = rss_kb(proc.pid)
        conns = sampler.peak_conns
        res = {'base_mb': round(base / 1024, 1), 'peak_mb': round(sampler.peak_rss / 1024, 1),
               'conns': conns, 'sockets': sampler.peak_sockets - base_sockets,
               'kb_per_conn': round((sampler.peak_rss - base) / conns, 1) if conns else None,
               'after_mb': round(after / 1024, 1), 'slowhttptest_rc': slow.returncode,
               'normal': normal.summary(), 'direct': direct.summary()}
        return res
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--conns', type=int, default=4000)
    ap.add_argument('--duration', type=int, default=30)
    ap.add_argument('--rate', type=int, default=1000, help='slowhttptest connections per second')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--albd', default=os.path.join(ROOT, 'src', 'albd'))
    ap.add_argument('--nginx', default='/usr/sbin/nginx')
    ap.add_argument('--only', choices=('albd', 'nginx'))
    ap.add_argument('--json')
    a = ap.parse_args()
    raise_nofile()
    tmp = tempfile.mkdtemp(prefix='albd-slowread-')
    os.chmod(tmp, 0o755)   # nginx's workers serve www/ as an unprivileged user
    os.makedirs(os.path.join(tmp, 'www'))
    os.makedirs(os.path.join(tmp, 'state'))
    with open(os.path.join(tmp, 'www', '1m'), 'wb') as f:
        f.write(os.urandom(1 << 20))
    with open(os.path.join(tmp, 'www', 'small'), 'wb') as f:
        f.write(b'ok')
    target = free_port()
    with open(os.path.join(tmp, 'backend.conf'), 'w') as f:
        f.write(BACKEND_CONF.format(dir=tmp, port=target))
    be = subprocess.Popen([a.nginx, '-c', os.path.join(tmp, 'backend.conf')], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=raise_nofile)
    results = {}
    try:
        wait_port(target, be)
        if a.only in (None, 'albd'):
            port = free_port()
            conf = os.path.join(tmp, 'albd.conf')
            with open(conf, 'w') as f:
                f.write(ALBD_CONF.format(dir=tmp, port=port, target=target, workers=a.workers))
            results['albd'] = run_one('albd', [a.albd, '-c', conf], port, a, tmp, target)
            print('albd', json.dumps(results['albd']), flush=True)
        if a.only in (None, 'nginx'):
            port = free_port()
            conf = os.path.join(tmp, 'nginx.conf')
            os.makedirs(os.path.join(tmp, 'proxy_temp'), exist_ok=True)
            with open(conf, 'w') as f:
                f.write(NGINX_CONF.format(dir=tmp, port=port, target=target, workers=a.workers))
            results['nginx'] = run_one('nginx', [a.nginx, '-c', conf], port, a, tmp, target)
            print('nginx', json.dumps(results['nginx']), flush=True)
    finally:
        be.terminate()
        try:
            be.wait(10)
        except subprocess.TimeoutExpired:
            be.kill()
            be.wait()
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())

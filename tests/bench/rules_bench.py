#!/usr/bin/env python3
"""Rule matching at scale: albd with 1, 100 and 1000 host+path rules and
target groups of 2 or 1000 targets, side by side in one bench.py run.

Each rule has one literal host and one path prefix, all distinct:
"h<i>.example.com" + "/p<i>/*" for every rule but the last, and the last
(the highest priority number) the path "/*" alone, which is what bench.py's
wrk request (GET / with Host 127.0.0.1:9200) matches: a host condition
cannot name 127.0.0.1 (ALB's host patterns need a '.' followed by letters
only). So at 100 and 1000 rules the request matches the last rule: the
worst case of a linear scan.

The 2-target groups are bench.py's own nginx targets (127.0.0.1:9101 and
:9102). The 1000-target groups are 1000 distinct addresses served by one
extra nginx that this script starts, configured as bench.py's backend (one
worker, the same 20-byte answer), on 127.0.0.1 ports 19000..19999. Health
checks are off in every configuration (health_check = { enabled = false; }),
so every target is routable at once and no check traffic competes with the
load; the admin listener is off too.

Cases (NAME in bench.py's table; ratio = this / the first):
  1r-2t        1 rule, 2 targets: the reference
  100r-2t      100 rules, 2 targets
  1000r-2t     1000 rules, 2 targets
  1000p-2t     1000 rules without a host condition, paths "/p<i>/*" then
               "/*" (the path trie rather than the host table does the work)
  1r-1000t     1 rule, 1000 targets (the cost of a large group alone)
  1000r-1000t  1000 rules, 1000 targets
  old-*        the same configurations run by --old BINARY (e.g. a build
               of the linear-scan router), for a before/after
  nginx-2t, nginx-1000t, haproxy-2t, haproxy-1000t (--peers): nginx and
               haproxy as bench.py configures them (round robin, upstream
               keep-alive), with no rules, in front of the same 2 or 1000
               targets: what 1000 targets cost a proxy whatever its code

Usage (from the project root, after building; nothing else running):
  tests/bench/rules_bench.py [--old /tmp/albd-base/src/albd] [--rounds 3]
      [--secs 5] [--threads 1] [--cases 1r-2t,100r-2t,...] [--json FILE]
"""
import argparse, os, signal, socket, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# ../shared/bench/bench.py from the project root, or from a worktree beside it
BENCH = next((p for p in (os.path.normpath(os.path.join(ROOT, *up, 'shared', 'bench', 'bench.py'))
                          for up in (('..',), ('..', '..'))) if os.path.exists(p)),
             os.path.join(ROOT, '..', 'shared', 'bench', 'bench.py'))
WIDE_BASE = 19000
CASES = ['1r-2t', '100r-2t', '1000r-2t', '1000p-2t', '1r-1000t', '1000r-1000t']


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def albd_config(nrules, ntargets, threads, state_dir, one_host=False):
    """An albd config listening on 127.0.0.1:9200 with NRULES host+path
    rules (the request matches the last) forwarding to a round robin group
    of NTARGETS targets. ONE_HOST: no rule has a host condition (none can
    name the request's 127.0.0.1)."""
    targets = targets_of(ntargets)
    out = ['workers = %d;' % threads,
           'state_dir = "%s";' % state_dir,
           'admin = { enabled = false; };',
           'listeners = ( { name = "web"; listen = "127.0.0.1:9200";',
           '  default_fixed_response = { status = 404; content_type = "text/plain"; body = "no rule\\n"; };',
           '  rules = (']
    rules = []
    for i in range(1, nrules):
        host = '' if one_host else ' host = [ "h%d.example.com" ];' % i
        rules.append('    { priority = %d;%s path = [ "/p%d/*" ];'
                     ' forward = ( { target_group = "tg"; } ); }' % (i, host, i))
    rules.append('    { priority = %d; path = [ "/*" ];'
                 ' forward = ( { target_group = "tg"; } ); }' % nrules)
    out.append(',\n'.join(rules))
    out.append('  ); } );')
    out.append('target_groups = ( { name = "tg"; algorithm = "round_robin";')
    out.append('  health_check = { enabled = false; };')
    out.append('  targets = (')
    out.append(',\n'.join('    { address = "%s"; }' % t for t in targets))
    out.append('  ); } );')
    return '\n'.join(out) + '\n'


def wide_nginx_config(d, n):
    """nginx as bench.py's backend-nginx.conf, on N ports from WIDE_BASE."""
    listens = '\n'.join('    listen 127.0.0.1:%d backlog=4096;' % (WIDE_BASE + i) for i in range(n))
    return ('worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/nginx.err warn;\n'
            'events { worker_connections 8192; }\n'
            'http {\n  access_log off;\n  keepalive_requests 1000000;\n'
            '  server {\n%s\n    location / { return 200 "hello from target x\\n"; }\n  }\n}\n'
            % (d, d, listens))


def nginx_proxy_config(d, targets, threads):
    """nginx as bench.py's nginx-proxy.conf, in front of TARGETS; enough
    idle upstream connections kept for every target to keep one."""
    servers = ' '.join('server %s;' % t for t in targets)
    return ('worker_processes %d;\ndaemon off;\npid %s/nginx-proxy-%d.pid;\n'
            'error_log %s/nginx-proxy.err warn;\nevents { worker_connections 20000; }\n'
            'http {\n  access_log off;\n  keepalive_requests 1000000;\n'
            '  upstream be { %s keepalive %d; }\n'
            '  server { listen 127.0.0.1:9200 reuseport backlog=4096;\n'
            '    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; } }\n}\n'
            % (threads, d, len(targets), d, servers, max(256, 2 * len(targets))))


def haproxy_config(targets, threads):
    """haproxy as bench.py's haproxy.cfg, in front of TARGETS."""
    return ('global\n  nbthread %d\n  maxconn 8000\ndefaults\n  mode http\n  timeout connect 5s\n'
            '  timeout client 60s\n  timeout server 60s\n  option http-keep-alive\n'
            'frontend fe\n  bind 127.0.0.1:9200\n  default_backend be\n'
            'backend be\n  balance roundrobin\n  http-reuse always\n' % threads
            + ''.join('  server t%d %s\n' % (i, t) for i, t in enumerate(targets)))


def targets_of(ntargets):
    if ntargets == 2:
        return ['127.0.0.1:9101', '127.0.0.1:9102']
    return ['127.0.0.1:%d' % (WIDE_BASE + i) for i in range(ntargets)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--albd', default=os.path.join(ROOT, 'src', 'albd'))
    ap.add_argument('--old', help='another albd binary to run the 1000-rule cases with (old-*)')
    ap.add_argument('--cases', default=','.join(CASES))
    ap.add_argument('--old-cases', default='1000r-2t,1000p-2t,1r-1000t,1000r-1000t')
    ap.add_argument('--peers', action='store_true', help='also nginx and haproxy with 2 and 1000 targets')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--secs', type=int, default=5)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--dir', default='/tmp/albd-rules-bench')
    ap.add_argument('--json', help='bench.py writes the medians here')
    ap.add_argument('--bench', default=BENCH, help='path of bench.py')
    a = ap.parse_args()

    os.makedirs(os.path.join(a.dir, 'state'), exist_ok=True)
    cases = [c for c in a.cases.split(',') if c]
    old_cases = [c for c in a.old_cases.split(',') if c] if a.old else []
    specs = []
    for binary, prefix, names in ((a.albd, '', cases), (a.old, 'old-', old_cases)):
        for name in names:
            if name not in CASES:
                sys.exit('unknown case %s (known: %s)' % (name, ', '.join(CASES)))
            rules, targets = name.split('-')
            path = os.path.join(a.dir, name + '.conf')
            with open(path, 'w') as f:
                f.write(albd_config(int(rules[:-1]), int(targets[:-1]), a.threads,
                                    os.path.join(a.dir, 'state'), rules.endswith('p')))
            subprocess.run([binary, '-t', '-c', path], check=True, stdout=subprocess.DEVNULL)
            specs.append('%s%s=%s -c %s' % (prefix, name, binary, path))

    if a.peers:
        for n in (2, 1000):
            path = os.path.join(a.dir, 'nginx-proxy-%dt.conf' % n)
            with open(path, 'w') as f:
                f.write(nginx_proxy_config(a.dir, targets_of(n), a.threads))
            specs.append('nginx-%dt=nginx -c %s' % (n, path))
            path = os.path.join(a.dir, 'haproxy-%dt.cfg' % n)
            with open(path, 'w') as f:
                f.write(haproxy_config(targets_of(n), a.threads))
            specs.append('haproxy-%dt=haproxy -f %s' % (n, path))

    need_wide = a.peers or any(c.endswith('-1000t') for c in cases + old_cases)
    wide = None
    try:
        if need_wide:
            conf = os.path.join(a.dir, 'nginx-wide.conf')
            with open(conf, 'w') as f:
                f.write(wide_nginx_config(a.dir, 1000))
            wide = subprocess.Popen(['nginx', '-c', conf], start_new_session=True, stderr=subprocess.DEVNULL)
            if not (wait_port(WIDE_BASE) and wait_port(WIDE_BASE + 999)):
                sys.exit('the 1000-port nginx did not start (ports %d..%d free?)' % (WIDE_BASE, WIDE_BASE + 999))
        cmd = [sys.executable, a.bench, '--threads', str(a.threads), '--rounds', str(a.rounds),
               '--secs', str(a.secs)] + (['--json', a.json] if a.json else []) + specs
        print('#', ' '.join("'%s'" % c if ' ' in c else c for c in cmd), flush=True)
        return subprocess.run(cmd).returncode
    finally:
        if wide:
            os.killpg(wide.pid, signal.SIGTERM)
            try:
                wide.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(wide.pid, signal.SIGKILL)
                wide.wait()


if __name__ == '__main__':
    sys.exit(main())

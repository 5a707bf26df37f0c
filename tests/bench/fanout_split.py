#!/usr/bin/env python3
"""Where a 1000-target group's extra CPU per request goes (README, "Rule
matching at scale").

Runs albd (1 worker, 1 rule, round robin, health checks off: the configs
rules_bench.py writes) with a group of 2 targets and then one of 1000, both
in front of the same nginx listening on 1000 ports (127.0.0.1:19000..19999),
under wrk -t1 -c64. For each it prints, per request: the CPU of each albd
thread (user and system, from /proc/PID/task/TID/stat), and the TCP
segments and delayed ACKs of the whole machine (/proc/net/snmp,
/proc/net/netstat), which on loopback are albd's, wrk's and nginx's.

Usage (from the project root, after building; nothing else running):
  tests/bench/fanout_split.py [--albd src/albd] [--secs 6] [--rounds 2]
"""
import argparse, os, signal, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import rules_bench as rb  # noqa: E402


def tcp_counters():
    out = {}
    with open('/proc/net/snmp') as f:
        rows = [l.split() for l in f if l.startswith('Tcp:')]
    out.update({k: int(v) for k, v in zip(rows[0][1:], rows[1][1:]) if k in ('OutSegs',)})
    with open('/proc/net/netstat') as f:
        lines = [l.split() for l in f if l.startswith('TcpExt:')]
    out.update({k: int(v) for k, v in zip(lines[0][1:], lines[1][1:]) if k in ('DelayedACKs',)})
    return out


def threads(pid):
    res = {}
    for tid in sorted(os.listdir('/proc/%d/task' % pid), key=int):
        with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        res[tid] = (int(fields[11]), int(fields[12]))   # utime, stime (ticks)
    return res


def wrk(secs):
    out = subprocess.run(['wrk', '-t1', '-c64', '-d%ds' % secs, 'http://127.0.0.1:9200/'],
                         capture_output=True, text=True, check=True).stdout
    return int(next(l for l in out.splitlines() if 'requests in' in l).split()[0])


def run(albd, conf, secs):
    p = subprocess.Popen([albd, '-c', conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        if not rb.wait_port(9200):
            sys.exit('albd did not listen on 127.0.0.1:9200')
        wrk(2)
        t0, c0 = threads(p.pid), tcp_counters()
        n = wrk(secs)
        t1, c1 = threads(p.pid), tcp_counters()
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(60)
    tick_us = 1e6 / os.sysconf('SC_CLK_TCK')
    rows = []
    for i, tid in enumerate(t0):
        if tid not in t1:
            continue
        u = (t1[tid][0] - t0[tid][0]) * tick_us / n
        s = (t1[tid][1] - t0[tid][1]) * tick_us / n
        rows.append('%s user %.2f sys %.2f' % ('control' if i == 0 else 'thread%d' % i, u, s))
    return n / secs, rows, {k: (c1[k] - c0[k]) / n for k in c0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--albd', default=os.path.join(ROOT, 'src', 'albd'))
    ap.add_argument('--secs', type=int, default=6)
    ap.add_argument('--rounds', type=int, default=2)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix='albd-fanout-')
    os.makedirs(os.path.join(d, 'state'))
    confs = {}
    for n in (2, 1000):
        c = rb.albd_config(1, n, 1, os.path.join(d, 'state'))
        # both groups on the same 1000-port nginx, so only the fan-out differs
        c = c.replace('127.0.0.1:9101', '127.0.0.1:%d' % rb.WIDE_BASE)
        c = c.replace('127.0.0.1:9102', '127.0.0.1:%d' % (rb.WIDE_BASE + 1))
        confs[n] = os.path.join(d, 'a%d.conf' % n)
        with open(confs[n], 'w') as f:
            f.write(c)
    conf = os.path.join(d, 'nginx-wide.conf')
    with open(conf, 'w') as f:
        f.write(rb.wide_nginx_config(d, 1000))
    wide = subprocess.Popen(['nginx', '-c', conf], start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        if not (rb.wait_port(rb.WIDE_BASE) and rb.wait_port(rb.WIDE_BASE + 999)):
            sys.exit('the 1000-port nginx did not start')
        print('per request: CPU µs of each albd thread; segments and delayed ACKs of the machine')
        for r in range(a.rounds):
            for n in (2, 1000):
                rps, rows, tcp = run(a.albd, confs[n], a.secs)
                print('%4d targets: %6.0f rps | %s | OutSegs %.3f DelayedACKs %.3f'
                      % (n, rps, ' | '.join(rows), tcp['OutSegs'], tcp['DelayedACKs']), flush=True)
    finally:
        os.killpg(wide.pid, signal.SIGTERM)
        wide.wait(10)
        subprocess.run(['rm', '-rf', d])


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Cost of active health checks: albd checking N targets every second.

Starts nginx answering /health on N ports of 127.0.0.1 (one worker), albd
with one target group of those N targets (health_check interval 1 s), waits
until every target is healthy, then measures albd's CPU time over a window
and prints it as a share of one core, per target and per check.

    scripts/bench-health.py [--targets 1000] [--secs 20] [--albd src/albd]

Needs nginx (Debian: nginx-light). Loopback only.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read()
    f = f[f.rfind(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / TCK


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--secs", type=int, default=20)
    ap.add_argument("--base-port", type=int, default=21000)
    ap.add_argument("--albd", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "albd"))
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="albd-bench-health-")
    ports = range(a.base_port, a.base_port + a.targets)
    listens = "".join("    listen 127.0.0.1:%d;\n" % p for p in ports)
    open(d + "/nginx.conf", "w").write(
        "worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/nginx.err warn;\n"
        "events { worker_connections 4096; }\nhttp {\n  access_log off;\n  server {\n%s"
        "    location /health { return 200 \"ok\\n\"; }\n  }\n}\n" % (d, d, listens))
    targets = ", ".join('{ address = "127.0.0.1:%d"; }' % p for p in ports)
    open(d + "/albd.conf", "w").write(
        "workers = 1;\nlisteners = ( { name = \"web\"; listen = \"127.0.0.1:%d\"; default_forward = \"many\"; } );\n"
        "target_groups = ( { name = \"many\"; targets = ( %s );\n"
        "  health_check = { path = \"/health\"; interval = 1; timeout = 0.5; }; } );\n"
        % (a.base_port - 1, targets))
    nginx = subprocess.Popen(["nginx", "-c", d + "/nginx.conf"], start_new_session=True)
    time.sleep(1)
    log = open(d + "/albd.log", "w")
    albd = subprocess.Popen([a.albd, "-c", d + "/albd.conf"], stderr=log, start_new_session=True)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            text = open(d + "/albd.log").read()
            if len(re.findall(r"state=healthy previous=initial", text)) >= a.targets:
                break
            time.sleep(0.5)
        else:
            sys.exit("not every target became healthy; see %s/albd.log" % d)
        c0, t0 = cpu_seconds(albd.pid), time.time()
        time.sleep(a.secs)
        c1, t1 = cpu_seconds(albd.pid), time.time()
        text = open(d + "/albd.log").read()
        flaps = len(re.findall(r"state=unhealthy", text))
        share = (c1 - c0) / (t1 - t0)
        checks = a.targets * (t1 - t0)  # one check per target per second
        print("targets=%d interval=1s window=%.1fs albd_cpu=%.1f%% of one core  "
              "us_per_check=%.1f  unhealthy_events=%d"
              % (a.targets, t1 - t0, 100 * share, 1e6 * (c1 - c0) / checks, flaps))
    finally:
        albd.send_signal(signal.SIGTERM)
        albd.wait(timeout=10)
        os.killpg(nginx.pid, signal.SIGTERM)
        nginx.wait(timeout=10)


if __name__ == "__main__":
    main()

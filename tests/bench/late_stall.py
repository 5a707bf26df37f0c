#!/usr/bin/env python3
"""late_stall.py - how long one PutMetricData of late points holds albd's
control thread.

    tests/bench/late_stall.py [ALBD_BINARY]   (default src/albd)

Starts albd alone (admin on 127.0.0.1:19190, state in /tmp/albd-late-stall),
puts 1000 points 1100 s apart over the last 13 days (some 300 blocks to
rewrite), and for 40 s times an admin GET every 50 ms (the admin API runs
on the control thread, as the store does). Prints the slowest GET, the
first statistics query after the put and its Sum (1000), and the files in
the state directory at the end. Stops albd by pid.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

binary = sys.argv[1] if len(sys.argv) > 1 else "src/albd"
base = "/tmp/albd-late-stall"
shutil.rmtree(base, ignore_errors=True)
os.makedirs(base + "/state")
with open(base + "/token", "w") as f:
    f.write("tok\n")
with open(base + "/albd.conf", "w") as f:
    f.write('''name = "st"; workers = 1; state_dir = "%s/state";
admin = { listen = "127.0.0.1:19190"; token_file = "%s/token"; };
listeners = ( { name = "web"; listen = "127.0.0.1:18190";
  default_fixed_response = { status = 200; content_type = "text/plain"; body = "ok"; }; } );
target_groups = ( { name = "web"; targets = ( { address = "127.0.0.1:18191"; } );
  health_check = { enabled = false; }; } );
''' % (base, base))
proc = subprocess.Popen([binary, "-c", base + "/albd.conf"], stdout=open(base + "/log", "w"),
                        stderr=subprocess.STDOUT)


def req(method, path, body=None):
    h = {"Authorization": "Bearer tok"}
    if body:
        h["Content-Type"] = "application/json"
    r = urllib.request.Request("http://127.0.0.1:19190" + path, data=body, method=method, headers=h)
    return urllib.request.urlopen(r, timeout=30).read()


try:
    for _ in range(100):
        try:
            req("GET", "/api/v1/target-groups")
            break
        except OSError:
            time.sleep(0.1)
    now = int(time.time())
    pts = [{"MetricName": "x", "Value": 1, "Timestamp": now - 13 * 86400 + k * 1100} for k in range(1000)]
    worst = [0.0]
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            t = time.monotonic()
            req("GET", "/api/v1/target-groups")
            worst[0] = max(worst[0], time.monotonic() - t)
            time.sleep(0.05)
    th = threading.Thread(target=poll)
    th.start()
    time.sleep(1)
    t = time.monotonic()
    req("POST", "/api/v1/metrics/data", json.dumps({"Namespace": "Late", "MetricData": pts}).encode())
    put_s = time.monotonic() - t
    time.sleep(0.2)
    t = time.monotonic()
    r = json.loads(req("GET", "/api/v1/metrics/statistics?namespace=Late&name=x&period=3600&statistics=Sum"
                       "&start=%d&end=%d" % ((now - 14 * 86400) // 3600 * 3600, now)))
    q_s = time.monotonic() - t
    total = sum(d["Sum"] for d in r["Datapoints"])
    time.sleep(40)
    stop.set()
    th.join()
    files = sum(len(f) for _, _, f in os.walk(base + "/state"))
    print("%s: put %.3f s, first query after it %.3f s (Sum %g), slowest admin GET over 40 s %.3f s, files %d"
          % (binary, put_s, q_s, total, worst[0], files))
finally:
    proc.terminate()
    proc.wait(10)

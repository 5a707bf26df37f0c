"""The built-in dashboard (GET / on the admin listener), driven in headless
Chromium (Debian's chromium and chromium-driver, through python3-selenium;
scripts/deps.sh installs them) after real traffic through albd.

Covered: without the token only the login page and its files are served
(app.js, uplot.js and the API answer 401), with CSP, nosniff and an ETag
that If-None-Match turns into 304; the page asks for the token, refuses a
wrong one, and with the right one keeps it for the session (a reload does
not ask again); the charts have data points (requests, latency, errors);
a target whose health checks fail shows as unhealthy with ALB's reason; an
alarm forced to ALARM through the API shows red, in a banner at the top;
the topic and its subscription are listed; the page fits 360 px without
sideways scrolling and turns dark with prefers-color-scheme: dark; the
browser console has no errors; when albd restarts the page says
"disconnected", then goes on by itself.

Screenshots (wide 1280 px, narrow 360 px, dark) are saved in the test's tmp
dir, and also in $ALBD_SCREENSHOT_DIR when set (doc/ keeps current ones:
ALBD_SCREENSHOT_DIR=$PWD/doc).
"""
import json
import os
import re
import shutil
import time
import urllib.parse

import pytest

from conftest import HOST, free_port, get, listener, make_config, target_group, wait_until

pytestmark = pytest.mark.timeout_s(150)

TOKEN = "dashboard-token-0123456789"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

HC = {"enabled": True, "protocol": "HTTP", "port": "traffic-port", "path": "/health",
      "interval": 1, "timeout": 0.5, "healthy_threshold": 2, "unhealthy_threshold": 2,
      "matcher": "200-399"}


def config(port, aport, tok, b1, b2):
    alarms = ({"name": "web-5xx", "metric": "HTTPCode_Target_5XX_Count", "dimensions": {"TargetGroup": "web"},
               "statistic": "Sum", "period": 60, "evaluation_periods": 1, "comparison": "GreaterThanThreshold",
               "threshold": 1000.0, "treat_missing_data": "notBreaching", "alarm_actions": ["ops"]},
              {"name": "web-latency", "metric": "TargetResponseTime", "dimensions": {"TargetGroup": "web"},
               "statistic": "Average", "period": 60, "evaluation_periods": 1,
               "comparison": "GreaterThanThreshold", "threshold": 5.0, "treat_missing_data": "notBreaching"})
    topics = ({"name": "ops", "subscriptions": ({"endpoint": "http://127.0.0.1:9/hook", "format": "raw"},)},)
    return make_config([listener("web", port, "web")], [target_group("web", [b1, b2], health_check=HC)],
                       admin={"listen": "%s:%d" % (HOST, aport), "token_file": str(tok)},
                       alarms=alarms, topics=topics)


def driver_for(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-extensions", "--no-first-run", "--window-size=1280,900",
              "--user-data-dir=%s" % (tmp_path / "chromium-profile")):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    svc = Service(CHROMEDRIVER, log_path=str(tmp_path / "chromedriver.log"))
    d = webdriver.Chrome(service=svc, options=o)
    d.set_page_load_timeout(20)
    d.set_script_timeout(10)
    return d, svc


def errors(logs):
    return [e for e in logs if e.get("level") == "SEVERE"]


def js(d, script, *args):
    return d.execute_script(script, *args)


def shot(d, tmp_path, name, width):
    """A full-page screenshot at WIDTH px into tmp_path (and
    $ALBD_SCREENSHOT_DIR)."""
    d.set_window_size(width, 900)
    time.sleep(0.6)  # the resize handler (100 ms) and uPlot's redraw
    height = js(d, "return document.documentElement.scrollHeight")
    d.set_window_size(width, min(max(height + 160, 600), 5000))  # the window is taller than its viewport
    time.sleep(0.6)
    path = tmp_path / name
    d.save_screenshot(str(path))
    out = os.environ.get("ALBD_SCREENSHOT_DIR")
    if out:
        shutil.copy(path, os.path.join(out, name))
    return path


def test_dashboard_in_chromium(albd, backends, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    assert os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK), \
        "chromium and chromium-driver are needed (scripts/deps.sh installs them)"
    b1 = backends.start("b1")
    b2 = backends.start("b2")
    tok = tmp_path / "token"
    tok.write_text(TOKEN + "\n")
    port, aport = free_port(), free_port()
    a = albd.start(config(port, aport, tok, b1, b2), port=port)

    # -- what is served without the token
    r = a.admin_request("GET", "/")
    assert r.status == 200 and r.header("Content-Type").startswith("text/html")
    csp = r.header("Content-Security-Policy")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.header("X-Content-Type-Options") == "nosniff"
    etag = r.header("ETag")
    assert re.fullmatch(r'"[0-9a-f]{16}"', etag), etag
    assert a.admin_request("GET", "/", headers={"If-None-Match": etag}).status == 304
    assert 'id="login-form"' in r.body.decode()
    for path in ("/ui/boot.js", "/ui/style.css", "/ui/uplot.css"):
        assert a.admin_request("GET", path).status == 200, path
    assert a.admin_request("GET", "/ui/session").json() == {"TokenRequired": True}
    for path in ("/ui/app.js", "/ui/uplot.js", "/api/v1/alarms"):
        assert a.admin_request("GET", path).status == 401, path
    r = a.admin_request("GET", "/ui/app.js", token=TOKEN)
    assert r.status == 200 and b"albdDashboard" in r.body
    assert r.header("Content-Type").startswith("text/javascript")

    # -- traffic: 2xx, target 4xx and 5xx, through albd
    def traffic(n):
        for i in range(n):
            path = "/status?code=404" if i % 10 == 3 else "/status?code=503" if i % 10 == 7 else "/name"
            get(port, path)
    wait_until(lambda: all(d["TargetHealth"]["State"] == "healthy" for d in a.admin_request(
        "GET", "/api/v1/target-groups/web/health", token=TOKEN).json()["TargetHealthDescriptions"]),
        15, interval=0.2, what="both targets healthy")
    traffic(150)

    d, svc = driver_for(tmp_path)
    try:
        base = "http://%s:%d/" % (HOST, aport)
        d.get(base)
        # -- the token is asked for; a wrong one is refused
        wait_until(lambda: d.find_element(By.ID, "login").is_displayed(), 10, what="the login form")
        assert not d.find_element(By.ID, "app").is_displayed()
        assert errors(d.get_log("browser")) == [], "no errors before a token is given"
        d.find_element(By.ID, "token").send_keys("wrong-token\n")
        wait_until(lambda: d.find_element(By.ID, "login-error").is_displayed(), 10, what="the token refused")
        assert "did not accept" in d.find_element(By.ID, "login-error").text
        refused = d.get_log("browser")  # the 401 of app.js, expected
        assert all("401" in e["message"] for e in errors(refused)), refused
        d.find_element(By.ID, "token").send_keys(TOKEN + "\n")
        wait_until(lambda: js(d, "return document.body.getAttribute('data-updated')"), 15,
                   what="the dashboard's first refresh")
        assert js(d, "return sessionStorage.getItem('albd.token')") == TOKEN
        assert not d.find_element(By.ID, "login").is_displayed()

        # -- the charts have data points, and some of them are not zero
        def points(scope, chart):
            el = d.find_element(By.CSS_SELECTOR, '[data-scope="%s"] [data-chart="%s"]' % (scope, chart))
            return int(el.get_attribute("data-points") or 0), float(el.get_attribute("data-max") or 0)

        def charted():
            return points("lb", "req")[0] >= 2 and all(
                points(s, c)[1] > 0 for s, c in (("lb", "req"), ("lb", "lat"), ("lb", "err"),
                                                 ("tg0", "req"), ("tg0", "err"), ("tg0", "hosts")))
        wait_until(charted, 20, interval=0.5, what="non-zero points in the charts")
        canvases = d.find_elements(By.CSS_SELECTOR, ".chart canvas")
        assert len(canvases) >= 8
        # hovering a chart shows the value with its unit and the time
        chart = d.find_element(By.CSS_SELECTOR, '[data-scope="lb"] [data-chart="req"] .u-over')
        from selenium.webdriver import ActionChains
        legend = ""
        for dx in range(1, 150):  # from the right edge (the newest points) leftwards, pixel by pixel
            ActionChains(d).move_to_element_with_offset(chart, chart.size["width"] // 2 - dx, 0).perform()
            legend = d.find_element(By.CSS_SELECTOR, '[data-scope="lb"] [data-chart="req"] .u-legend').text
            if "req/s" in legend:
                break
        assert re.search(r"\d\d:\d\d:\d\d", legend) and re.search(r"[\d.]+ req/s", legend), legend

        # -- the target table: b2 fails its checks, shows unhealthy with its reason
        get(int(b2.addr.rsplit(":", 1)[1]), "/control?health=503")

        def row(target):
            return d.find_element(By.CSS_SELECTOR, '[data-targets="web"] tr[data-target="%s"]' % target)

        def row_state(target):
            # the table is redrawn every second: a row found just before
            # a redraw is gone when it is read
            try:
                return row(target).get_attribute("data-state")
            except StaleElementReferenceException:
                return None
        wait_until(lambda: row_state(b2.addr) == "unhealthy", 25, interval=0.5, what="b2 unhealthy on the page")
        def row_cells(target):
            for _ in range(10):
                try:
                    return [c.text for c in row(target).find_elements(By.TAG_NAME, "td")]
                except StaleElementReferenceException:
                    time.sleep(0.1)
            raise AssertionError("the row of %s kept being redrawn" % target)
        cells = row_cells(b2.addr)
        assert cells[1] == "unhealthy" and cells[2] == "Target.ResponseCodeMismatch", cells
        assert "503" in cells[3], cells
        assert re.search(r"\d\d:\d\d:\d\d \(\d+ s ago\)", cells[4]), cells
        assert row_state(b1.addr) == "healthy"
        # the API addition behind "Since": StateUpdatedTimestamp, moved by b2's change only
        descs = {"%s:%d" % (x["Target"]["Id"], x["Target"]["Port"]): x for x in a.admin_request(
            "GET", "/api/v1/target-groups/web/health", token=TOKEN).json()["TargetHealthDescriptions"]}
        stamps = {t: descs[t]["StateUpdatedTimestamp"] for t in (b1.addr, b2.addr)}
        for v in stamps.values():
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", v), stamps
        assert stamps[b2.addr] > stamps[b1.addr], stamps
        assert int(row(b1.addr).find_element(By.CSS_SELECTOR, "svg.spark").get_attribute("data-points")) >= 1

        # -- an alarm forced to ALARM shows red, at the top
        assert not d.find_element(By.ID, "banner").is_displayed()
        # the alarm is evaluated again 2 s after each minute, which ends the forced
        # state (as CloudWatch's SetAlarmState): force it early in a minute, so the
        # page has over 30 s to show it (a CI run forced it at :59 and lost it at :02)
        while not 3 <= time.time() % 60 <= 30:
            time.sleep(0.5)
        body = json.dumps({"StateValue": "ALARM", "StateReason": "forced by the dashboard test"}).encode()
        r = a.admin_request("PUT", "/api/v1/alarms/web-5xx/state", token=TOKEN, body=body)
        assert r.status == 200, r.body
        wait_until(lambda: d.find_element(By.ID, "banner").is_displayed(), 15, interval=0.5,
                   what="the alarm banner")
        banner = d.find_element(By.ID, "banner")
        assert "web-5xx" in banner.text and "forced by the dashboard test" in banner.text
        assert banner.location["y"] < 80, "the banner is at the top"
        bg = js(d, "return getComputedStyle(arguments[0]).backgroundColor", banner)
        rgb = [int(x) for x in re.findall(r"\d+", bg)[:3]]
        assert rgb[0] > 150 and rgb[1] < 100 and rgb[2] < 100, "red: %s" % bg
        def arow():
            return d.find_element(By.CSS_SELECTOR, 'tr[data-alarm="web-5xx"]')
        assert arow().get_attribute("data-state") == "ALARM" and "alarm" in arow().get_attribute("class")
        state = arow().find_element(By.CSS_SELECTOR, ".state")
        srgb = [int(x) for x in re.findall(r"\d+", js(d, "return getComputedStyle(arguments[0]).backgroundColor",
                                                       state))[:3]]
        assert srgb[0] > 150 and srgb[1] < 100, srgb
        wait_until(lambda: re.search(r"\d\d:\d\d:\d\d .*ALARM", arow().find_element(By.CSS_SELECTOR, ".hist").text),
                   10, interval=0.5, what="the alarm's history")
        assert d.find_element(By.CSS_SELECTOR, 'tr[data-alarm="web-latency"]').get_attribute("data-state") \
            != "ALARM"

        # -- topics and subscriptions
        trow = d.find_element(By.CSS_SELECTOR, 'tr[data-topic="ops"]')
        assert "http://127.0.0.1:9/hook" in trow.text and "msg" in trow.text

        # -- every number carries its unit: the chart headers
        for now in d.find_elements(By.CSS_SELECTOR, ".card .now"):
            assert re.search(r"(req/s|ms|resp/s|conn|hosts)$", now.text), now.text

        # -- the range picker asks for coarser data
        d.find_element(By.CSS_SELECTOR, 'button[data-range="1d"]').click()
        wait_until(lambda: points("lb", "req")[1] > 0 and points("lb", "req")[0] <= 144, 10,
                   interval=0.3, what="the 1 d range")
        d.find_element(By.CSS_SELECTOR, 'button[data-range="15m"]').click()
        wait_until(lambda: points("lb", "req")[0] > 2, 10, interval=0.3, what="back to 15 min")

        # -- screenshots; 360 px: nothing scrolls sideways
        shot(d, tmp_path, "dashboard-wide.png", 1280)
        shot(d, tmp_path, "dashboard-narrow.png", 360)
        assert js(d, "return document.documentElement.scrollWidth") <= js(
            d, "return document.documentElement.clientWidth") + 1
        for c in canvases[:4]:
            assert c.size["width"] <= 360
        # dark mode
        d.execute_cdp_cmd("Emulation.setEmulatedMedia",
                          {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        time.sleep(0.5)
        dark = [int(x) for x in re.findall(r"\d+", js(d, "return getComputedStyle(document.body).backgroundColor"))]
        assert sum(dark[:3]) < 150, dark
        shot(d, tmp_path, "dashboard-dark.png", 1280)
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})

        # -- no console errors while albd was up
        assert errors(d.get_log("browser")) == []

        # -- the token is kept for the session: a reload goes straight in
        d.refresh()
        wait_until(lambda: js(d, "return document.body.getAttribute('data-updated')"), 15,
                   what="the dashboard after a reload")
        assert not d.find_element(By.ID, "login").is_displayed()

        # -- albd restarts: "disconnected", then live again by itself
        a.stop()
        wait_until(lambda: "disconnected" in d.find_element(By.ID, "conn").text, 15, interval=0.3,
                   what="the disconnected mark")
        assert "off" in d.find_element(By.ID, "conn").get_attribute("class")
        assert d.find_elements(By.CSS_SELECTOR, "tr[data-target]"), "the last data stays"
        a.start()
        wait_until(lambda: d.find_element(By.ID, "conn").text.startswith("live"), 20, interval=0.3,
                   what="live again after the restart")
        # only the refused connections while albd was down
        left = [e for e in errors(d.get_log("browser")) if "ERR_CONNECTION_REFUSED" not in e["message"]]
        assert left == [], left
    finally:
        try:
            d.quit()
        finally:
            p = getattr(svc, "process", None)
            if p is not None and p.poll() is None:
                p.kill()

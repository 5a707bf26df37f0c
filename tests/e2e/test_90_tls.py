"""TLS: HTTPS listeners (SNI, policies, resumption, reload, RSA + ECDSA,
certificate checks) and HTTPS targets (re-encryption).

Every certificate and key is made at test time with the openssl CLI: a
session-scoped test CA (EC P-256) and leaf certificates signed by it, with
SANs. Nothing of it is committed.
"""
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import warnings
from pathlib import Path

import pytest

from conftest import (HOST, Conn, expected_sha, free_port, listener, make_config, target_group,
                      wait_until)

OPENSSL = shutil.which("openssl") or "openssl"
CURL = shutil.which("curl")

pytestmark = pytest.mark.timeout_s(30)


# ---------------------------------------------------------------------------
# a small PKI made with the openssl CLI


def openssl(*args, cwd=None, timeout=30):
    r = subprocess.run([OPENSSL] + [str(a) for a in args], cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("openssl %s failed (%d):\n%s%s" % (
            " ".join(map(str, args)), r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace")))
    return r


def genkey(path, kind="ec"):
    if kind == "ec":
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    elif kind == "rsa":
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    else:
        raise ValueError(kind)
    os.chmod(path, 0o600)
    return Path(path)


class Cert:
    def __init__(self, crt, key, cn):
        self.crt = Path(crt)
        self.key = Path(key)
        self.cn = cn

    def entry(self):
        return {"cert": str(self.crt), "key": str(self.key)}


class PKI:
    """A test CA and leaf certificates signed by it."""

    def __init__(self, d):
        self.dir = Path(d)
        self.serial = int(time.time()) * 1000
        self.ca_key = genkey(self.dir / "ca.key")
        self.ca = self.dir / "ca.crt"
        openssl("req", "-x509", "-new", "-key", self.ca_key, "-subj", "/CN=albd test CA",
                "-days", "3650", "-out", self.ca,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        # a minimal "openssl ca" set-up, for certificates with chosen dates
        self.cadb = self.dir / "cadb"
        self.cadb.mkdir()
        (self.cadb / "index.txt").write_text("")
        (self.cadb / "serial").write_text("%016X\n" % (self.serial + 500000))
        self.ca_cnf = self.dir / "ca.cnf"
        self.ca_cnf.write_text(
            "[ ca ]\ndefault_ca = CA_default\n"
            "[ CA_default ]\ndatabase = %s/index.txt\nnew_certs_dir = %s\nserial = %s/serial\n"
            "default_md = sha256\npolicy = policy_any\nunique_subject = no\n"
            "[ policy_any ]\ncommonName = supplied\n" % (self.cadb, self.cadb, self.cadb))
        self.lock = threading.Lock()

    def issue(self, cn, sans, kind="ec", days=365, out_dir=None, dates=None, self_signed=False):
        """A leaf certificate for SANS (["DNS:a.test", "IP:127.0.0.1"]) with
        subject CN=CN; DATES=(start, end) as YYYYMMDDHHMMSSZ uses "openssl ca"
        (for an expired certificate). Returns a Cert."""
        with self.lock:
            self.serial += 1
            serial = self.serial
        d = Path(out_dir or self.dir)
        stem = "%s-%d" % (re.sub(r"[^A-Za-z0-9.-]", "_", cn), serial)
        key = genkey(d / (stem + ".key"), kind)
        crt = d / (stem + ".crt")
        ext = d / (stem + ".ext")
        ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature%s\n"
                       "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n"
                       % (",keyEncipherment" if kind == "rsa" else "", ",".join(sans)))
        if self_signed:
            openssl("req", "-x509", "-new", "-key", key, "-subj", "/CN=%s" % cn, "-days", days,
                    "-set_serial", serial, "-addext", "subjectAltName=%s" % ",".join(sans),
                    "-addext", "extendedKeyUsage=serverAuth", "-out", crt)
            return Cert(crt, key, cn)
        csr = d / (stem + ".csr")
        openssl("req", "-new", "-key", key, "-subj", "/CN=%s" % cn, "-out", csr)
        if dates:
            with self.lock:
                openssl("ca", "-batch", "-notext", "-config", self.ca_cnf, "-cert", self.ca,
                        "-keyfile", self.ca_key, "-in", csr, "-out", crt, "-extfile", ext,
                        "-startdate", dates[0], "-enddate", dates[1])
        else:
            openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                    "-set_serial", serial, "-days", days, "-sha256", "-extfile", ext, "-out", crt)
        return Cert(crt, key, cn)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    p = PKI(tmp_path_factory.mktemp("pki"))
    p.a = p.issue("a.test", ["DNS:a.test"])
    p.b = p.issue("b.test", ["DNS:b.test"])
    p.wild = p.issue("*.c.test", ["DNS:*.c.test"])
    p.r_ec = p.issue("r.test-ecdsa", ["DNS:r.test"], "ec")
    p.r_rsa = p.issue("r.test-rsa", ["DNS:r.test"], "rsa")
    p.ip = p.issue("backend-ip", ["IP:127.0.0.1"])
    p.named = p.issue("backend.test", ["DNS:backend.test"])
    p.untrusted = p.issue("untrusted", ["IP:127.0.0.1", "DNS:backend.test"], self_signed=True)
    return p


# ---------------------------------------------------------------------------
# helpers


def tls_listener(name, port, certs, default_forward="tg", **tls_opts):
    tls = {"certificates": tuple(c.entry() if isinstance(c, Cert) else c for c in certs)}
    tls.update(tls_opts)
    return listener(name, port, default_forward, tls=tls)


def tls_config(port, certs, targets, workers=1, tg_opts=None, **tls_opts):
    return make_config([tls_listener("web", port, certs, **tls_opts)],
                       [target_group("tg", targets, **(tg_opts or {}))], workers=workers)


def client_ctx(pki, min_v=None, max_v=None, ciphers=None, verify=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(cafile=str(pki.ca))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if ciphers:
        ctx.set_ciphers(ciphers)
    with warnings.catch_warnings():  # TLSv1 / TLSv1_1 are deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        if min_v is not None:
            ctx.minimum_version = min_v
        if max_v is not None:
            ctx.maximum_version = max_v
    return ctx


def nocheck_ctx(pki, **kw):
    """Verifies the chain (so that getpeercert() answers) but not the name."""
    ctx = client_ctx(pki, **kw)
    ctx.check_hostname = False
    return ctx


class TLSConn(Conn):
    """conftest.Conn over TLS (python ssl)."""

    def __init__(self, port, server_hostname=None, ctx=None, session=None, timeout=10):
        super().__init__(port, timeout=timeout)
        try:
            self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname, session=session)
        except BaseException:
            self.close()
            raise

    @property
    def cn(self):
        cert = self.sock.getpeercert()
        assert cert, "no verified peer certificate"
        return dict(x[0] for x in cert["subject"])["commonName"]


def peer_cn(port, server_hostname, ctx):
    with TLSConn(port, server_hostname, ctx) as c:
        return c.cn


def s_client(port, *args, timeout=20, request=None):
    """openssl s_client; with REQUEST (bytes) it sends that and reads until
    albd closes (-ign_eof), so that TLS 1.3 tickets arrive."""
    extra = ["-ign_eof"] if request is not None else []
    r = subprocess.run([OPENSSL, "s_client", "-connect", "%s:%d" % (HOST, port)] + extra + list(args),
                       input=request if request is not None else b"", stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace")


def s_client_subject(out):
    m = re.search(r"^subject=(.*)$", out, re.M)
    return m.group(1).strip() if m else None


def hdrs(echo, name):
    return [v for n, v in echo["headers"] if n.lower() == name.lower()]


def handshake_refused(port, server_hostname, ctx):
    """True when the TLS handshake fails."""
    try:
        c = TLSConn(port, server_hostname, ctx, timeout=5)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True
    c.close()
    return False


def run_albd_check(albd_bin, path):
    return subprocess.run([albd_bin, "-t", "-c", str(path)], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15)


# ---------------------------------------------------------------------------
# 1, 2: certificate selection by SNI


@pytest.mark.skipif(CURL is None, reason="curl not installed")
def test_sni_selects_certificate_curl(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a, pki.b, pki.wild], [b1]), port=port)
    for name in ("a.test", "b.test", "x.c.test"):
        r = subprocess.run([CURL, "-sS", "-v", "--max-time", "10", "--cacert", str(pki.ca),
                            "--resolve", "%s:%d:%s" % (name, port, HOST),
                            "https://%s:%d/name" % (name, port)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=15)
        err = r.stderr.decode(errors="replace")
        assert r.returncode == 0, "curl %s: exit %d\n%s" % (name, r.returncode, err)
        assert r.stdout == b"b1", (name, r.stdout)
        want = "*.c.test" if name.endswith(".c.test") else name
        assert re.search(r"subject: CN ?= ?%s\s*$" % re.escape(want), err, re.M), (name, err)


def test_sni_selects_certificate_python(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a, pki.b, pki.wild], [b1]), port=port)
    ctx = client_ctx(pki)  # verifies chain and name
    for name, cn in (("a.test", "a.test"), ("b.test", "b.test"), ("x.c.test", "*.c.test"),
                     ("other-name.c.test", "*.c.test")):
        with TLSConn(port, name, ctx) as c:
            assert c.cn == cn, name
            r = c.request("GET", "/name", host=name)
            assert r.status == 200 and r.body == b"b1", r
            assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    # the wildcard covers one label only; c.test itself is not covered either
    nctx = nocheck_ctx(pki)
    assert peer_cn(port, "y.x.c.test", nctx) == "a.test"
    assert peer_cn(port, "c.test", nctx) == "a.test"
    # SNI is case-insensitive
    assert peer_cn(port, "B.TEST", nctx) == "b.test"


def test_no_sni_or_unknown_name_gets_default_certificate(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    # the first certificate is the default: b.test here
    albd.start(tls_config(port, [pki.b, pki.a], [b1]), port=port)
    ctx = nocheck_ctx(pki)
    with TLSConn(port, None, ctx) as c:  # no SNI at all
        assert c.cn == "b.test"
        r = c.request("GET", "/name")
        assert r.status == 200 and r.body == b"b1", r
    assert peer_cn(port, "unknown.test", ctx) == "b.test"
    assert peer_cn(port, "a.test", ctx) == "a.test"
    # s_client without SNI
    rc, out = s_client(port, "-noservername", "-CAfile", str(pki.ca))
    assert rc == 0, out
    assert s_client_subject(out) in ("CN = b.test", "CN=b.test"), out


# ---------------------------------------------------------------------------
# 3: protocol versions / policies


def tls11_ctx(pki):
    return nocheck_ctx(pki, min_v=ssl.TLSVersion.TLSv1_1, max_v=ssl.TLSVersion.TLSv1_1,
                       ciphers="DEFAULT@SECLEVEL=0")


def test_default_policy_versions(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a], [b1]), port=port)
    # TLS 1.0 / 1.1 refused
    assert handshake_refused(port, "a.test", tls11_ctx(pki))
    assert handshake_refused(port, "a.test", nocheck_ctx(
        pki, min_v=ssl.TLSVersion.TLSv1, max_v=ssl.TLSVersion.TLSv1, ciphers="DEFAULT@SECLEVEL=0"))
    rc, out = s_client(port, "-servername", "a.test", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert rc != 0, out
    assert "alert protocol version" in out or "no protocols available" in out \
        or "unsupported protocol" in out, out
    assert "Cipher is (NONE)" in out, out  # nothing negotiated
    # TLS 1.2 and 1.3 accepted
    for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        with TLSConn(port, "a.test", client_ctx(pki, min_v=v, max_v=v)) as c:
            assert c.sock.version() == v.name.replace("_", "."), c.sock.version()
            assert c.request("GET", "/name", host="a.test").status == 200
    rc, out = s_client(port, "-servername", "a.test", "-tls1_2", "-CAfile", str(pki.ca))
    assert rc == 0 and re.search(r"Protocol\s*: TLSv1\.2", out), out
    # only ECDHE + AEAD ciphers under TLS 1.2
    assert handshake_refused(port, "a.test", client_ctx(
        pki, max_v=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-SHA:AES128-GCM-SHA256"))


def test_modern_policy_refuses_tls12(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a], [b1], policy="modern"), port=port)
    assert handshake_refused(port, "a.test", client_ctx(pki, max_v=ssl.TLSVersion.TLSv1_2))
    assert handshake_refused(port, "a.test", tls11_ctx(pki))
    rc, out = s_client(port, "-servername", "a.test", "-tls1_2")
    assert rc != 0, out
    with TLSConn(port, "a.test", client_ctx(pki)) as c:
        assert c.sock.version() == "TLSv1.3"
        assert c.request("GET", "/name", host="a.test").status == 200


def test_min_version_tls13(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a], [b1], min_version="TLSv1.3"), port=port)
    assert handshake_refused(port, "a.test", client_ctx(pki, max_v=ssl.TLSVersion.TLSv1_2))
    with TLSConn(port, "a.test", client_ctx(pki)) as c:
        assert c.sock.version() == "TLSv1.3"


def test_alpn_http11(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a], [b1]), port=port)
    ctx = client_ctx(pki)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with TLSConn(port, "a.test", ctx) as c:
        assert c.sock.selected_alpn_protocol() == "http/1.1"
        assert c.request("GET", "/name", host="a.test").status == 200
    # a client offering only h2: no ALPN, the handshake still succeeds
    ctx = client_ctx(pki)
    ctx.set_alpn_protocols(["h2"])
    with TLSConn(port, "a.test", ctx) as c:
        assert c.sock.selected_alpn_protocol() is None


# ---------------------------------------------------------------------------
# 4: session resumption across workers


def test_resumption_tls12_s_client_two_workers(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a], [b1], workers=2), port=port)
    rc, out = s_client(port, "-servername", "a.test", "-reconnect", "-tls1_2", "-CAfile", str(pki.ca))
    reused = re.findall(r"^Reused, TLSv1\.2", out, re.M)
    assert len(reused) >= 4, "only %d Reused lines:\n%s" % (len(reused), out)


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_resumption_python_two_workers(albd, backends, pki, version):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a], [b1], workers=2), port=port)
    v = getattr(ssl.TLSVersion, version)
    ctx = client_ctx(pki, min_v=v, max_v=v)
    with TLSConn(port, "a.test", ctx) as c:
        assert c.request("GET", "/name", host="a.test").status == 200  # the ticket comes with it
        sess = c.sock.session
        assert not c.sock.session_reused
    assert sess is not None and sess.has_ticket
    reused = 0
    for i in range(12):
        with TLSConn(port, "a.test", ctx, session=sess) as c:
            assert c.request("GET", "/name", host="a.test").status == 200
            reused += bool(c.sock.session_reused)
            sess = c.sock.session or sess
    assert reused == 12, "%d of 12 connections resumed" % reused


def test_resumption_tls13_new_ticket_each_time(albd, backends, pki, tmp_path):
    """RFC 8446 C.4: a TLS 1.3 client should not use a ticket twice (OpenSSL's
    own clients, wrk and curl, do not), so a resumed connection must bring a
    new ticket, or the client's next connection is a full handshake: a chain
    of connections, each offering the ticket the one before received."""
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a], [b1]), port=port)
    ping = b"GET /ping HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    prev = None
    for i in range(4):
        sess = tmp_path / ("t%d.sess" % i)
        args = ["-servername", "a.test", "-tls1_3", "-sess_out", str(sess)]
        if prev:
            args += ["-sess_in", str(prev)]
        rc, out = s_client(port, *args, request=ping)
        assert rc == 0 and "pong" in out, out
        want = "New" if prev is None else "Reused"
        assert re.search(r"^%s, TLSv1\.3" % want, out, re.M), (i, out)
        # s_client writes -sess_out when a ticket arrives
        assert sess.exists() and sess.stat().st_size > 0, "connection %d brought no ticket" % i
        prev = sess


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_session_for_one_name_not_resumed_for_another(albd, backends, pki, tmp_path, version):
    """RFC 6066 section 3: a server MUST NOT resume a session when the client's
    server_name differs from the session's; it does a full handshake (with
    the certificate of the new name) instead."""
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a, pki.b], [b1]), port=port)
    # python would not offer a session to another name; s_client does
    sess_file = tmp_path / "a.sess"
    ping = b"GET /ping HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    rc, out = s_client(port, "-servername", "a.test", version, "-sess_out", str(sess_file),
                       request=ping)
    assert rc == 0 and "pong" in out, out
    assert sess_file.exists(), out
    rc, out = s_client(port, "-servername", "b.test", version, "-sess_in", str(sess_file),
                       "-CAfile", str(pki.ca))
    assert rc == 0, out
    assert s_client_subject(out) in ("CN = b.test", "CN=b.test"), out
    assert re.search(r"^New, TLSv1\.[23]", out, re.M), out
    # the same name still resumes
    rc, out = s_client(port, "-servername", "a.test", version, "-sess_in", str(sess_file))
    assert re.search(r"^Reused, TLSv1\.[23]", out, re.M), out


# ---------------------------------------------------------------------------
# 5: albd -t rejects bad certificates


@pytest.mark.parametrize("case", ["mismatched_key", "missing_cert", "missing_key", "expired"])
def test_check_rejects_bad_certificate(albd_bin, tmp_path, pki, case):
    a = pki.a
    if case == "mismatched_key":
        entry, culprit = {"cert": str(a.crt), "key": str(pki.b.key)}, pki.b.key
    elif case == "missing_cert":
        culprit = tmp_path / "nope.crt"
        entry = {"cert": str(culprit), "key": str(a.key)}
    elif case == "missing_key":
        culprit = tmp_path / "nope.key"
        entry = {"cert": str(a.crt), "key": str(culprit)}
    else:
        c = pki.issue("expired.test", ["DNS:expired.test"], out_dir=tmp_path,
                      dates=("20200101000000Z", "20200102000000Z"))
        entry, culprit = c.entry(), c.crt
    p = tmp_path / "bad.conf"
    p.write_text(make_config([tls_listener("web", free_port(), [pki.b, entry])],
                             [target_group("tg", ["127.0.0.1:%d" % free_port()])]))
    r = run_albd_check(albd_bin, p)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 1, (r.returncode, out)
    assert str(culprit) in out, out
    assert str(p) in out, out
    if case == "expired":
        assert "expired" in out, out
    # the good files alone pass
    p.write_text(make_config([tls_listener("web", free_port(), [pki.b, pki.a])],
                             [target_group("tg", ["127.0.0.1:%d" % free_port()])]))
    r = run_albd_check(albd_bin, p)
    assert r.returncode == 0, r


# ---------------------------------------------------------------------------
# 6: HTTPS to a plain backend


def test_https_to_plain_backend(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a], [b1]), port=port)
    with TLSConn(port, "a.test", client_ctx(pki)) as c:
        r = c.request("GET", "/name", host="a.test")
        assert r.status == 200 and r.body == b"b1", r
        r = c.request("GET", "/echo-headers", host="a.test",
                      headers={"X-Forwarded-Proto": "http", "X-Forwarded-Port": "1"})
        assert r.status == 200, r
        e = r.json()
        assert hdrs(e, "X-Forwarded-Proto") == ["https"], e
        assert hdrs(e, "X-Forwarded-Port") == [str(port)], e
        assert hdrs(e, "X-Forwarded-For") == ["127.0.0.1"], e
        assert hdrs(e, "Host") == ["a.test"], e
        # the fixed response of the listener is served over TLS as well
        r = c.request("GET", "/ping", host="a.test")
        assert r.status == 200 and r.body == b"pong\n", r
        # bodies larger than a TLS record both ways, on the same connection
        body = os.urandom(3 * 1024 * 1024 + 17)
        r = c.request("POST", "/upload", host="a.test", body=body)
        assert r.status == 200, r
        assert r.json()["length"] == len(body)
        assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()
        for chunked in (0, 1):
            r = c.request("GET", "/download?size=%d&chunked=%d&seed=t%d" % (5 << 20, chunked, chunked),
                          host="a.test", keep_body=False)
            assert r.status == 200 and r.body_len == 5 << 20, r
            assert r.sha256 == expected_sha(5 << 20, "t%d" % chunked)
        r = c.request("GET", "/name", host="a.test")
        assert r.status == 200 and r.body == b"b1", r


# ---------------------------------------------------------------------------
# 7: HTTPS targets (re-encryption)


def test_https_targets(albd, backends, pki):
    good = backends.start("good", "--tls-cert", str(pki.ip.crt), "--tls-key", str(pki.ip.key))
    bad = backends.start("bad", "--tls-cert", str(pki.untrusted.crt), "--tls-key", str(pki.untrusted.key))
    named = backends.start("named", "--tls-cert", str(pki.named.crt), "--tls-key", str(pki.named.key))
    plain = backends.start("plain")
    ports = {n: free_port() for n in ("good", "bad", "noverify", "named_ip", "named_sni", "plain")}
    https = {"protocol": "HTTPS", "ca_file": str(pki.ca)}
    tgs = [
        target_group("tg_good", [good], **https),
        target_group("tg_bad", [bad], **https),
        target_group("tg_noverify", [bad], protocol="HTTPS", tls_verify=False),
        # certificate for backend.test only: the IP does not match it
        target_group("tg_named_ip", [named], **https),
        target_group("tg_named_sni", [named], tls_server_name="backend.test", **https),
        # an HTTPS group in front of a plain HTTP target
        target_group("tg_plain", [plain], **https),
    ]
    lsts = [listener(n, p, "tg_" + n) for n, p in ports.items()]
    albd.start(make_config(lsts, tgs), ports=ports)

    def one(name, path="/name"):
        with Conn(ports[name], timeout=15) as c:
            return c.request("GET", path)

    r = one("good")
    assert r.status == 200 and r.body == b"good", r
    e = one("good", "/echo-headers").json()
    assert hdrs(e, "X-Forwarded-Proto") == ["http"], e
    r = one("bad")
    assert r.status == 502, r
    r = one("noverify")
    assert r.status == 200 and r.body == b"bad", r
    r = one("named_ip")
    assert r.status == 502, r
    r = one("named_sni")
    assert r.status == 200 and r.body == b"named", r
    # the plain target never answers the ClientHello: the handshake fails
    # (502) or times out with the connect timeout (504)
    r = one("plain")
    assert r.status in (502, 504), r
    # keep-alive towards the TLS target: several requests, one connection
    with Conn(ports["good"], timeout=15) as c:
        for _ in range(5):
            r = c.request("GET", "/name")
            assert r.status == 200 and r.body == b"good", r
        r = c.request("GET", "/download?size=%d&chunked=1&seed=re" % (3 << 20), keep_body=False)
        assert r.status == 200 and r.sha256 == expected_sha(3 << 20, "re"), r
        body = os.urandom(2 << 20)
        r = c.request("POST", "/upload", body=body)
        assert r.status == 200 and r.json()["length"] == len(body), r
    with TLSConn(good.port, None, client_ctx(pki, verify=False)) as c:
        st = c.request("GET", "/stats").json()
    assert st["requests"] >= 8
    assert st["accepted"] <= 4, st  # the connections to the target are reused


def test_reload_tightening_target_verification_drops_pooled_connections(albd, backends, pki):
    """Pooled connections to an HTTPS target were made with the group's TLS
    settings of their time: after a reload that turns verification on, a
    target that fails it gets no more requests over the old connections."""
    bad = backends.start("bad", "--tls-cert", str(pki.untrusted.crt), "--tls-key", str(pki.untrusted.key))
    port = free_port()

    def cfg(**tls):
        return make_config([listener("web", port, "tg")], [target_group("tg", [bad], protocol="HTTPS", **tls)])

    a = albd.start(cfg(tls_verify=False), port=port)
    with Conn(port, timeout=15) as c:   # leaves a pooled connection behind
        for _ in range(3):
            r = c.request("GET", "/name")
            assert r.status == 200 and r.body == b"bad", r
    mark = len(a.log())
    a.reload(cfg(ca_file=str(pki.ca)))
    wait_until(lambda: "generation 2" in a.log()[mark:], 10, what="the reload")
    for _ in range(3):
        with Conn(port, timeout=15) as c:
            r = c.request("GET", "/name")
            assert r.status == 502, r
    assert a.alive()


def test_https_listener_and_https_target(albd, backends, pki):
    good = backends.start("good", "--tls-cert", str(pki.ip.crt), "--tls-key", str(pki.ip.key))
    port = free_port()
    albd.start(tls_config(port, [pki.a], [good], tg_opts={"protocol": "HTTPS", "ca_file": str(pki.ca)}),
               port=port)
    with TLSConn(port, "a.test", client_ctx(pki)) as c:
        for _ in range(3):
            r = c.request("GET", "/echo-headers", host="a.test")
            assert r.status == 200, r
            assert hdrs(r.json(), "X-Forwarded-Proto") == ["https"]


# ---------------------------------------------------------------------------
# 8: failed handshakes do not disturb other connections


def bad_plain_http(port):
    s = socket.create_connection((HOST, port), timeout=10)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return data, "reset"
            if not chunk:
                return data, "closed"
            data += chunk
    except socket.timeout:
        return data, "timeout"
    finally:
        s.close()


def bad_garbage(port):
    s = socket.create_connection((HOST, port), timeout=10)
    try:
        s.sendall(b"\x16\x03\x01\x00\x05" + os.urandom(5) + os.urandom(300))
        while True:
            try:
                if not s.recv(65536):
                    return "closed"
            except ConnectionResetError:
                return "reset"
    except socket.timeout:
        return "timeout"
    finally:
        s.close()


def test_failed_handshakes_do_not_disturb_others(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(tls_config(port, [pki.a], [b1]), port=port)
    ctx = client_ctx(pki)
    keep = TLSConn(port, "a.test", ctx, timeout=15)
    assert keep.request("GET", "/name", host="a.test").status == 200
    # a slow request in flight on the kept connection while the bad ones come
    keep.send(Conn.build("GET", "/sleep?ms=1500", host="a.test"))
    results = []
    lock = threading.Lock()

    def run(fn):
        try:
            v = fn()
        except BaseException as e:  # noqa
            v = e
        with lock:
            results.append((fn.__name__ if hasattr(fn, "__name__") else "?", v))

    jobs = []
    for _ in range(8):
        jobs.append(lambda: bad_plain_http(port))
    for _ in range(8):
        jobs.append(lambda: handshake_refused(port, "a.test", tls11_ctx(pki)))
    for _ in range(4):
        jobs.append(lambda: bad_garbage(port))
    threads = [threading.Thread(target=run, args=(j,), daemon=True) for j in jobs]
    for t in threads:
        t.start()
    # an HTTPS request in parallel
    with TLSConn(port, "a.test", ctx) as c:
        r = c.request("GET", "/name", host="a.test")
        assert r.status == 200 and r.body == b"b1", r
    for t in threads:
        t.join(15)
    assert len(results) == 20, results
    for name, v in results:
        assert not isinstance(v, BaseException), results
        if isinstance(v, tuple):  # plain HTTP to the TLS port
            data, how = v
            assert how in ("closed", "reset"), v
            assert not data.startswith(b"HTTP/1.1 200"), v
        elif isinstance(v, bool):
            assert v is True, results
        else:
            assert v in ("closed", "reset"), results
    # the in-flight request completes, the connection stays usable
    r = keep.read_response()
    assert r.status == 200 and r.body == b"slept 1500", r
    r = keep.request("GET", "/name", host="a.test")
    assert r.status == 200 and r.body == b"b1", r
    keep.close()
    for _ in range(5):
        assert peer_cn(port, "a.test", ctx) == "a.test"
    assert a.alive()


# ---------------------------------------------------------------------------
# 9: reload with renewed certificate files


def test_reload_picks_up_renewed_certificate(albd, backends, pki, tmp_path):
    b1 = backends.start("b1")
    port = free_port()
    site_crt, site_key = tmp_path / "site.crt", tmp_path / "site.key"
    first = pki.issue("site-v1", ["DNS:a.test"], out_dir=tmp_path)
    shutil.copy(first.crt, site_crt)
    shutil.copy(first.key, site_key)
    os.chmod(site_key, 0o600)
    a = albd.start(tls_config(port, [{"cert": str(site_crt), "key": str(site_key)}], [b1], workers=2),
                   port=port)
    ctx = client_ctx(pki)
    keep = TLSConn(port, "a.test", ctx, timeout=15)
    assert keep.cn == "site-v1"
    assert keep.request("GET", "/name", host="a.test").status == 200
    # renew: a new key and certificate (new serial, new CN), swapped in atomically
    second = pki.issue("site-v2", ["DNS:a.test"], kind="rsa", out_dir=tmp_path)
    tmp_crt, tmp_key = tmp_path / "site.crt.new", tmp_path / "site.key.new"
    shutil.copy(second.crt, tmp_crt)
    shutil.copy(second.key, tmp_key)
    os.chmod(tmp_key, 0o600)
    os.replace(tmp_key, site_key)
    os.replace(tmp_crt, site_crt)
    a.send_signal(signal.SIGHUP)
    wait_until(lambda: peer_cn(port, "a.test", ctx) == "site-v2", 10,
               what="new connections to get the renewed certificate")
    # every worker serves the new one (each adopts the generation from its
    # mailbox on its own: a busy machine may delay one by a moment)
    wait_until(lambda: all(peer_cn(port, "a.test", ctx) == "site-v2" for _ in range(6)), 10,
               what="every worker to serve the renewed certificate")
    # the connection opened before the reload still works
    r = keep.request("GET", "/name", host="a.test")
    assert r.status == 200 and r.body == b"b1", r
    assert keep.cn == "site-v1"
    keep.close()
    assert a.alive()


def test_reload_keeps_unchanged_certificates(albd, backends, pki, tmp_path):
    """A reload shares the contexts of certificates whose settings and files
    did not change instead of reading them again; touching a file (a
    renewal, as far as albd can tell) makes it read again."""
    b1 = backends.start("b1")
    port = free_port()
    site = pki.issue("site-keep", ["DNS:a.test"], out_dir=tmp_path)
    a = albd.start(tls_config(port, [{"cert": str(site.crt), "key": str(site.key)}], [b1], workers=2),
                   port=port)
    ctx = client_ctx(pki)

    def count(what):
        return a.log().count(what)

    # the sockets listen before the contexts are built and logged
    wait_until(lambda: count("certificates loaded") == 1, 10, what="the first build's log line")
    assert count("contexts kept") == 0
    a.send_signal(signal.SIGHUP)
    wait_until(lambda: count("contexts kept") == 1, 10, what="the reload to keep the contexts")
    assert count("certificates loaded") == 1
    for _ in range(4):
        assert peer_cn(port, "a.test", ctx) == "site-keep"
    # the same content written again: a new modification time
    data = open(site.crt, "rb").read()
    with open(site.crt, "wb") as f:
        f.write(data)
    t = os.stat(site.crt).st_mtime_ns + 1000000
    os.utime(site.crt, ns=(t, t))
    a.send_signal(signal.SIGHUP)
    wait_until(lambda: count("certificates loaded") == 2, 10, what="the reload to read the touched file")
    assert count("contexts kept") == 1
    assert peer_cn(port, "a.test", ctx) == "site-keep"
    assert a.alive()


def test_reload_empty_ciphersuites_is_a_change(albd, backends, pki, tmp_path):
    """ciphersuites = "" (TLS 1.3 off) is another setting than none: a
    reload to it builds new contexts instead of keeping the old ones."""
    b1 = backends.start("b1")
    port = free_port()
    site = pki.issue("site-suites", ["DNS:a.test"], out_dir=tmp_path)
    certs = [{"cert": str(site.crt), "key": str(site.key)}]
    a = albd.start(tls_config(port, certs, [b1]), port=port)
    ctx = client_ctx(pki)
    with TLSConn(port, "a.test", ctx) as c:
        assert c.sock.version() == "TLSv1.3"
    a.reload(tls_config(port, certs, [b1], ciphersuites=""))
    wait_until(lambda: a.log().count("certificates loaded") == 2, 10, what="the reload to build new contexts")
    assert "contexts kept" not in a.log()
    with TLSConn(port, "a.test", ctx) as c:   # TLS 1.3 off, and nothing else broken
        assert c.sock.version() == "TLSv1.2"
        assert c.request("GET", "/name", host="a.test").status == 200
    # with the "modern" policy (TLS 1.3 only) an empty list is an error
    p = tmp_path / "modern.conf"
    p.write_text(tls_config(port, certs, [b1], policy="modern", ciphersuites=""))
    r = subprocess.run([a.bin, "-t", "-c", str(p)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15)
    assert r.returncode == 1 and b"ciphersuites: empty" in r.stderr, r.stderr
    assert a.alive()


@pytest.mark.parametrize("workers", [1, 2])
def test_reload_during_tls_handshakes(albd, backends, pki, workers):
    """New HTTPS connections keep working across reloads: a connection
    accepted just before a reload finishes its handshake (and is served)."""
    b1 = backends.start("b1")
    port = free_port()
    a = albd.start(tls_config(port, [pki.a], [b1], workers=workers), port=port)
    ctx = client_ctx(pki)
    errors = []
    ok = [0]
    for i in range(20):
        a.send_signal(signal.SIGHUP)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.15 and len(errors) < 5:
            try:
                with TLSConn(port, "a.test", ctx, timeout=5) as c:
                    r = c.request("GET", "/name", host="a.test")
                    assert r.status == 200 and r.body == b"b1", r
                ok[0] += 1
            except Exception as e:  # noqa
                errors.append("reload %d, +%.3f s: %r" % (i, time.monotonic() - t0, e))
        if errors or not a.alive():
            break
    assert a.alive(), "albd died (exit %s) during reloads; errors: %s" % (a.proc.returncode, errors)
    assert not errors, "%d failed of %d: %s" % (len(errors), ok[0] + len(errors), errors)


def test_reload_with_broken_certificate_keeps_old(albd, backends, pki, tmp_path):
    b1 = backends.start("b1")
    port = free_port()
    site_crt, site_key = tmp_path / "site.crt", tmp_path / "site.key"
    shutil.copy(pki.a.crt, site_crt)
    shutil.copy(pki.a.key, site_key)
    os.chmod(site_key, 0o600)
    a = albd.start(tls_config(port, [{"cert": str(site_crt), "key": str(site_key)}], [b1]), port=port)
    ctx = client_ctx(pki)
    assert peer_cn(port, "a.test", ctx) == "a.test"
    # a key that does not match the certificate: the reload is refused
    shutil.copy(pki.b.key, site_key)
    a.send_signal(signal.SIGHUP)
    wait_until(lambda: str(site_key) in a.log(), 10, what="albd to report the bad key")
    time.sleep(0.3)
    assert a.alive()
    assert peer_cn(port, "a.test", ctx) == "a.test"
    with TLSConn(port, "a.test", ctx) as c:
        assert c.request("GET", "/name", host="a.test").status == 200


# ---------------------------------------------------------------------------
# 10: RSA + ECDSA certificates for the same name


def test_rsa_and_ecdsa_for_same_name(albd, backends, pki):
    b1 = backends.start("b1")
    port = free_port()
    albd.start(tls_config(port, [pki.a, pki.r_ec, pki.r_rsa], [b1]), port=port)
    tls12 = ssl.TLSVersion.TLSv1_2
    ec = client_ctx(pki, max_v=tls12, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    rsa = client_ctx(pki, max_v=tls12, ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    for _ in range(2):
        with TLSConn(port, "r.test", ec) as c:
            assert c.cn == "r.test-ecdsa"
            assert c.sock.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"
            assert c.request("GET", "/name", host="r.test").status == 200
        with TLSConn(port, "r.test", rsa) as c:
            assert c.cn == "r.test-rsa"
            assert c.sock.cipher()[0] == "ECDHE-RSA-AES128-GCM-SHA256"
            assert c.request("GET", "/name", host="r.test").status == 200
    # s_client: TLS 1.2 by cipher, TLS 1.3 by signature algorithm
    for args, cn in (
            (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], "r.test-ecdsa"),
            (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], "r.test-rsa"),
            (["-tls1_2", "-sigalgs", "ECDSA+SHA256"], "r.test-ecdsa"),
            (["-tls1_3", "-sigalgs", "ECDSA+SHA256"], "r.test-ecdsa"),
            (["-tls1_3", "-sigalgs", "rsa_pss_rsae_sha256"], "r.test-rsa")):
        rc, out = s_client(port, "-servername", "r.test", "-CAfile", str(pki.ca), *args)
        assert rc == 0, (args, out)
        assert s_client_subject(out) in ("CN = %s" % cn, "CN=%s" % cn), (args, out)
    # the name with a single certificate is not disturbed
    assert peer_cn(port, "a.test", client_ctx(pki)) == "a.test"


# ---------------------------------------------------------------------------
# 11: warnings at start


def test_warnings_key_mode_and_near_expiry(albd, backends, pki, tmp_path):
    b1 = backends.start("b1")
    port = free_port()
    open_key = tmp_path / "open.key"
    shutil.copy(pki.b.key, open_key)
    os.chmod(open_key, 0o644)
    short = pki.issue("short.test", ["DNS:short.test"], days=5, out_dir=tmp_path)
    a = albd.start(tls_config(port, [pki.a, {"cert": str(pki.b.crt), "key": str(open_key)}, short],
                              [b1]), port=port)
    log = wait_until(lambda: (lambda t: t if ("readable by" in t and "expires in" in t) else None)(a.log()),
                     5, what="both warnings in the log")
    readable = [ln for ln in log.splitlines() if "readable by" in ln]
    expiring = [ln for ln in log.splitlines() if "expires in" in ln]
    assert any(str(open_key) in ln for ln in readable), readable
    assert not any(str(pki.a.key) in ln for ln in readable), readable  # mode 0600: no warning
    assert any(str(short.crt) in ln and re.search(r"expires in [45] days", ln) for ln in expiring), expiring
    assert not any(str(pki.a.crt) in ln for ln in expiring), expiring  # valid for a year
    # it still serves all of them
    assert peer_cn(port, "short.test", client_ctx(pki)) == "short.test"
    assert peer_cn(port, "b.test", client_ctx(pki)) == "b.test"


# ---------------------------------------------------------------------------
# ClientTLSNegotiationErrorCount: handshakes a client began and that failed


def tls_errors(a):
    """albd_client_tls_negotiation_errors_total of the load balancer."""
    text = a.admin_request("GET", "/metrics").body.decode()
    m = re.search(r'(?m)^albd_client_tls_negotiation_errors_total\{load_balancer="[^"]*"\} (\S+)$', text)
    return float(m.group(1)) if m else None


def test_client_tls_negotiation_errors_need_a_byte(albd, backends, pki):
    """As ALB's: "TLS connections initiated by the client that did not
    establish a session". A TCP connection that closes without a byte
    (a port probe, as the e2e start-up's) initiated nothing; plaintext HTTP
    to the port, a refused version, a ClientHello cut short (the handshake
    timeout) and a client refusing the certificate did."""
    b1 = backends.start("b1")
    port = free_port()
    cfg = make_config([tls_listener("web", port, [pki.a])], [target_group("tg", [b1])],
                      timeouts={"client_header": 1}, name="lb1")
    a = albd.start(cfg, port=port)   # its start-up probed the port with bare connections
    for _ in range(3):
        socket.create_connection((HOST, port), timeout=5).close()
    # a client that connects and stays silent until client_header
    silent = socket.create_connection((HOST, port), timeout=5)
    assert silent.recv(100) == b""
    silent.close()
    with TLSConn(port, "a.test", client_ctx(pki)) as c:   # a session: no error
        assert c.request("GET", "/name", host="a.test").status == 200
    time.sleep(1.5)   # the fold: once a second
    assert tls_errors(a) == 0
    data, how = bad_plain_http(port)
    assert how in ("closed", "reset") and not data.startswith(b"HTTP/"), (data, how)
    wait_until(lambda: tls_errors(a) == 1, 5, what="one TLS negotiation error")
    assert handshake_refused(port, "a.test", tls11_ctx(pki))
    stalled = socket.create_connection((HOST, port), timeout=5)
    stalled.sendall(b"\x16\x03\x01")   # a ClientHello begun, then nothing
    assert stalled.recv(100) == b""
    stalled.close()
    # a client that refuses the certificate (not from a CA it trusts)
    assert handshake_refused(port, "a.test", ssl.create_default_context())
    wait_until(lambda: tls_errors(a) == 4, 5, what="four TLS negotiation errors")
    from test_48_metrics import wait_total
    wait_total(a, "ClientTLSNegotiationErrorCount", 4)

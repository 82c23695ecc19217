#!/usr/bin/env python3
"""Hostile input against the real `tether server` and `tether bootstrap` binaries, on
127.0.0.1, with raw datagrams, raw CoAP-over-TCP frames and raw HTTP requests (never our own
client): the regressions of issue 15. Usage: hostile_interop.py TETHER_BINARY SCENARIO

Scenarios:
  coap-utf8        ep=\\xff\\xff over UDP and TCP: 4.00, nothing stored, the API and an open
                   /api/events stream live on, a warn line says why
  bootstrap-utf8   the same against the bootstrap server; PUT /api/bootstrap/%FF is a 400,
                   and the server still stops on SIGTERM
  api-names        bad names in API paths are 400s and poison nothing; a%2Fb is reachable
  api-slow         slow senders and many event streams do not starve the API
  api-bodies       a 200 MB Content-Length is refused with 413 unread; JSON is JSON whatever
                   the Content-Type; memory stays flat
  api-port         a second server on the same API port fails to start, loudly
  api-access       loopback by default, the bearer token, no secret in any answer, a 0700
                   data directory with 0600 files
  log-injection    a newline in a name cannot forge a log line
  sync-writes      with --sync-writes every acknowledged registration survives SIGKILL
  udp-sources      datagrams from 600 source ports against --max-stray-peers 50: each is
                   answered, the server forgets all but 50 (counted in /metrics), and a
                   device registered before the spray is still read
  server-full      --max-registrations 2: a third endpoint's Register gets 5.03 with a
                   Max-Age of 30-90 s while the two registered still update; with
                   --max-queued-per-client 1 a sleeping client's second queued request is a
                   503 with Retry-After from the API
  tcp-release      a CoAP/TCP server (raw frames) releases `tether client`'s connection with
                   Hold-Off and Alternative-Address (RFC 8323 5.5): the client waits out the
                   hold-off and takes its next connection to the other address
"""
import json
import os
import random
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_util import fail_with_logs, free_port  # noqa: E402
from raw_wire import (EventStream, code_text, http, read_tcp_frames,  # noqa: E402
                      register_options, tcp_frame, udp_code, udp_exchange, udp_message,
                      udp_options)

TETHER = sys.argv[1]
SCENARIO = sys.argv[2]
WORK = tempfile.mkdtemp(prefix="tether-hostile-")
PROCS = []


def fail(msg):
    fail_with_logs(msg, WORK)


def check(cond, msg):
    if not cond:
        fail(msg)


# --- processes -------------------------------------------------------------------------


class Service:
    def __init__(self, role, extra=(), name=None, http_port=None, coap_port=None, data=None):
        self.role = role
        self.coap_port = coap_port or free_port()
        self.http_port = http_port or free_port()
        self.data = data or os.path.join(WORK, "data-" + (name or role))
        self.log = os.path.join(WORK, (name or role) + ".log")
        args = [TETHER, role, "--bind", "127.0.0.1", "--coap-port", str(self.coap_port),
                "--coaps-port", "0", "--http-port", str(self.http_port), "--data-dir", self.data]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "ab"))
        PROCS.append(self.proc)

    def wait_up(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail(f"{self.role} exited with {self.proc.returncode} while starting")
            try:
                status, _, _ = http(self.http_port, "GET", "/api/health", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        fail(f"{self.role} did not come up")

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self, timeout=20):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            fail(f"{self.role} ignored SIGTERM for {timeout} s")


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()


# --- raw HTTP and CoAP: raw_wire.py ----------------------------------------------------


def api_json(port, method, path, body=None, headers=None, want=200):
    raw = json.dumps(body).encode() if body is not None else b""
    status, hdrs, data = http(port, method, path, raw, headers)
    check(status == want, f"{method} {path}: expected {want}, got {status}: {data[:300]!r}")
    return json.loads(data) if data else None


# --- scenarios ---------------------------------------------------------------------------

# The datagram of the report: POST /rd?ep=\xff\xff with </1/0>.
REPORTED = bytes.fromhex("40 02 12 34 b2 72 64 44 65 70 3d ff ff 3c 2f 31 2f 30 3e")


def coap_utf8():
    s = Service("server", ["--store", "sqlite"]).wait_up()
    events = EventStream(s.http_port)
    check(events.wait_for(": tether events"), "the event stream did not open")
    reply = udp_exchange(s.coap_port, REPORTED)
    check(udp_code(reply) == "4.00", f"UDP: expected 4.00, got {udp_code(reply)}")
    check(b"not valid UTF-8" in reply, f"no reason in {reply!r}")
    # The same over CoAP over TCP: a CSM, then the request.
    t = socket.create_connection(("127.0.0.1", s.coap_port), timeout=5)
    t.sendall(tcp_frame(0xE1, b"", []))  # 7.01 CSM
    t.sendall(tcp_frame(0x02, b"\x01\x02", register_options(b"\xff\xfe"), b"</1/0>"))
    code, payload = read_tcp_frames(t)
    t.close()
    check(code_text(code) == "4.00", f"TCP: expected 4.00, got {code_text(code)} {payload!r}")
    # sms and pid are checked too.
    reply = udp_exchange(s.coap_port, udp_message(0x02, 0x4242, b"\x07", register_options(
        b"dev1", [b"sms=\xff"]), b"</1/0>"))
    check(udp_code(reply) == "4.00", f"sms=\\xff: got {udp_code(reply)}")
    check(events.wait_for("event: refused"), "no refused event on the stream")
    # Nothing was stored; the API answers everyone, the stream is still there.
    check(api_json(s.http_port, "GET", "/api/clients") == [], "something was registered")
    check(s.alive(), "the server died")
    check(not events.closed, "the event stream was closed")
    # A good registration still works, and the event stream sees it.
    reply = udp_exchange(s.coap_port, udp_message(0x02, 0x4343, b"\x08", register_options(
        b"good"), b"</1/0>"))
    check(udp_code(reply) == "2.01", f"a good Register got {udp_code(reply)}")
    check(events.wait_for("event: registered"), "no registered event")
    check(s.stop() == 0, "the server did not stop cleanly")
    log = s.log_text()
    check("level=warn event=refused" in log, "no warn line for the refusal")
    # Across a restart the API still answers.
    s2 = Service("server", ["--store", "sqlite"], name="server2", data=s.data).wait_up()
    names = [c["endpoint"] for c in api_json(s2.http_port, "GET", "/api/clients")]
    check(names == ["good"], f"after restart: {names}")


def bootstrap_utf8():
    b = Service("bootstrap").wait_up()
    events = EventStream(b.http_port)
    check(events.wait_for(": tether events"), "the event stream did not open")
    bs_request = udp_message(0x02, 0x5151, b"\x09", [(11, b"bs"), (15, b"ep=\xff\xff")])
    reply = udp_exchange(b.coap_port, bs_request)
    check(udp_code(reply) == "4.00", f"Bootstrap-Request: got {udp_code(reply)}")
    config = {"security": {"1": {"uri": "coap://127.0.0.1:5683", "bootstrap": False,
                                 "mode": "nosec", "shortServerId": 101}},
              "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U"}}}
    raw = json.dumps(config).encode()
    status, _, body = http(b.http_port, "PUT", "/api/bootstrap/%FF", raw)
    check(status == 400, f"PUT /api/bootstrap/%FF: {status} {body!r}")
    api_json(b.http_port, "PUT", "/api/bootstrap/dev1", config)
    check(list(api_json(b.http_port, "GET", "/api/bootstrap").keys()) == ["dev1"], "configs")
    check(b.alive() and not events.closed, "the bootstrap server or its stream died")
    started = time.time()
    code = b.stop(timeout=20)
    check(code == 0, f"exit code {code} on SIGTERM")
    check(time.time() - started < 20, "SIGTERM took too long")


def api_names():
    s = Service("server", ["--store", "sqlite"]).wait_up()
    creds = json.dumps({"mode": "psk", "identity": "x", "key": "0102"}).encode()
    for bad in ("%FF", "a%0Ab", "a%00b", "%C0%AF", "a%zz"):
        status, headers, body = http(s.http_port, "PUT", "/api/security/clients/" + bad, creds)
        check(status == 400, f"PUT {bad}: {status} {body!r}")
        check(not any("exception" in k for k in headers), f"an exception header: {headers}")
    check(api_json(s.http_port, "GET", "/api/security/clients") == [], "a bad name was stored")
    api_json(s.http_port, "PUT", "/api/security/clients/a%2Fb",
             {"mode": "psk", "identity": "ab", "key": "0102"})
    got = api_json(s.http_port, "GET", "/api/security/clients/a%2Fb")
    check(got["endpoint"] == "a/b", f"a/b: {got}")
    api_json(s.http_port, "GET", "/api/clients/%FF", want=400)
    # A name as long as a name may be, and one byte longer.
    api_json(s.http_port, "PUT", "/api/security/clients/" + "n" * 256,
             {"mode": "psk", "identity": "long", "key": "01"})
    api_json(s.http_port, "PUT", "/api/security/clients/" + "n" * 257,
             {"mode": "psk", "identity": "longer", "key": "01"}, want=400)
    check(s.stop() == 0, "the server did not stop cleanly")


def api_slow():
    s = Service("server", ["--store", "memory"]).wait_up()
    slow = []
    for _ in range(20):
        c = socket.create_connection(("127.0.0.1", s.http_port), timeout=5)
        c.sendall(b"G")
        slow.append(c)
    streams = [EventStream(s.http_port) for _ in range(20)]
    for st in streams:
        check(st.wait_for(": tether events"), "an event stream did not open")

    stop = threading.Event()

    def drip():
        # One byte a second on each slow connection, as the report did.
        request = b"ET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
        for i in range(len(request)):
            if stop.wait(1.0):
                return
            for c in slow:
                try:
                    c.sendall(request[i:i + 1])
                except OSError:
                    pass

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        for _ in range(5):
            started = time.time()
            status, _, _ = http(s.http_port, "GET", "/api/health", timeout=5)
            check(status == 200, f"health: {status}")
            api_json(s.http_port, "GET", "/api/clients")
            elapsed = time.time() - started
            check(elapsed < 5, f"the API took {elapsed:.1f} s under slow connections")
            time.sleep(1)
        # The request deadline ends the slow ones: 408 (or closed) within 10 s of their
        # first byte, with a generous margin for a loaded machine.
        deadline = time.time() + 25
        cut = 0
        for c in slow:
            c.settimeout(max(0.1, deadline - time.time()))
            try:
                data = c.recv(4096)
                cut += 1
                check(data == b"" or data.startswith(b"HTTP/1.1 408"), f"got {data[:60]!r}")
            except socket.timeout:
                pass
        check(cut == len(slow), f"only {cut} of {len(slow)} slow connections were cut")
    finally:
        stop.set()
    # Streams beyond the cap get 503, not a worker.
    more = [EventStream(s.http_port) for _ in range(50)]
    time.sleep(1)
    refused = sum(1 for m in more if m.data.startswith(b"HTTP/1.1 503"))
    check(refused >= 6, f"{refused} event streams were refused past the cap of 64")
    status, _, _ = http(s.http_port, "GET", "/api/health")
    check(status == 200, "health after the streams")
    check(s.stop() == 0, "the server did not stop cleanly")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def api_bodies():
    s = Service("server", ["--store", "memory", "--api-max-body", "1048576"]).wait_up()
    before = rss_kb(s.proc.pid)
    c = socket.create_connection(("127.0.0.1", s.http_port), timeout=10)
    c.sendall(b"PUT /api/security/clients/dev1 HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 200000000\r\n\r\n{\"mode\":")
    data = c.recv(4096)
    c.close()
    check(data.startswith(b"HTTP/1.1 413"), f"200 MB body: {data[:80]!r}")
    # Sent anyway, chunk by chunk, it is cut at the cap.
    c = socket.create_connection(("127.0.0.1", s.http_port), timeout=10)
    c.sendall(b"PUT /api/security/clients/dev1 HTTP/1.1\r\nHost: x\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    answer = b""
    try:
        for _ in range(200):
            c.sendall(b"10000\r\n" + b" " * 0x10000 + b"\r\n")
    except OSError:
        pass
    try:
        c.settimeout(5)
        answer = c.recv(4096)
    except OSError:
        pass
    c.close()
    check(answer.startswith(b"HTTP/1.1 413") or answer == b"", f"chunked: {answer[:80]!r}")
    after = rss_kb(s.proc.pid)
    check(after - before < 64 * 1024, f"RSS grew from {before} to {after} kB")
    # An 8 KB JSON body sent as a form is read as JSON.
    body = json.dumps({"mode": "psk", "identity": "i" * 8000, "key": "01"}).encode()
    status, _, data = http(s.http_port, "PUT", "/api/security/clients/dev1", body,
                           {"Content-Type": "application/x-www-form-urlencoded"})
    check(status == 400 and b"identity" in data, f"a long identity: {status} {data[:200]!r}")
    body = json.dumps({"mode": "psk", "identity": "dev1", "key": "00" * 4000}).encode()
    status, _, data = http(s.http_port, "PUT", "/api/security/clients/dev1", body,
                           {"Content-Type": "application/x-www-form-urlencoded"})
    check(status == 200, f"a form-typed JSON body: {status} {data[:200]!r}")
    # Deep nesting is refused unread.
    deep = b"[" * 100000 + b"]" * 100000
    status, _, _ = http(s.http_port, "PUT", "/api/security/clients/dev2", deep)
    check(status == 400, f"deep JSON: {status}")
    check(s.alive(), "the server died")
    check(s.stop() == 0, "the server did not stop cleanly")


def api_port():
    first = Service("server", ["--store", "memory"], name="first").wait_up()
    second = Service("server", ["--store", "memory"], name="second",
                     http_port=first.http_port)
    try:
        code = second.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        fail("a second server on the same API port kept running")
    check(code != 0, "the second server exited with 0")
    check("cannot listen for HTTP" in second.log_text(), "no clear error: " + second.log_text())
    status, _, _ = http(first.http_port, "GET", "/api/health")
    check(status == 200 and first.alive(), "the first server suffered")
    check(first.stop() == 0, "the first server did not stop cleanly")


def listening_addresses(port):
    """Local addresses with a socket listening on `port` (from /proc/net/tcp{,6})."""
    out = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    address, p = fields[1].split(":")
                    if int(p, 16) == port and fields[3] == "0A":
                        out.add(address)
        except FileNotFoundError:
            pass
    return out


def api_access():
    token_file = os.path.join(WORK, "api.token")
    with open(token_file, "w") as f:
        f.write("s3cret-token-%d\n" % random.randrange(1 << 30))
    with open(token_file) as f:
        token = f.read().strip()
    s = Service("server", ["--store", "sqlite", "--api-token-file", token_file]).wait_up()
    check(listening_addresses(s.http_port) == {"0100007F"},
          f"the API listens on {listening_addresses(s.http_port)}, not 127.0.0.1 alone")
    auth = {"Authorization": "Bearer " + token}
    api_json(s.http_port, "GET", "/api/clients", want=401)
    api_json(s.http_port, "GET", "/metrics", want=401)
    api_json(s.http_port, "GET", "/api/clients", headers={"Authorization": "Bearer nope"},
             want=401)
    status, headers, _ = http(s.http_port, "GET", "/api/clients")
    check(headers.get("www-authenticate", "").startswith("Bearer"), f"{headers}")
    api_json(s.http_port, "GET", "/api/health")
    api_json(s.http_port, "GET", "/api/clients", headers=auth)
    key = "00112233445566778899aabbccddeeff"
    api_json(s.http_port, "PUT", "/api/security/clients/dev1",
             {"mode": "psk", "identity": "dev1-id", "key": key}, headers=auth)
    for path in ("/api/security/clients", "/api/security/clients/dev1"):
        status, _, body = http(s.http_port, "GET", path, headers=auth)
        check(status == 200 and key.encode() not in body and b"keySet" in body,
              f"{path}: {body!r}")
    mode = stat.S_IMODE(os.stat(s.data).st_mode)
    check(mode == 0o700, f"data directory mode {oct(mode)}")
    for name in os.listdir(s.data):
        mode = stat.S_IMODE(os.stat(os.path.join(s.data, name)).st_mode)
        check(mode == 0o600, f"{name} mode {oct(mode)}")
    check(s.stop() == 0, "the server did not stop cleanly")

    b = Service("bootstrap").wait_up()
    check(listening_addresses(b.http_port) == {"0100007F"}, "the bootstrap API is not loopback")
    secret = "0a0b0c0d0e0f10111213141516171819"
    config = {"security": {"1": {"uri": "coaps://127.0.0.1:5684", "bootstrap": False,
                                 "mode": "psk", "publicKeyOrIdentity": {"text": "dev1"},
                                 "secretKey": {"hex": secret}, "shortServerId": 101}},
              "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U"}},
              "credentials": {"mode": "psk", "identity": "dev1-bs", "key": key}}
    put = api_json(b.http_port, "PUT", "/api/bootstrap/dev1", config)
    for answer in (put, api_json(b.http_port, "GET", "/api/bootstrap"),
                   api_json(b.http_port, "GET", "/api/bootstrap/dev1")):
        text = json.dumps(answer)
        check(secret not in text and key not in text, f"a secret in {text}")
        check("CgsMDQ4P" not in text, f"a base64 secret in {text}")
    check(b.stop() == 0, "the bootstrap server did not stop cleanly")
    with open(os.path.join(b.data, "bootstrap.json")) as f:
        stored = f.read()
    check(key in stored and "CgsMDQ4P" in stored, "the store lost the secrets it needs")
    mode = stat.S_IMODE(os.stat(os.path.join(b.data, "bootstrap.json")).st_mode)
    check(mode == 0o600, f"bootstrap.json mode {oct(mode)}")


def log_injection():
    s = Service("server", ["--store", "memory"]).wait_up()
    forged = b"dev1\nts=2026-01-01T00:00:00.000Z level=info event=registered ep=admin"
    reply = udp_exchange(s.coap_port, udp_message(0x02, 0x6161, b"\x0a", register_options(
        forged), b"</1/0>"))
    check(udp_code(reply) == "4.00", f"a newline in ep: {udp_code(reply)}")
    reply = udp_exchange(s.coap_port, udp_message(0x02, 0x6262, b"\x0b", register_options(
        b"dev\x00cut"), b"</1/0>"))
    check(udp_code(reply) == "4.00", f"a NUL in ep: {udp_code(reply)}")
    # An unknown parameter name is quoted back, escaped.
    reply = udp_exchange(s.coap_port, udp_message(0x02, 0x6363, b"\x0c", register_options(
        b"dev1", [b"x\ny=1"]), b"</1/0>"))
    check(udp_code(reply) == "4.00", f"a bad parameter: {udp_code(reply)}")
    time.sleep(0.5)
    check(s.stop() == 0, "the server did not stop cleanly")
    lines = s.log_text().splitlines()
    check(not any(l.startswith("ts=2026-01-01") or "ep=admin" in l.split("detail=")[0]
                  for l in lines), "a forged line:\n" + "\n".join(lines))
    check(all(l.startswith("ts=") for l in lines if l), "a line that is not ours")
    warns = [l for l in lines if "level=warn event=refused" in l]
    check(len(warns) == 3, f"{len(warns)} warn lines: {warns}")


def sync_writes():
    s = Service("server", ["--store", "sqlite", "--sync-writes"]).wait_up()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    total = 400
    pending = {}
    for i in range(total):
        mid = 0x1000 + i
        token = struct.pack("!H", i)
        pending[token] = udp_message(0x02, mid, token, register_options(b"sync-%d" % i,
                                                                          [b"lt=3600"]),
                                     b"</1/0>,</3/0>")
    acknowledged = set()
    deadline = time.time() + 60
    while pending and time.time() < deadline:
        for token, datagram in list(pending.items()):
            sock.sendto(datagram, ("127.0.0.1", s.coap_port))
        # Read answers until a quiet moment; stop the moment the last one is in.
        sock.settimeout(0.3)
        try:
            while pending:
                data, _ = sock.recvfrom(4096)
                tkl = data[0] & 0x0F
                token = data[4:4 + tkl]
                if token in pending and udp_code(data) == "2.01":
                    acknowledged.add(struct.unpack("!H", token)[0])
                    del pending[token]
        except socket.timeout:
            pass
    # Killed the moment the last 2.01 arrived: nothing acknowledged may be missing.
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()
    check(len(acknowledged) == total, f"only {len(acknowledged)} of {total} were acknowledged")
    s2 = Service("server", ["--store", "sqlite", "--sync-writes"], name="server2",
                 data=s.data).wait_up()
    names = {c["endpoint"] for c in api_json(s2.http_port, "GET", "/api/clients")}
    missing = [i for i in acknowledged if "sync-%d" % i not in names]
    check(not missing, f"{len(missing)} acknowledged registrations lost: {missing[:10]}")
    check(s2.stop() == 0, "the restarted server did not stop cleanly")


def read_frame(sock, buf, timeout):
    """One CoAP-over-TCP frame, signals included: (code, token, {option: [values]}, payload,
    rest of buf). Raises socket.timeout, or returns None when the peer closed."""
    sock.settimeout(timeout)
    while True:
        if len(buf) >= 2:
            ln, tkl = buf[0] >> 4, buf[0] & 0x0F
            ext = {13: 1, 14: 2, 15: 4}.get(ln, 0)
            if len(buf) >= 2 + ext:
                if ln == 13:
                    ln = buf[1] + 13
                elif ln == 14:
                    ln = struct.unpack("!H", buf[1:3])[0] + 269
                total = 1 + ext + 1 + tkl + ln
                if len(buf) >= total:
                    code = buf[1 + ext]
                    token = buf[2 + ext:2 + ext + tkl]
                    body = buf[2 + ext + tkl:total]
                    options, number, i = {}, 0, 0
                    while i < len(body) and body[i] != 0xFF:
                        delta, length = body[i] >> 4, body[i] & 0x0F
                        i += 1
                        vals = []
                        for v in (delta, length):
                            if v == 13:
                                v = body[i] + 13
                                i += 1
                            elif v == 14:
                                v = struct.unpack("!H", body[i:i + 2])[0] + 269
                                i += 2
                            vals.append(v)
                        number += vals[0]
                        options.setdefault(number, []).append(body[i:i + vals[1]])
                        i += vals[1]
                    payload = body[i + 1:] if i < len(body) else b""
                    return code, token, options, payload, buf[total:]
        data = sock.recv(4096)
        if not data:
            return None
        buf += data


def tcp_release():
    csm, post, created, changed, release = 0xE1, 0x02, 0x41, 0x44, 0xE4
    first = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    first.bind(("127.0.0.1", 0))
    first.listen(4)
    other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    other.bind(("127.0.0.1", 0))
    other.listen(4)
    log = os.path.join(WORK, "client.log")
    proc = subprocess.Popen([TETHER, "client", "--endpoint", "rel-dev", "--server",
                             "coap+tcp://127.0.0.1:%d" % first.getsockname()[1],
                             "--lifetime", "20"], stdout=subprocess.DEVNULL,
                            stderr=open(log, "ab"))
    PROCS.append(proc)

    def serve_until_post(listener):
        listener.settimeout(60)
        conn, _ = listener.accept()
        accepted = time.time()
        buf = b""
        while True:
            frame = read_frame(conn, buf, 20)
            check(frame is not None, "the client closed before its request")
            code, token, options, _, buf = frame
            if code == post:
                return conn, accepted, token, options

    conn, _, token, options = serve_until_post(first)
    check(options.get(11) == [b"rd"], f"not a Register: {options}")
    conn.sendall(tcp_frame(csm, b"", []) +
                 tcp_frame(created, token, [(8, b"rd"), (8, b"rel1")]))
    time.sleep(0.5)
    hold_off = 15
    conn.sendall(tcp_frame(release, b"", [(2, b"127.0.0.1:%d" % other.getsockname()[1]),
                                          (4, bytes([hold_off]))]))
    released = time.time()
    # RFC 8323 5.5: the receiver of a Release closes the connection.
    buf = b""
    while True:
        frame = read_frame(conn, buf, 10)
        if frame is None:
            break
        buf = frame[4]
    conn.close()

    conn2, accepted, token, options = serve_until_post(other)
    waited = accepted - released
    check(waited >= hold_off - 1, f"the client came back after {waited:.1f} s, within the hold-off")
    check(options.get(11) == [b"rd", b"rel1"], f"not an Update of /rd/rel1: {options}")
    conn2.sendall(tcp_frame(csm, b"", []) + tcp_frame(changed, token, []))
    # Nobody knocked at the first address again.
    first.settimeout(0.5)
    try:
        first.accept()
        fail("the client reconnected to the address it was released from")
    except socket.timeout:
        pass
    deadline = time.time() + 10
    text = ""
    while time.time() < deadline:
        with open(log, errors="replace") as f:
            text = f.read()
        if "event=updated" in text:
            break
        time.sleep(0.1)
    check("event=released" in text and "event=updated" in text, f"client log: {text}")
    conn2.close()


def udp_sources():
    # Two workers, each keeping half of the 50 (the cap is the node's, split between them).
    s = Service("server", ["--max-stray-peers", "50", "--workers", "2"]).wait_up()
    # A device registered from its own socket, answering the server's requests itself.
    dev = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dev.settimeout(5)
    dev.sendto(udp_message(0x02, 0x0101, b"\x01", register_options(b"kept", [b"lt=600"]),
                           b"</3/0>"), ("127.0.0.1", s.coap_port))
    reply, _ = dev.recvfrom(4096)
    check(udp_code(reply) == "2.01", f"Register got {udp_code(reply)}")
    # The spray: 600 sources, each one CON GET; all stay open, so no port is used twice.
    answered = 0
    opened = []
    for batch in range(6):
        socks = []
        for i in range(100):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(5)
            u.sendto(udp_message(0x01, batch * 100 + i, b"", [(11, b"x")]),
                     ("127.0.0.1", s.coap_port))
            socks.append(u)
        for u in socks:
            try:
                data, _ = u.recvfrom(4096)
                answered += udp_code(data) == "4.04"
            except socket.timeout:
                pass
        opened += socks
    check(answered == 600, f"{answered} of 600 sources answered")
    _, _, metrics = http(s.http_port, "GET", "/metrics")
    forgotten = 0
    for line in metrics.decode().splitlines():
        if line.startswith('tether_link_events_total{link="udp",event="peers_forgotten"} '):
            forgotten = int(line.split()[-1])
    for u in opened:
        u.close()
    check(forgotten == 550,
          f"not 550 but {forgotten} sources forgotten:\n{metrics.decode()[-1500:]}")

    # The registered device is still reached at its address: a Read of /3/0/0.
    def answer_read():
        try:
            data, peer = dev.recvfrom(4096)
        except socket.timeout:
            return
        tkl = data[0] & 0x0F
        ack = bytes([0x60 | tkl, 0x45]) + data[2:4] + data[4:4 + tkl]
        dev.sendto(ack + bytes([0xC0]) + b"\xff" + b"Tether", peer)  # Content-Format 0

    t = threading.Thread(target=answer_read)
    t.start()
    status, _, body = http(s.http_port, "GET", "/api/clients/kept/3/0/0")
    t.join()
    check(status == 200 and b"Tether" in body, f"Read of the registered device: {status} {body!r}")
    check(s.alive(), "the server died")
    dev.close()


def server_full():
    s = Service("server", ["--max-registrations", "2", "--max-queued-per-client", "1",
                           "--awake-window-ms", "300"]).wait_up()
    socks = {}
    for i, ep in enumerate([b"one", b"two", b"three"]):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(5)
        u.sendto(udp_message(0x02, 0x2000 + i, b"\x05", register_options(ep, [b"b=UQ"]),
                             b"</3/0>"), ("127.0.0.1", s.coap_port))
        reply, _ = u.recvfrom(4096)
        socks[ep] = (u, reply)
    for ep in (b"one", b"two"):
        check(udp_code(socks[ep][1]) == "2.01", f"{ep}: {udp_code(socks[ep][1])}")
    reply = socks[b"three"][1]
    check(udp_code(reply) == "5.03", f"a third endpoint got {udp_code(reply)}")
    ages = [int.from_bytes(v, "big") for n, v in udp_options(reply) if n == 14]
    check(len(ages) == 1 and 30 <= ages[0] <= 90, f"Max-Age {ages} in {reply!r}")
    # The two registered still update (Update: POST /rd/<location>).
    u, created = socks[b"one"]
    location = [v for n, v in udp_options(created) if n == 8]
    u.sendto(udp_message(0x02, 0x2100, b"\x06", [(11, p) for p in location]),
             ("127.0.0.1", s.coap_port))
    reply, _ = u.recvfrom(4096)
    check(udp_code(reply) == "2.04", f"an Update of a registered one got {udp_code(reply)}")
    _, _, metrics = http(s.http_port, "GET", "/metrics")
    check(b"tether_registers_refused_full_total 1" in metrics, "no refusal counted")
    # "two" sleeps (queue mode, silent past the awake window): one request waits, the next
    # is refused at once with Retry-After.
    time.sleep(0.6)
    status, _, body = http(s.http_port, "GET", "/api/clients/two/3/0/0?queue=true")
    check(status == 202, f"the first queued request: {status} {body!r}")
    status, headers, body = http(s.http_port, "GET", "/api/clients/two/3/0/0?queue=true")
    check(status == 503, f"the second queued request: {status} {body!r}")
    retry = {k.lower(): v for k, v in headers.items()}.get("retry-after", "")
    check(retry.isdigit() and int(retry) > 0, f"Retry-After {retry!r}")
    check(json.loads(body)["code"] == "5.03", f"body {body!r}")
    for u, _ in socks.values():
        u.close()


SCENARIOS = {
    "coap-utf8": coap_utf8,
    "bootstrap-utf8": bootstrap_utf8,
    "api-names": api_names,
    "api-slow": api_slow,
    "api-bodies": api_bodies,
    "api-port": api_port,
    "api-access": api_access,
    "log-injection": log_injection,
    "sync-writes": sync_writes,
    "tcp-release": tcp_release,
    "udp-sources": udp_sources,
    "server-full": server_full,
}

if __name__ == "__main__":
    if SCENARIO not in SCENARIOS:
        print(f"unknown scenario {SCENARIO}", file=sys.stderr)
        sys.exit(2)
    try:
        SCENARIOS[SCENARIO]()
    finally:
        cleanup()
        if not os.environ.get("KEEP_WORK"):
            shutil.rmtree(WORK, ignore_errors=True)
    print(f"PASS: {SCENARIO}")

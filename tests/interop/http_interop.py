#!/usr/bin/env python3
"""`tether server --http-binding-port` (Transport TS 7) against independent peers: curl plays
the device's requests (Register, Update, Send, De-register), a device HTTP server written
here with Python's http.server answers the server's requests, and the REST API drives them.
Usage: http_interop.py TETHER_BINARY SCENARIO

Scenarios:
  server-wire  over HTTP: Register with the device's origin in a Link header, a Read,
               Discover, Write, Write-Attributes, Execute, Create and Delete through the REST
               API reaching the device's server as table 7.1.4 says, Observe refused (501),
               Send, Update, bad requests with the codes of 7.3 (404, 405, 400, 413),
               De-register
  https        the binding over HTTPS (certificates by openssl): curl checks the server's
               certificate, a client certificate is proved (security x509), the server
               checks the device's HTTPS server against --http-device-ca, and a device
               server under another CA is not believed
  hostile      raw bytes at the binding's port: a request line that is no HTTP (400), header
               fields over 8 KiB (431), a sender that dribbles one byte a second (408
               within the request deadline) while curl still registers beside it
  end-to-end   `tether client --bootstrap http://...` bootstraps from `tether bootstrap
               --http-binding-port`, registers with `tether server --http-binding-port`, is
               read in each content format, written, given attributes, executed (/1/0/8: an
               Update), has an instance created and deleted, and de-registers when stopped
  https-end-to-end  the same over HTTPS with a client certificate, bootstrapped by `tether
               bootstrap` over HTTPS, in queue mode: a Read waits in the server's queue
               until the client next speaks (an Update or a Send); the client Sends (--send) on /dp; the
               device's server takes requests only with the server's certificate (curl
               without: 403)
  digest       seed 004 on the binding (--http-binding-auth digest,proxy): an endpoint with
               credentials in mode digest is challenged (401, SHA-256), `curl --digest`
               registers with the right password and not with a wrong one, a replayed
               Authorization is refused, a trusted proxy's identity header counts only from
               the proxy's address, the password never comes back from the API, and our
               client (--http-password-file) registers and is managed
  bootstrap-digest  our client bootstraps over HTTP with Digest (credentials mode digest in
               its configuration), is given Digest credentials for its server in a PSK-mode
               Security instance, and registers with them; without the password the
               bootstrap server answers 401 and nothing is written
  api-auth     seed 004 on the REST API over HTTPS (--api-cert, --api-users): nothing but
               /api/health without a user (401 with Digest and Bearer challenges), a read
               user (curl --digest) may GET but not PUT (403), an operator's bearer token and
               a client certificate naming an operator may write (not once it expired; made
               with python3-cryptography), a trusted proxy's header
               names a user only from the proxy's address, and keys never come back
"""
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_util import Scenario, free_port  # noqa: E402

TETHER = sys.argv[1]
SCENARIO = sys.argv[2]
S = Scenario("tether-http-")
WORK, PROCS = S.work, S.procs
fail, check, wait_until = S.fail, S.check, S.wait_until


class Device:
    """The device's own HTTP server: a few objects, every request noted."""

    def __init__(self, context=None):
        self.requests = []
        self.values = {"/3/0/0": b"Tether", "/1/0/1": b"300"}
        device = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self, status, body=b"", ctype=None, headers=()):
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def note(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                device.requests.append((self.command, self.path, dict(self.headers), body))
                return body

            def do_GET(self):
                self.note()
                path = self.path.split("?")[0]
                if self.headers.get("Accept") == "application/link-format":
                    return self.answer(200, b"</3/0>,</3/0/0>,</3/0/4>", "application/link-format")
                if path in device.values:
                    return self.answer(200, device.values[path], "text/plain;charset=utf-8")
                self.answer(404)

            def do_PUT(self):
                body = self.note()
                if body:
                    device.values[self.path.split("?")[0]] = body
                self.answer(204)

            def do_POST(self):
                self.note()
                if self.path == "/3303":
                    return self.answer(201, headers=[("Location", "/3303/1")])
                self.answer(204)

            def do_DELETE(self):
                self.note()
                self.answer(204)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def seen(self, method, path):
        return any(r[0] == method and r[1] == path for r in self.requests)


class Server:
    def __init__(self, extra=(), role="server"):
        self.http_port = free_port()
        self.binding_port = free_port()
        self.log = os.path.join(WORK, f"{role}.log")
        args = [TETHER, role, "--bind", "127.0.0.1", "--coap-port", str(free_port()),
                "--coaps-port", "0", "--http-port", str(self.http_port), "--store", "memory",
                "--http-binding-port", str(self.binding_port)] + list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        PROCS.append(self.proc)
        wait_until(lambda: "event=started" in self.log_text(), "the server to start")

    def log_text(self):
        check(self.proc.poll() is None, "the server exited")
        with open(self.log, errors="replace") as f:
            return f.read()

    def api(self, method, path, body=None, timeout=15):
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", method=method,
                                     data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


def curl(*args):
    """An independent HTTP client: status code and body."""
    for name in ("curl.body", "curl.head"):
        open(os.path.join(WORK, name), "w").close()
    out = subprocess.run(["curl", "-s", "-o", os.path.join(WORK, "curl.body"), "-D",
                          os.path.join(WORK, "curl.head"), "-w", "%{http_code}", "-m", "15"]
                         + list(args), capture_output=True, text=True, timeout=30)
    with open(os.path.join(WORK, "curl.head"), errors="replace") as f:
        head = f.read()
    with open(os.path.join(WORK, "curl.body"), errors="replace") as f:
        body = f.read()
    return int(out.stdout or 0), head, body


def location(head):
    for line in head.splitlines():
        if line.lower().startswith("location:"):
            return line.split(":", 1)[1].strip()
    return None


def server_wire():
    device = Device()
    server = Server(["--http-device-port", str(device.port)])
    base = f"http://127.0.0.1:{server.binding_port}"
    status, head, body = curl("-X", "POST", f"{base}/rd?ep=dev1&lt=60&lwm2m=1.2&b=H",
                              "-H", "Content-Type: application/link-format",
                              "-H", f'Link: <http://127.0.0.1:{device.port}>; rel="lwm2m-device"',
                              "--data", "</1/0>,</3/0>,</3303/0>")
    check(status == 201, f"Register: {status} {body}")
    where = location(head)
    check(where and where.startswith("/rd/"), f"Register Location: {head}")
    c = json.loads(server.api("GET", "/api/clients/dev1")[1])
    check(c["transport"] == "http" and c["address"] == f"http://127.0.0.1:{device.port}",
          f"registration {c}")

    status, body = server.api("GET", "/api/clients/dev1/3/0/0")
    check(status == 200 and "Tether" in body, f"Read: {status} {body}")
    check(device.seen("GET", "/3/0/0"), f"the device saw no GET /3/0/0: {device.requests}")
    status, body = server.api("GET", "/api/clients/dev1/3/0/discover?depth=1")
    check(status == 200 and "</3/0/4>" in body, f"Discover: {status} {body}")
    check(device.seen("GET", "/3/0?depth=1"), "Discover did not reach the device as GET ?depth")
    status, body = server.api("PUT", "/api/clients/dev1/1/0/1", b"120")
    check(status in (200, 204), f"Write: {status} {body}")
    put = [r for r in device.requests if r[0] == "PUT" and r[1] == "/1/0/1"]
    check(put and put[-1][3] == b"120", f"the Write's body: {put}")
    status, body = server.api("PUT", "/api/clients/dev1/3303/0/5700/attributes?pmin=10&gt=25")
    check(status in (200, 204), f"Write-Attributes: {status} {body}")
    check(device.seen("PUT", "/3303/0/5700?pmin=10&gt=25"), f"Write-Attributes: {device.requests}")
    status, body = server.api("POST", "/api/clients/dev1/3/0/4", b"")
    check(status in (200, 204), f"Execute: {status} {body}")
    status, body = server.api("POST", "/api/clients/dev1/3303", b'{"5700": 21.5}')
    check(status in (200, 201) and "/3303/1" in body, f"Create: {status} {body}")
    status, body = server.api("DELETE", "/api/clients/dev1/3303/1")
    check(status in (200, 204), f"Delete: {status} {body}")
    check(device.seen("DELETE", "/3303/1"), "Delete did not reach the device")
    # Section 7 has no Observe.
    count = len(device.requests)
    status, body = server.api("POST", "/api/clients/dev1/3/0/0/observe")
    check(status == 501, f"Observe over HTTP: {status} {body}")
    check(len(device.requests) == count, "the Observe reached the device")

    status, _, body = curl("-X", "POST", f"{base}/dp", "-H",
                           "Content-Type: application/senml+json",
                           "--data", '[{"n":"/3303/0/5700","v":22.5}]')
    check(status == 204, f"Send: {status} {body}")
    status, _, body = curl("-X", "POST", f"{base}{where}?lt=120")
    check(status == 204, f"Update: {status} {body}")
    check(json.loads(server.api("GET", "/api/clients/dev1")[1])["lifetime"] == 120, "lifetime")

    # Bad requests and their 7.3 codes.
    check(curl(f"{base}/rd")[0] == 405, "GET /rd")
    check(curl("-X", "POST", f"{base}/rd/nope?lt=5")[0] == 404, "Update of an unknown location")
    check(curl("-X", "POST", f"{base}/rd?ep=dev2&zz=1", "-H",
               "Content-Type: application/link-format", "--data", "</3/0>")[0] == 400,
          "an unknown parameter")
    check(curl("-X", "POST", f"{base}/bs?ep=dev1")[0] == 404, "the Bootstrap interface here")
    big = os.path.join(WORK, "big")
    with open(big, "wb") as f:
        f.write(b"x" * (5 * 1024 * 1024))
    check(curl("-X", "POST", f"{base}/dp", "-H", "Content-Type: application/senml+json",
               "--data-binary", "@" + big)[0] == 413, "an oversized body")
    status, _, body = curl("-X", "DELETE", f"{base}{where}")
    check(status == 204, f"De-register: {status} {body}")
    check(server.api("GET", "/api/clients/dev1")[0] == 404, "still registered")


def raw_exchange(port, data, timeout=15):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
    s.close()
    return out


def hostile():
    server = Server()
    port = server.binding_port
    check(raw_exchange(port, b"\x16\x03\x01 not http at all\r\n\r\n").startswith(
        b"HTTP/1.1 400"), "a request line that is no HTTP")
    huge = b"POST /rd?ep=x HTTP/1.1\r\nHost: s\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
    check(raw_exchange(port, huge).startswith(b"HTTP/1.1 431"), "header fields over 8 KiB")
    # One byte a second: the request deadline (10 s) ends it, and others are served meanwhile.
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    start = time.time()
    answer = b""
    registered = False
    for ch in b"POST /rd?ep=slow HTTP/1.1\r\nHost: s\r\nContent-Length: 6\r\n\r\n</3/0>":
        try:
            slow.sendall(bytes([ch]))
        except OSError:
            break
        if not registered:
            status, _, body = curl("-X", "POST", f"http://127.0.0.1:{port}/rd?ep=dev1&lt=60",
                                   "-H", "Content-Type: application/link-format",
                                   "--data", "</3/0>")
            check(status == 201, f"a Register beside the slow sender: {status} {body}")
            registered = True
        time.sleep(1)
        slow.settimeout(0.01)
        try:
            answer += slow.recv(4096)
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            break
        slow.settimeout(30)
        if answer or time.time() - start > 25:
            break
    check(answer.startswith(b"HTTP/1.1 408"), f"the slow sender got {answer[:40]!r}")
    check(time.time() - start < 20, "the slow sender was held too long")
    check(server.api("GET", "/api/clients/slow")[0] == 404, "the slow sender registered")


def make_pki(name):
    d = os.path.join(WORK, name)
    os.makedirs(d)

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, cwd=d, capture_output=True)
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
    run("req", "-x509", "-new", "-key", "ca.key", "-subj", f"/CN={name} CA", "-days", "2",
        "-out", "ca.pem")
    for who, san in (("server", "IP:127.0.0.1"), ("dev1", None)):
        run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{who}.key")
        run("req", "-new", "-key", f"{who}.key", "-subj", f"/CN={who if san is None else '127.0.0.1'}",
            "-out", f"{who}.csr")
        ext = os.path.join(d, f"{who}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
        run("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", f"{who}.pem")
    return d


def expired_certificate(pki, name):
    """A certificate for CN `name` from the PKI's CA that expired yesterday (openssl 3.0's
    x509 cannot back-date one; python3-cryptography can)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    with open(os.path.join(pki, "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    with open(os.path.join(pki, "ca.pem"), "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=3))
            .not_valid_after(now - datetime.timedelta(days=1))
            .sign(ca_key, hashes.SHA256()))
    pem, pkey = os.path.join(pki, f"{name}-expired.pem"), os.path.join(pki, f"{name}-expired.key")
    with open(pem, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(pkey, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return pem, pkey


def https():
    pki = make_pki("ours")
    other = make_pki("other")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(pki, "server.pem"), os.path.join(pki, "server.key"))
    device = Device(ctx)
    ctx_other = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx_other.load_cert_chain(os.path.join(other, "server.pem"), os.path.join(other, "server.key"))
    stranger = Device(ctx_other)
    server = Server(["--http-binding-cert", os.path.join(pki, "server.pem"),
                     "--http-binding-key", os.path.join(pki, "server.key"),
                     "--http-binding-client-ca", os.path.join(pki, "ca.pem"),
                     "--http-device-ca", os.path.join(pki, "ca.pem")])
    base = f"https://127.0.0.1:{server.binding_port}"
    ca = ["--cacert", os.path.join(pki, "ca.pem")]
    # curl refuses our server under a CA it does not know...
    status, _, _ = curl(*(["--cacert", os.path.join(other, "ca.pem"), "-X", "POST",
                           f"{base}/rd?ep=dev1"]))
    check(status == 0, f"curl believed a server under another CA: {status}")
    # ...and registers with the right one, proving itself with a client certificate.
    status, head, body = curl(*(ca + ["--cert", os.path.join(pki, "dev1.pem"), "--key",
                                      os.path.join(pki, "dev1.key"), "-X", "POST",
                                      f"{base}/rd?ep=dev1&lt=60&b=H", "-H",
                                      "Content-Type: application/link-format", "-H",
                                      f'Link: <https://127.0.0.1:{device.port}>; '
                                      'rel="lwm2m-device"', "--data", "</3/0>"]))
    check(status == 201, f"Register over HTTPS: {status} {body}")
    c = json.loads(server.api("GET", "/api/clients/dev1")[1])
    check(c["transport"] == "https" and c["security"] == "x509", f"registration {c}")
    status, body = server.api("GET", "/api/clients/dev1/3/0/0")
    check(status == 200 and "Tether" in body, f"Read over HTTPS: {status} {body}")
    # A device whose HTTPS server has a certificate from elsewhere is not believed.
    status, _, body = curl(*(ca + ["-X", "POST", f"{base}/rd?ep=dev2&lt=60&b=H", "-H",
                                   "Content-Type: application/link-format", "-H",
                                   f'Link: <https://127.0.0.1:{stranger.port}>; '
                                   'rel="lwm2m-device"', "--data", "</3/0>"]))
    check(status == 201, f"dev2's Register: {status} {body}")
    status, body = server.api("GET", "/api/clients/dev2/3/0/0")
    check(status >= 500 and not stranger.requests, f"a device under another CA: {status} {body}")


def our_client(flag, uri, log, extra=(), endpoint="dev1"):
    client = subprocess.Popen([TETHER, "client", "--endpoint", endpoint, flag, uri] + list(extra),
                              stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(client)
    return client


def digest_client(flag, uri, endpoint, password, log):
    """Our client with HTTP Digest credentials (--http-password-file)."""
    pw = os.path.join(WORK, f"{endpoint}.pw")
    with open(pw, "w") as f:
        f.write(password + "\n")
    return our_client(flag, uri, os.path.join(WORK, log),
                      ["--http-password-file", pw, "--http-device-port", str(free_port())],
                      endpoint=endpoint)


def session(server, client):
    """What the REST API does to our client over the HTTP binding."""
    for fmt in ("tlv", "senml-json", "senml-cbor", "lwm2m-cbor"):
        status, body = server.api("GET", f"/api/clients/dev1/3/0?format={fmt}")
        check(status == 200 and "Tether" in body, f"Read /3/0 as {fmt}: {status} {body}")
    status, body = server.api("GET", "/api/clients/dev1/3/0/0?format=text")
    check(status == 200 and "Tether" in body, f"Read as text: {status} {body}")
    status, body = server.api("PUT", "/api/clients/dev1/1/0/1", b"120")
    check(status == 200, f"Write: {status} {body}")
    status, body = server.api("GET", "/api/clients/dev1/1/0/1")
    check(status == 200 and "120" in body, f"Read back: {status} {body}")
    status, body = server.api("PUT", "/api/clients/dev1/3303/0/5700/attributes?pmin=10&gt=30")
    check(status == 200, f"Write-Attributes: {status} {body}")
    status, body = server.api("GET", "/api/clients/dev1/3303/0/discover")
    check(status == 200 and "pmin=10" in body, f"Discover shows the attributes: {status} {body}")
    updates = server.log_text().count("event=updated")
    status, body = server.api("POST", "/api/clients/dev1/1/0/8", b"")
    check(status == 200, f"Execute /1/0/8: {status} {body}")
    wait_until(lambda: server.log_text().count("event=updated") > updates, "the Update")
    status, body = server.api("POST", "/api/clients/dev1/3311", b'{"5850": true}')
    check(status == 201 and "/3311/0" in body, f"Create: {status} {body}")
    status, body = server.api("GET", "/api/clients/dev1/3311/0/5850")
    check(status == 200 and "true" in body, f"Read the new instance: {status} {body}")
    status, body = server.api("DELETE", "/api/clients/dev1/3311/0")
    check(status == 200, f"Delete: {status} {body}")
    status, body = server.api("POST", "/api/clients/dev1/3/0/0/observe")
    check(status == 501, f"Observe over HTTP: {status} {body}")
    client.send_signal(15)
    client.wait(timeout=20)
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 404, "the de-registration")


def end_to_end():
    server = Server()
    configs = os.path.join(WORK, "configs.json")
    with open(configs, "w") as f:
        json.dump({"dev1": {
            "security": {"1": {"uri": f"http://127.0.0.1:{server.binding_port}",
                               "bootstrap": False, "mode": "nosec", "shortServerId": 101}},
            "servers": {"0": {"shortServerId": 101, "lifetime": 60, "binding": "H"}}}}, f)
    bs = Server(["--configs", configs], role="bootstrap")
    log = os.path.join(WORK, "client.log")
    client = our_client("--bootstrap", f"http://127.0.0.1:{bs.binding_port}", log,
                        ["--http-device-port", str(free_port())])
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 200,
               "the client to bootstrap and register over HTTP", timeout=60)
    check("event=bootstrap" in bs.log_text() and "finished" in bs.log_text(),
          "no bootstrap over HTTP")
    c = json.loads(server.api("GET", "/api/clients/dev1")[1])
    check(c["transport"] == "http" and c["binding"] == "H", f"registration {c}")
    session(server, client)


def https_end_to_end():
    pki = make_pki("ours")
    server = Server(["--http-binding-cert", os.path.join(pki, "server.pem"),
                     "--http-binding-key", os.path.join(pki, "server.key"),
                     "--http-binding-client-ca", os.path.join(pki, "ca.pem"),
                     "--http-device-ca", os.path.join(pki, "ca.pem"),
                     "--awake-window-ms", "2000"])
    # The bootstrap server over HTTPS hands out the server account: the same certificate,
    # the server's CA as its trust anchor (Security mode x509).
    def text(name):
        with open(os.path.join(pki, name)) as f:
            return {"text": f.read()}
    configs = os.path.join(WORK, "configs.json")
    with open(configs, "w") as f:
        json.dump({"dev1": {
            "credentials": {"mode": "x509", "commonName": "dev1"},
            "security": {"1": {"uri": f"https://127.0.0.1:{server.binding_port}",
                               "bootstrap": False, "mode": "x509",
                               "publicKeyOrIdentity": text("dev1.pem"),
                               "secretKey": text("dev1.key"),
                               "serverPublicKey": text("ca.pem"), "shortServerId": 101}},
            "servers": {"0": {"shortServerId": 101, "lifetime": 20, "binding": "H"}}}}, f)
    bs = Server(["--configs", configs, "--http-binding-cert", os.path.join(pki, "server.pem"),
                 "--http-binding-key", os.path.join(pki, "server.key"),
                 "--http-binding-client-ca", os.path.join(pki, "ca.pem"),
                 "--http-device-ca", os.path.join(pki, "ca.pem")], role="bootstrap")
    log = os.path.join(WORK, "client.log")
    device_port = free_port()
    client = our_client("--bootstrap", f"https://127.0.0.1:{bs.binding_port}", log,
                        ["--cert", os.path.join(pki, "dev1.pem"), "--key",
                         os.path.join(pki, "dev1.key"), "--ca", os.path.join(pki, "ca.pem"),
                         "--http-device-cert", os.path.join(pki, "server.pem"),
                         "--http-device-key", os.path.join(pki, "server.key"),
                         "--http-device-port", str(device_port),
                         # Seed 004: the server proves itself to our server by certificate.
                         "--http-device-client-ca", os.path.join(pki, "ca.pem"),
                         "--queue", "--awake-window-ms", "2000", "--lifetime", "20",
                         # Core TS 6.4.6 on /dp: the temperature every 5 s.
                         "--send", "/3303/0/5700", "--send-interval", "5"])
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 200,
               "the client to bootstrap and register over HTTPS", timeout=60)
    check("finished" in bs.log_text(), "no bootstrap over HTTPS")
    wait_until(lambda: "event=send" in server.log_text(), "a Send over HTTPS on /dp")
    c = json.loads(server.api("GET", "/api/clients/dev1")[1])
    check(c["transport"] == "https" and c["security"] == "x509" and c["queueMode"],
          f"registration {c}")
    # Anyone on the server's host without the server's certificate is refused by the device.
    status, _, body = curl("--cacert", os.path.join(pki, "ca.pem"),
                           f"https://127.0.0.1:{device_port}/3/0/0")
    check(status == 403 and "Tether" not in body, f"the device answered a stranger: {status}")
    # Queue mode (7.2): asleep, a Read waits until the client's next Update.
    wait_until(lambda: not json.loads(server.api("GET", "/api/clients/dev1")[1])["awake"],
               "the server to count the client asleep")
    def uplinks():
        text = server.log_text()
        return text.count("event=updated") + text.count("event=send")
    before = uplinks()
    status, body = server.api("GET", "/api/clients/dev1/3/0/0?timeout=40", timeout=60)
    check(status == 200 and "Tether" in body, f"the queued Read: {status} {body}")
    check(uplinks() > before, "answered before the client spoke again (Update or Send)")
    session(server, client)


def digest():
    server = Server(["--http-binding-auth", "digest,proxy",
                     "--http-binding-trusted-proxy", "127.0.0.2"])
    base = f"http://127.0.0.1:{server.binding_port}"
    for ep, password in (("dev1", "s3cret"), ("dev3", "client pw")):
        status, body = server.api("PUT", f"/api/security/clients/{ep}",
                                  json.dumps({"mode": "digest", "password": password}).encode())
        check(status in (200, 204), f"PUT digest credentials: {status} {body}")
    status, body = server.api("GET", "/api/security/clients/dev1")
    shown = json.loads(body)
    check(status == 200 and shown.get("passwordSet") is True and "s3cret" not in body,
          f"the API shows the password: {body}")
    register = ["-X", "POST", f"{base}/rd?ep=dev1&lt=60&b=H", "-H",
                "Content-Type: application/link-format", "--data", "</3/0>"]
    status, head, body = curl(*register)
    check(status == 401 and "algorithm=SHA-256" in head and not body,
          f"an unauthenticated Register: {status} {head} {body}")
    status, _, _ = curl(*(["--digest", "-u", "dev1:guess"] + register))
    check(status == 401, f"a wrong password: {status}")
    check(server.api("GET", "/api/clients/dev1")[0] == 404, "registered with a wrong password")
    # curl answers the challenge itself (RFC 7616 SHA-256); -v shows what it sent.
    trace = os.path.join(WORK, "curl.trace")
    status, head, body = curl(*(["--digest", "-u", "dev1:s3cret", "--trace-ascii", trace]
                                + register))
    check(status == 201, f"Register with curl --digest: {status} {body}")
    with open(trace, errors="replace") as f:
        sent = [line.split(": ", 1)[1].strip() for line in f.read().splitlines()
                if line[4:].startswith(": Authorization: Digest")]
    check(sent, "curl sent no Digest Authorization")
    # The same Authorization again, on raw bytes: a replay.
    raw = (f"POST /rd?ep=dev1&lt=60&b=H HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           f"Authorization: {sent[-1]}\r\nContent-Type: application/link-format\r\n"
           f"Content-Length: 6\r\nConnection: close\r\n\r\n</3/0>").encode()
    answer = raw_exchange(server.binding_port, raw)
    check(answer.startswith(b"HTTP/1.1 401"), f"a replayed Authorization: {answer[:80]}")
    # The proxy's word counts from the proxy's address only.
    vouched = ["-H", "X-Authenticated-User: dev2", "-X", "POST", f"{base}/rd?ep=dev2&lt=60&b=H",
               "-H", "Content-Type: application/link-format", "--data", "</3/0>"]
    status, _, _ = curl(*vouched)
    check(status == 401, f"the identity header from a stranger: {status}")
    check(server.api("GET", "/api/clients/dev2")[0] == 404, "a stranger's header registered dev2")
    status, _, body = curl(*(["--interface", "127.0.0.2"] + vouched))
    check(status == 201, f"the identity header from the proxy: {status} {body}")

    # Our client answers the challenge with the password in its Security instance.
    client = digest_client("--server", base, "dev3", "client pw", "client.log")
    wait_until(lambda: server.api("GET", "/api/clients/dev3")[0] == 200,
               "our client to register with Digest", timeout=60)
    status, body = server.api("GET", "/api/clients/dev3/3/0/0")
    check(status == 200, f"Read from the Digest client: {status} {body}")
    status, body = server.api("POST", "/api/clients/dev3/1/0/8", b"")
    check(status == 200, f"Execute /1/0/8 (an Update with Digest): {status} {body}")
    wrong_log = os.path.join(WORK, "wrong.log")
    digest_client("--server", base, "dev1", "not it", "wrong.log")

    def refused():
        with open(wrong_log, errors="replace") as f:
            return "registration-failed" in f.read()
    wait_until(refused, "the client with a wrong password to be refused", timeout=60)
    client.send_signal(15)
    client.wait(timeout=20)
    wait_until(lambda: server.api("GET", "/api/clients/dev3")[0] == 404, "dev3's de-registration")


def api_auth():
    pki = make_pki("ours")
    users = os.path.join(WORK, "users.json")
    with open(users, "w") as f:
        json.dump({"users": [
            {"name": "ops", "role": "operator", "token": "tok-ops-1234"},
            {"name": "viewer", "role": "read", "password": "view-pw"},
            {"name": "dev1", "role": "operator"},
            {"name": "console", "role": "read"}]}, f)
    server = Server(["--api-users", users, "--api-auth", "token,digest,certificate,proxy",
                     "--api-trusted-proxy", "127.0.0.2",
                     "--api-cert", os.path.join(pki, "server.pem"),
                     "--api-key", os.path.join(pki, "server.key"),
                     "--api-client-ca", os.path.join(pki, "ca.pem")])
    api = f"https://127.0.0.1:{server.http_port}"
    ca = ["--cacert", os.path.join(pki, "ca.pem")]
    psk = json.dumps({"mode": "psk", "identity": "dev9-id",
                      "key": "00112233445566778899aabbccddeeff"})
    put = ["-X", "PUT", "-H", "Content-Type: application/json", "--data", psk,
           f"{api}/api/security/clients/dev9"]

    check(curl(*(ca + [f"{api}/api/health"]))[0] == 200, "/api/health without a user")
    status, head, body = curl(*(ca + [f"{api}/api/clients"]))
    check(status == 401 and "Digest" in head and "Bearer" in head and "[]" not in body,
          f"no user: {status} {head} {body}")
    check(curl(*(ca + ["--digest", "-u", "viewer:wrong", f"{api}/api/clients"]))[0] == 401,
          "a wrong Digest password")
    status, _, body = curl(*(ca + ["--digest", "-u", "viewer:view-pw", f"{api}/api/clients"]))
    check(status == 200, f"a read user's GET: {status} {body}")
    status, _, body = curl(*(ca + ["--digest", "-u", "viewer:view-pw"] + put))
    check(status == 403 and "4.03" in body, f"a read user's PUT: {status} {body}")
    check(curl(*(ca + ["-H", "Authorization: Bearer tok-nope"] + put))[0] == 401, "a wrong token")
    status, _, body = curl(*(ca + ["-H", "Authorization: Bearer tok-ops-1234"] + put))
    check(status in (200, 204), f"an operator's PUT: {status} {body}")
    status, _, body = curl(*(ca + ["-H", "Authorization: Bearer tok-ops-1234",
                                   f"{api}/api/security/clients/dev9"]))
    check(status == 200 and "keySet" in body and "00112233" not in body, f"masked: {body}")
    # A client certificate whose CN is an operator.
    status, _, body = curl(*(ca + ["--cert", os.path.join(pki, "dev1.pem"), "--key",
                                   os.path.join(pki, "dev1.key"), "-X", "DELETE",
                                   f"{api}/api/security/clients/dev9"]))
    check(status in (200, 204), f"a certificate operator's DELETE: {status} {body}")
    # The same name on an expired certificate proves nothing.
    pem, key = expired_certificate(pki, "dev1")
    status, _, body = curl(*(ca + ["--cert", pem, "--key", key] + put))
    check(status not in (200, 204), f"an expired certificate wrote: {status} {body}")
    # The proxy's word, only from the proxy.
    named = ["-H", "X-Authenticated-User: console", f"{api}/api/clients"]
    check(curl(*(ca + named))[0] == 401, "the identity header from a stranger")
    check(curl(*(ca + ["--interface", "127.0.0.2"] + named))[0] == 200, "the proxy's header")
    status, _, _ = curl(*(ca + ["--interface", "127.0.0.2", "-H",
                                "X-Authenticated-User: console"] + put))
    check(status == 403, f"a read user behind the proxy writing: {status}")
    # Plain HTTP to the HTTPS port gets nothing.
    status, _, body = curl(f"http://127.0.0.1:{server.http_port}/api/clients")
    check(status != 200, f"plain HTTP to the API: {status} {body}")


def bootstrap_digest():
    server = Server()
    status, body = server.api("PUT", "/api/security/clients/dev5",
                              json.dumps({"mode": "digest", "password": "srv-pw"}).encode())
    check(status in (200, 204), f"PUT digest credentials: {status} {body}")
    configs = os.path.join(WORK, "configs.json")
    with open(configs, "w") as f:
        json.dump({"dev5": {
            "credentials": {"mode": "digest", "password": "bs-pw"},
            "security": {"1": {"uri": f"http://127.0.0.1:{server.binding_port}",
                               "bootstrap": False, "mode": "psk",
                               "publicKeyOrIdentity": {"text": "dev5"},
                               "secretKey": {"text": "srv-pw"}, "shortServerId": 101}},
            "servers": {"0": {"shortServerId": 101, "lifetime": 60, "binding": "H"}}}}, f)
    bs = Server(["--configs", configs], role="bootstrap")
    status, body = bs.api("GET", "/api/bootstrap/dev5")
    check(status == 200 and "bs-pw" not in body and "srv-pw" not in body,
          f"the bootstrap API shows a password: {body}")
    # Without the password: 401, and the bootstrap server writes nothing.
    status, head, _ = curl("-X", "POST", f"http://127.0.0.1:{bs.binding_port}/bs?ep=dev5")
    check(status == 401 and "Digest" in head, f"Bootstrap-Request without Digest: {status}")
    client = digest_client("--bootstrap", f"http://127.0.0.1:{bs.binding_port}", "dev5", "bs-pw",
                           "client.log")
    wait_until(lambda: server.api("GET", "/api/clients/dev5")[0] == 200,
               "the client to bootstrap and register with Digest", timeout=60)
    c = json.loads(server.api("GET", "/api/clients/dev5")[1])
    check(c["transport"] == "http", f"registration {c}")
    status, body = server.api("GET", "/api/clients/dev5/3/0/0")
    check(status == 200, f"Read: {status} {body}")
    client.send_signal(15)
    client.wait(timeout=20)


S.run({"bootstrap-digest": bootstrap_digest, "api-auth": api_auth, "digest": digest, "server-wire": server_wire, "https": https, "hostile": hostile, "end-to-end": end_to_end,
      "https-end-to-end": https_end_to_end}, SCENARIO)

#!/usr/bin/env python3
"""The REST API routes the web console is built on, against the real `tether server` on
127.0.0.1, with devices registered by raw CoAP datagrams (one socket each) and by
`tether client`. Usage: api_interop.py TETHER_BINARY SCENARIO

Scenarios:
  clients-paging   GET /api/clients pages in endpoint order by cursor, filters by prefix, text,
                   binding, version, transport, security and state, counts the fleet, refuses
                   bad parameters with 400, and without parameters still answers the array
  models-and-me    GET /api/models and /api/models/{id} on the server and the bootstrap server
                   (names, operations, types, units; ?version=, ?lwm2m=; 400 and 404), and
                   GET /api/me for an operator, a read user and nobody (401)
  events-and-requests  /api/events with repeated ?endpoint= and ?events=, every event timed;
                   reads and writes by `tether client` devices logged per device with the
                   caller (GET /api/clients/{ep}/requests) and streamed as `request` events
  console-assets   the web console at / and /console/{file} on both servers: types, CSP and
                   nosniff, ETag and 304, gzip that inflates to the same bytes, immutable
                   hashed assets, 404 for other names; no user needed for them but for the
                   API; --no-console and --console-dir
  lists-paging     the other long lists page the same way: /api/security/clients (?mode=),
                   /api/bootstrap and /api/bootstrap/sessions (?state=); PUT
                   /api/bootstrap/{ep}?dryRun=true checks and normalises, stores nothing
  metrics          /metrics counts the DTLS sessions libcoap's coap-client-gnutls holds with
                   the server (PSK), and the process's resident memory
  whole-list-cap   with more than 10,000 registrations (`tether bench register`), the unpaged
                   GET /api/clients is refused with 400 and pages still answer
"""
import gzip
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_util import Scenario, free_port  # noqa: E402
from raw_wire import (EventStream, http, register_options, sse_events, udp_code,  # noqa: E402
                      udp_exchange, udp_message)

TETHER = sys.argv[1]
S = Scenario("tether-api-")


class Server:
    def __init__(self, extra=(), role="server"):
        self.log = os.path.join(S.work, role + ".log")
        # A port picked free can be taken by another process's outgoing socket before the
        # server binds it: then the server starts again on other ports (a few times).
        for attempt in range(4):
            self.coap_port = free_port()
            self.http_port = free_port()
            args = [TETHER, role, "--bind", "127.0.0.1", "--coap-port", str(self.coap_port),
                    "--coaps-port", "0", "--http-port", str(self.http_port), "--store", "memory"]
            start = os.path.getsize(self.log) if os.path.exists(self.log) else 0
            self.proc = subprocess.Popen(args + list(extra), stdout=subprocess.DEVNULL,
                                         stderr=open(self.log, "ab"))
            S.procs.append(self.proc)
            S.wait_until(lambda: self.proc.poll() is not None or self.answers(),
                         "the server's API", timeout=30)
            if self.proc.poll() is None:
                return
            with open(self.log, errors="replace") as f:
                f.seek(start)
                if "Address already in use" not in f.read() or attempt == 3:
                    S.check(False, "the server exited while starting")

    def answers(self):
        try:
            return http(self.http_port, "GET", "/api/health", timeout=2)[0] == 200
        except OSError:
            return False

    def call(self, method, path, body=b"", want=200, headers=None):
        status, _, data = http(self.http_port, method, path, body, headers=headers, timeout=40)
        S.check(status == want, f"{method} {path}: expected {want}, got {status}: {data[:300]!r}")
        return json.loads(data) if data else None

    def get(self, path, want=200, headers=None):
        return self.call("GET", path, want=want, headers=headers)

    def client(self, ep, *extra):
        where = [] if "--server" in extra else ["--server", f"coap://127.0.0.1:{self.coap_port}"]
        proc = subprocess.Popen([TETHER, "client", "-e", ep, "--lifetime", "60"] + where
                                + list(extra), stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(S.work, ep + ".log"), "ab"))
        S.procs.append(proc)
        return proc

    def register(self, ep, *queries):
        """POST /rd?ep=... from a socket of its own, as a device would."""
        options = register_options(ep.encode(), [q.encode() for q in ("lt=300",) + queries])
        reply = udp_exchange(self.coap_port, udp_message(0x02, 0x1000, b"\x01", options,
                                                         b"</1/0>,</3/0>"))
        S.check(udp_code(reply) == "2.01", f"register {ep}: {udp_code(reply)}")


def names(page):
    return [c["endpoint"] for c in page["clients"]]


def q(**params):
    return "/api/clients?" + urllib.parse.urlencode(params)


def clients_paging():
    server = Server(["--awake-window-ms", "1500"])
    plain = [f"pg-{i:02d}" for i in range(25)]
    for ep in reversed(plain):  # registered out of order: pages come sorted anyway
        server.register(ep, "lwm2m=1.1", "b=U")
    server.register("pg-q1", "lwm2m=1.1", "b=U", "Q")
    server.register("other-1", "lwm2m=1.2", "b=US")
    everyone = sorted(plain + ["pg-q1", "other-1"])

    # The array form is unchanged, and sorted.
    array = server.get("/api/clients")
    S.check(isinstance(array, list) and [c["endpoint"] for c in array] == everyone,
            f"the array form: {array!r:.300}")

    # Walking by cursor visits each registration once, in order, even as rows go and come.
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 10}
        if cursor:
            params["after"] = cursor
        page = server.get(q(**params))
        S.check(page["total"] >= 26, f"total {page['total']}")
        seen += names(page)
        pages += 1
        if pages == 1:
            # Between pages: a row already seen goes, one ahead of the cursor comes.
            S.check(http(server.http_port, "DELETE", "/api/clients/other-1")[0] == 204,
                    "evicting other-1")
            server.register("pg-zz", "lwm2m=1.1")
        cursor = page.get("next")
        if not cursor:
            break
        S.check(cursor == seen[-1], f"next is the last row: {cursor} vs {seen[-1]}")
        S.check(pages < 10, "paging does not end")
    want = sorted(plain + ["pg-q1", "other-1", "pg-zz"])
    S.check(seen == want, f"pages by cursor: {seen}")
    S.check("matched" not in page, "matched is only counted for a filter")

    S.check(names(server.get(q(prefix="pg-1", limit=3))) == ["pg-10", "pg-11", "pg-12"],
            "prefix")
    page = server.get(q(prefix="pg-1", limit=3, after="pg-12"))
    S.check(names(page) == ["pg-13", "pg-14", "pg-15"] and page["next"] == "pg-15",
            f"prefix after a cursor: {page}")
    page = server.get(q(q="G-2", limit=2))  # text, any case
    S.check(names(page) == ["pg-20", "pg-21"] and page["matched"] == 5 and page["next"] == "pg-21",
            f"q=G-2: {page}")
    page = server.get(q(q="g-2", limit=2, after="pg-21"))
    S.check(names(page) == ["pg-22", "pg-23"] and page["matched"] == 5, f"q after: {page}")
    S.check(names(server.get(q(version="1.1", binding="U", prefix="pg-q"))) == ["pg-q1"],
            "version and binding")
    S.check(server.get(q(transport="tcp"))["clients"] == [], "no TCP clients")
    page = server.get(q(security="none", limit=0))
    S.check(page["clients"] == [] and page["matched"] == 27 and "next" not in page,
            f"limit=0: {page}")

    # State: the queue-mode client is awake after registering, asleep 1.5 s later.
    S.check(names(server.get(q(state="awake"))) == ["pg-q1"], "awake")
    counts = server.get(q(limit=0, counts="true"))["counts"]
    S.check(counts["state"] == {"online": 26, "awake": 1, "sleeping": 0}, f"counts {counts}")
    S.check(counts["binding"] == {"U": 27} and counts["version"] == {"1.1": 27}
            and counts["transport"] == {"udp": 27} and counts["security"] == {"none": 27},
            f"counts {counts}")
    S.wait_until(lambda: names(server.get(q(state="sleeping"))) == ["pg-q1"], "pg-q1 asleep")
    counts = server.get(q(limit=0, counts="true"))["counts"]
    S.check(counts["state"] == {"online": 26, "awake": 0, "sleeping": 1}, f"asleep: {counts}")
    online = server.get(q(state="online", limit=100))
    S.check(len(online["clients"]) == 26, f"online: {names(online)} matched {online.get('matched')}")

    # A real client shows with what it registered.
    server.client("real-1")
    S.wait_until(lambda: names(server.get(q(prefix="real"))) == ["real-1"], "real-1 listed")
    row = server.get(q(prefix="real"))["clients"][0]
    S.check(row["version"] == "1.2" and row["awake"] is True and row["security"] == "none",
            f"real-1: {row}")

    for bad in ("limit=1001", "limit=-1", "limit=x", "limt=5", "state=dozing", "after=%FF"):
        body = server.get("/api/clients?" + bad, want=400)
        S.check(body["code"] == "4.00", f"{bad}: {body}")


def models_and_me():
    users = os.path.join(S.work, "users.json")
    with open(users, "w") as f:
        json.dump({"users": [{"name": "ops", "role": "operator", "token": "ops-token-1"},
                             {"name": "viewer", "role": "read", "token": "view-token-1"}]}, f)
    server = Server(["--api-users", users])
    ops = {"Authorization": "Bearer ops-token-1"}
    viewer = {"Authorization": "Bearer view-token-1"}
    me = server.get("/api/me", headers=ops)
    S.check(me["user"] == "ops" and me["role"] == "operator" and me["service"] == "server"
            and me["version"], f"me as ops: {me}")
    me = server.get("/api/me", headers=viewer)
    S.check(me["user"] == "viewer" and me["role"] == "read", f"me as viewer: {me}")
    S.check(server.get("/api/me", want=401)["code"] == "4.01", "me without a token")

    models = server.get("/api/models", headers=viewer)
    device = [m for m in models if m["id"] == 3]
    S.check({m["version"] for m in device} >= {"1.0", "1.1"} and device[0]["name"] == "Device",
            f"object 3 in /api/models: {device}")
    S.check(len(models) > 50 and all({"id", "name", "version", "lwm2mVersion", "multiple",
                                      "mandatory", "approximate"} <= set(m) for m in models),
            "every model has its summary")
    newest = server.get("/api/models/3", headers=viewer)
    old = server.get("/api/models/3?version=1.0", headers=viewer)
    for_10 = server.get("/api/models/3?lwm2m=1.0", headers=viewer)
    S.check(old["version"] == "1.0" and for_10["lwm2mVersion"] == "1.0"
            and newest["version"] != "1.0", f"versions: {newest['version']} {old['version']}")
    by_id = {r["id"]: r for r in newest["resources"]}
    S.check(by_id[0]["name"] == "Manufacturer" and by_id[0]["operations"] == "R"
            and by_id[0]["type"] == "String", f"/3/0/0: {by_id[0]}")
    S.check(by_id[4]["operations"] == "E" and by_id[4]["type"] == "none", f"/3/0/4: {by_id[4]}")
    S.check(by_id[14]["operations"] == "RW", f"/3/0/14: {by_id[14]}")
    S.check(by_id[7]["multiple"] is True, f"/3/0/7: {by_id[7]}")
    temperature = server.get("/api/models/3303", headers=viewer)
    S.check({r["id"]: r for r in temperature["resources"]}[5700]["type"] == "Float",
            "3303/5700 is a Float")
    for bad, want in (("x", 400), ("70000", 400), ("-1", 400), ("65000", 404),
                      ("3?version=9.9", 404)):
        body = server.get("/api/models/" + bad, want=want, headers=viewer)
        S.check(body["code"] == f"{want // 100}.{want % 100:02d}", f"{bad}: {body}")

    bootstrap = Server(["--api-users", users], role="bootstrap")
    me = bootstrap.get("/api/me", headers=viewer)
    S.check(me["service"] == "bootstrap" and me["role"] == "read", f"bootstrap me: {me}")
    server_object = bootstrap.get("/api/models/1?version=1.1", headers=viewer)
    lifetime = {r["id"]: r for r in server_object["resources"]}[1]
    S.check(server_object["name"] == "LwM2M Server" and lifetime["units"] == "s"
            and lifetime["rangeEnumeration"] == "", f"bootstrap /api/models/1: {lifetime}")


def events_and_requests():
    users = os.path.join(S.work, "users.json")
    with open(users, "w") as f:
        json.dump({"users": [{"name": "ops", "role": "operator", "token": "ops-token-1"}]}, f)
    server = Server(["--api-users", users])
    ops = {"Authorization": "Bearer ops-token-1"}
    for bad in ("events=registered,nope", "colour=red"):
        S.check(server.get("/api/events?" + bad, want=400, headers=ops)["code"] == "4.00", bad)
    narrow = EventStream(server.http_port,
                         "/api/events?endpoint=dev1&endpoint=dev2&events=registered,request",
                         headers=ops)
    everything = EventStream(server.http_port, "/api/events", headers=ops)
    S.wait_until(lambda: b"tether events" in narrow.data and b"tether events" in everything.data,
                 "both streams open")
    for ep in ("dev1", "dev2", "dev3"):
        server.client(ep)
    S.wait_until(lambda: {d["endpoint"] for k, d in sse_events(everything)
                          if k == "registered"} == {"dev1", "dev2", "dev3"}, "three registered")
    before = time.time()
    read = server.get("/api/clients/dev1/3/0/0", headers=ops)
    S.check(read["code"] == "2.05", f"read: {read}")
    server.call("PUT", "/api/clients/dev1/3/0/14", b'"+02:00"', headers=ops)
    server.call("GET", "/api/clients/dev3/3/0/0", headers=ops)
    S.wait_until(lambda: sum(k == "request" for k, _ in sse_events(narrow)) == 2,
                 "dev1's two requests on the narrow stream")
    narrow_events = sse_events(narrow)
    S.check({(k, d["endpoint"]) for k, d in narrow_events} ==
            {("registered", "dev1"), ("registered", "dev2"), ("request", "dev1")},
            f"the narrow stream: {[(k, d['endpoint']) for k, d in narrow_events]}")
    for kind, data in sse_events(everything):
        stamp = data.get("time", "")
        S.check(stamp.endswith("Z") and stamp[:4] == time.strftime("%Y", time.gmtime()),
                f"{kind} event without a time: {data}")
    log = server.get("/api/clients/dev1/requests", headers=ops)
    S.check([e["operation"] for e in log] == ["write", "read"], f"dev1's log: {log}")
    write, first = log
    S.check(first["user"] == "ops" and first["path"] == "/3/0/0" and first["code"] == "2.05"
            and first["result"] == "answered" and first["ms"] >= 0, f"the read: {first}")
    S.check(write["code"] == "2.04", f"the write: {write}")
    S.check(server.get("/api/clients/dev1/requests?limit=1", headers=ops) == [write], "limit=1")
    S.check(server.get("/api/clients/dev2/requests", headers=ops) == [], "dev2 has no log")
    server.get("/api/clients/ghost/3/0", want=404, headers=ops)
    server.get("/api/clients/ghost/requests", want=404, headers=ops)  # made-up names: no log
    # A request that fails is logged with why: an object the client has not.
    server.get("/api/clients/dev1/3/7", want=404, headers=ops)
    failed = server.get("/api/clients/dev1/requests?limit=1", headers=ops)[0]
    S.check(failed["code"] == "4.04" and failed["path"] == "/3/7", f"the failure: {failed}")
    S.check(time.time() - before < 60, "the requests were quick")


def console_assets():
    users = os.path.join(S.work, "users.json")
    with open(users, "w") as f:
        json.dump({"users": [{"name": "ops", "role": "operator", "token": "ops-token-1"}]}, f)
    for role in ("server", "bootstrap"):
        server = Server(["--api-users", users], role=role)
        port = server.http_port
        status, head, page = http(port, "GET", "/")
        S.check(status == 200 and head["content-type"] == "text/html; charset=utf-8"
                and b'<div id="app">' in page, f"{role} /: {status} {head}")
        csp = head.get("content-security-policy", "")
        S.check("default-src 'none'" in csp and "script-src 'self'" in csp
                and "frame-ancestors 'none'" in csp and head["x-content-type-options"] == "nosniff"
                and head["cache-control"] == "no-cache", f"{role} / headers: {head}")
        status, _, _ = http(port, "GET", "/", headers={"If-None-Match": head["etag"]})
        S.check(status == 304, f"{role} / with its ETag: {status}")
        status, _, _ = http(port, "GET", "/", headers={"If-None-Match": f'"x", W/{head["etag"]}'})
        S.check(status == 304, f"{role} / with its ETag in a list: {status}")
        _, gz_head, _ = http(port, "GET", "/", headers={"Accept-Encoding": "gzip"})
        S.check(gz_head["etag"] != head["etag"], "each encoding has its own ETag")
        status, _, _ = http(port, "GET", "/", headers={"If-None-Match": head["etag"],
                                                       "Accept-Encoding": "gzip"})
        S.check(status == 200, f"the plain ETag does not validate the gzipped page: {status}")
        assets = re.findall(r'(?:src|href)="(console/[^"]+)"', page.decode())
        S.check(len(assets) == 3, f"{role} page names {assets}")
        kinds = {}
        for asset in assets:
            status, plain_head, plain = http(port, "GET", "/" + asset)
            status_gz, gz_head, zipped = http(port, "GET", "/" + asset,
                                              headers={"Accept-Encoding": "gzip, br"})
            S.check(status == 200 and status_gz == 200 and "content-encoding" not in plain_head
                    and gz_head.get("content-encoding") == "gzip"
                    and gzip.decompress(zipped) == plain and len(zipped) < len(plain) + 64,
                    f"{asset}: {status} {status_gz} {gz_head}")
            refused = http(port, "GET", "/" + asset, headers={"Accept-Encoding": "gzip;q=0"})
            S.check("content-encoding" not in refused[1], f"{asset} with gzip;q=0: {refused[1]}")
            kinds[asset.rsplit(".", 1)[1]] = plain_head
        S.check(kinds["js"]["content-type"] == "text/javascript; charset=utf-8"
                and "immutable" in kinds["js"]["cache-control"]
                and kinds["css"]["content-type"] == "text/css; charset=utf-8"
                and kinds["svg"]["content-type"] == "image/svg+xml", f"types: {kinds}")
        for bad in ("/console/nope.js", "/console/..%2Fetc%2Fpasswd", "/console/"):
            S.check(http(port, "GET", bad)[0] == 404, f"{role} {bad} is not a file")
        # Any other path is the API's: without a user, refused before routing.
        S.check(http(port, "GET", "/index.html")[0] == 401, f"{role} /index.html")
        # The page needs no user; the API behind it does, and says so without caching.
        status, head, _ = http(port, "GET", "/api/me")
        S.check(status == 401, f"{role} /api/me without a token: {status}")
        status, head, _ = http(port, "GET", "/api/me",
                               headers={"Authorization": "Bearer ops-token-1"})
        S.check(status == 200 and head["cache-control"] == "no-store"
                and head["x-content-type-options"] == "nosniff", f"{role} JSON headers: {head}")
        S.check(http(port, "PUT", "/", b"x")[0] == 401, f"{role}: PUT / is the API's to refuse")

    off = Server(["--no-console"])
    S.check(http(off.http_port, "GET", "/")[0] == 404, "--no-console serves no page")
    folder = os.path.join(S.work, "console")
    os.makedirs(folder)
    with open(os.path.join(folder, "index.html"), "w") as f:
        f.write("<!doctype html><title>dev</title>")
    dev = Server(["--console-dir", folder])
    status, head, page = http(dev.http_port, "GET", "/")
    S.check(status == 200 and page.endswith(b"<title>dev</title>")
            and head["content-type"].startswith("text/html"), f"--console-dir: {status} {page!r}")
    with open(os.path.join(folder, "index.html"), "a") as f:
        f.write("<p>edited")
    S.check(http(dev.http_port, "GET", "/")[2].endswith(b"edited"), "a folder is read afresh")


def lists_paging():
    server = Server()
    for i in range(7):
        body = ({"mode": "psk", "identity": f"id-{i}", "key": "00112233"} if i % 2 == 0
                else {"mode": "x509", "commonName": f"cn-{i}"})
        server.call("PUT", f"/api/security/clients/sec-{i}", json.dumps(body).encode())
    S.check(len(server.get("/api/security/clients")) == 7, "the whole list is unchanged")
    page = server.get("/api/security/clients?limit=3")
    S.check([c["endpoint"] for c in page["credentials"]] == ["sec-0", "sec-1", "sec-2"]
            and page["total"] == 7 and page["next"] == "sec-2", f"first page: {page}")
    S.check(all("key" not in c for c in page["credentials"]), "no key in a page")
    page = server.get("/api/security/clients?limit=3&after=sec-2&mode=psk")
    S.check([c["endpoint"] for c in page["credentials"]] == ["sec-4", "sec-6"]
            and page["matched"] == 4 and "next" not in page, f"psk after sec-2: {page}")
    server.get("/api/security/clients?mode=psk&nope=1", want=400)

    bootstrap = Server(role="bootstrap")
    for ep in ("bs-c", "bs-a", "bs-b"):
        bootstrap.call("PUT", f"/api/bootstrap/{ep}", b"{}")
    S.check(set(bootstrap.get("/api/bootstrap")) == {"bs-a", "bs-b", "bs-c"}, "the whole map")
    page = bootstrap.get("/api/bootstrap?limit=2")
    S.check([c["endpoint"] for c in page["configs"]] == ["bs-a", "bs-b"] and page["next"] == "bs-b"
            and page["total"] == 3 and "delete" in page["configs"][0], f"configs page: {page}")
    page = bootstrap.get("/api/bootstrap?after=bs-b")
    S.check([c["endpoint"] for c in page["configs"]] == ["bs-c"], f"after bs-b: {page}")
    page = bootstrap.get("/api/bootstrap/sessions?limit=5&state=failed")
    S.check(page == {"total": 0, "sessions": [], "matched": 0}, f"no sessions yet: {page}")

    # Dry run: the normalised answer of a PUT, nothing stored; refusals as a PUT's.
    psk = {"credentials": {"mode": "psk", "identity": "shared", "key": "0011"}}
    answer = bootstrap.call("PUT", "/api/bootstrap/dry-1?dryRun=true", json.dumps(psk).encode())
    S.check(answer["credentials"] == {"mode": "psk", "identity": "shared", "keySet": True} and answer["delete"] == ["/0", "/1"],
            f"dry run: {answer}")
    bootstrap.get("/api/bootstrap/dry-1", want=404)
    bootstrap.call("PUT", "/api/bootstrap/dry-1?dryRun=true", b'{"colour": 1}', want=400)
    bootstrap.call("PUT", "/api/bootstrap/bs-a", json.dumps(psk).encode())
    conflict = bootstrap.call("PUT", "/api/bootstrap/dry-2?dryRun=true",
                              json.dumps(psk).encode(), want=409)
    S.check(conflict["code"] == "4.09", f"a PSK identity of another endpoint: {conflict}")


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def metrics():
    coaps = free_port()
    server = Server(["--coaps-port", str(coaps)])
    server.call("PUT", "/api/security/clients/psk-1",
                json.dumps({"mode": "psk", "identity": "psk-1",
                            "key": b"secret-1".hex()}).encode())

    def text():
        return http(server.http_port, "GET", "/metrics")[2].decode()
    before = text()
    S.check(metric(before, 'tether_secure_sessions{transport="dtls"}') == 0, "no session yet")
    S.check(metric(before, "tether_process_resident_bytes") > 1e6, "resident memory")
    # libcoap's client handshakes with the PSK, asks for what the server has not, and says
    # close_notify as it leaves; our client keeps its session while registered.
    peer = subprocess.run(["coap-client-gnutls", "-m", "get", "-u", "psk-1", "-k", "secret-1",
                           "-B", "5", f"coaps://127.0.0.1:{coaps}/nothing"],
                          capture_output=True, timeout=30)
    S.check(b"4.04" in peer.stdout + peer.stderr,
            f"coap-client-gnutls: {peer.returncode} {peer.stdout!r} {peer.stderr!r}")
    S.check(metric(text(), 'tether_secure_sessions{transport="dtls"}') == 0,
            "a session closed by the peer is not counted")
    server.client("psk-1", "--server", f"coaps://127.0.0.1:{coaps}", "--psk-identity", "psk-1",
                  "--psk-key", b"secret-1".hex())
    S.wait_until(lambda: metric(text(), 'tether_secure_sessions{transport="dtls"}') == 1,
                 "our client's DTLS session counted")
    S.check(metric(text(), 'tether_secure_handshakes{transport="dtls"}') == 0,
            "no handshake left in progress")
    S.check(server.get("/api/clients/psk-1")["security"] == "psk", "registered over DTLS")


def whole_list_cap():
    server = Server(["-q"])
    try:
        bench = subprocess.run([TETHER, "bench", "register", "--port", str(server.coap_port),
                                "--clients", "10001", "--keep", "--lifetime", "600"],
                               capture_output=True, text=True, timeout=100)
    except subprocess.TimeoutExpired:
        S.check(False, "tether bench register did not register 10,001 clients in 100 s")
    S.check(bench.returncode == 0 and "10001 ok" in bench.stdout, f"registered: {bench.stdout}")
    refused = server.get("/api/clients", want=400)
    S.check(refused["code"] == "4.00" and "pages" in refused["message"], f"refused: {refused}")
    page = server.get(q(limit=2, prefix="bench-1000", counts="true"))
    S.check(page["total"] == 10001 and names(page) == ["bench-1000", "bench-10000"]
            and page["counts"]["binding"]["U"] == 10001, f"a page: {page}")
    # The credentials list, at its size, still answers whole.
    S.check(server.get("/api/security/clients") == [], "credentials")


S.run({"whole-list-cap": whole_list_cap, "metrics": metrics, "lists-paging": lists_paging, "clients-paging": clients_paging, "models-and-me": models_and_me,
       "events-and-requests": events_and_requests, "console-assets": console_assets},
      sys.argv[2])

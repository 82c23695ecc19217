"""`tether server --workers 2`: two event loops on one port (SO_REUSEPORT), with raw CoAP
datagrams, libcoap's coap-client and `tether client` over DTLS as the devices, and raw HTTP
on the REST API. Usage: workers_interop.py TETHER_BINARY SCENARIO

Scenarios:
  spread      120 devices, each from a socket of its own, register and update (2.01, 2.04:
              an Update reaches the worker that holds the registration); both workers hold
              some (calls about a device on the second worker are handed to it); the list
              (whole, and read by pages of 17) has every device once and in order, its
              counts and /metrics (one TYPE line per family) add up to 120, and an
              /api/events stream saw every device register and update; a device registering again from
              new ports is listed once; 30 devices whose NAT rebinds Update their location
              from new ports and get 2.04 (those now reaching the other worker have their
              registration handed over); coap-client (libcoap) registers too; restarted with
              --workers 2 every registration is there and every device's Update reaches the
              worker holding it again; restarted with --workers 1 (the second worker's file
              folded into the first's) all are still there; restarted with --workers 2 again,
              every Update gets 2.04 (half handed over), and De-registers leave only
              coap-client's; OSCORE credentials put with one worker are there after a
              restart with two
  dtls-psk    credentials put through the API after start (the second worker learns them
              over the workers' bus); eight `tether client`s with PSK, half over DTLS and
              half over TLS, register, and
              the API reads each one's /3/0/0 through the worker that holds its session;
              OSCORE credentials are taken (every worker keeps a copy of the context)
  rebind      three workers, 60 devices: each device's NAT rebinds, and its Update from the
              new port gets 2.04 (the worker it reaches now is handed the registration by
              whichever of the other two holds it; the API shows the new address); after
              another rebinding, each De-register from a new port gets 2.02 and nothing is
              left on any worker
  port-taken  a second server on the same ports, with or without --workers, fails at start
              naming the taken port, and the first keeps serving
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_util import Scenario, free_port, start_service  # noqa: E402
from raw_wire import EventStream, UdpDevice, http, sse_events  # noqa: E402

TETHER = sys.argv[1]
SCENARIO = sys.argv[2]
T = Scenario("tether-workers-")
COAP_CLIENT = "/usr/bin/coap-client-notls" if os.path.exists(
    "/usr/bin/coap-client-notls") else "/usr/bin/coap-client-gnutls"


class Server:
    def __init__(self, name, extra=(), ports=None):
        self.log = os.path.join(T.work, name + ".log")
        self.data = os.path.join(T.work, "data")
        for attempt in range(4):
            if ports is None:
                self.coap_port, self.coaps_port, self.http_port = (free_port(), free_port(),
                                                                   free_port())
            else:
                self.coap_port, self.coaps_port, self.http_port = ports
            args = [TETHER, "server", "--bind", "127.0.0.1", "--coap-port", str(self.coap_port),
                    "--coaps-port", str(self.coaps_port), "--http-port", str(self.http_port),
                    "--data-dir", self.data] + list(extra)
            self.proc = start_service(T, args, self.log, self.http_port, name,
                                      ports is None and attempt < 3)
            if self.proc is not None:
                return

    def api(self, method, path, body=None):
        raw = json.dumps(body).encode() if body is not None else b""
        status, _, data = http(self.http_port, method, path, raw)
        return status, (json.loads(data) if data and data[:1] in b"[{" else data)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


class Device(UdpDevice):
    """A device on a UDP socket of its own: the kernel sends each source to one worker."""

    def __init__(self, server, index, name=None):
        self.server = server  # replaced by the restarted server's
        super().__init__(lambda: self.server.coap_port, index, T.fail, name)


def metric_lines(server):
    status, _, body = http(server.http_port, "GET", "/metrics")
    T.check(status == 200, f"/metrics: {status}")
    return body.decode().splitlines()


def metric(server, name):
    for line in metric_lines(server):
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def endpoints_by_pages(server, limit):
    seen, after = [], None
    for _ in range(1000):
        path = "/api/clients?limit=%d" % limit + ("&after=" + after if after else "")
        status, page = server.api("GET", path)
        T.check(status == 200, f"{path}: {status} {page}")
        seen += [c["endpoint"] for c in page["clients"]]
        after = page.get("next")
        if after is None:
            return seen, page["total"]
    T.fail("paging did not end")


def whole_list(server):
    status, clients = server.api("GET", "/api/clients")
    T.check(status == 200 and isinstance(clients, list), f"/api/clients: {status}")
    return [c["endpoint"] for c in clients]


def coap_client_register(server, ep):
    r = subprocess.run([COAP_CLIENT, "-B", "10", "-m", "post", "-t", "40", "-e", "</3/0>",
                        "coap://127.0.0.1:%d/rd?ep=%s&lt=600" % (server.coap_port, ep)],
                       capture_output=True, timeout=30)
    return r.returncode


def spread():
    count = 120
    s = Server("server", ["--workers", "2", "--store", "sqlite", "--udp-only", "-q"])
    T.check("workers=2" in s.log_text(), "the start-up line does not say workers=2")
    stream = EventStream(s.http_port, "/api/events?events=registered,updated")
    T.check(stream.wait_for("HTTP/1.1 200", 5), "the event stream did not start")
    devices = [Device(s, i) for i in range(count)]
    for d in devices:
        T.check(d.register(0x1000 + d.index) == "2.01", d.name + ": Register not 2.01")
    # The same socket reaches the same worker: every Update finds its registration.
    for d in devices:
        T.check(d.update(0x2000 + d.index) == "2.04", d.name + ": Update not 2.04")
    names = ["dev-%d" % i for i in range(count)]

    # Every device read through the API; those on the second worker are handed to it.
    for n in names:
        status, dev = s.api("GET", "/api/clients/" + n)
        T.check(status == 200 and dev["lifetime"] == 900, f"{n}: {status} {dev}")
    forwarded = metric(s, "tether_node_calls_forwarded_total")
    T.check(forwarded is not None and 0 < forwarded < count,
            f"calls handed to the second worker: {forwarded} (both workers should hold some)")

    T.check(whole_list(s) == sorted(names), "the whole list is not every device once, in order")
    paged, total = endpoints_by_pages(s, 17)
    T.check(paged == sorted(names) and total == count, f"pages of 17: {len(paged)} of {total}")
    status, page = s.api("GET", "/api/clients?limit=0&counts=true")
    T.check(status == 200 and page["total"] == count and
            page["counts"]["transport"] == {"udp": count}, f"counts: {page}")
    status, page = s.api("GET", "/api/clients?limit=5&prefix=dev-1")
    T.check([c["endpoint"] for c in page["clients"]] ==
            sorted(n for n in names if n.startswith("dev-1"))[:5], f"prefix page: {page}")

    lines = metric_lines(s)
    types = [l for l in lines if l.startswith("# TYPE ")]
    T.check(len(types) == len(set(types)), "a metric family is typed twice in /metrics")
    T.check(metric(s, "tether_registrations") == count, "tether_registrations is not the sum")
    T.check(metric(s, "tether_updates_total") == count, "tether_updates_total is not the sum")
    shares = [metric(s, 'tether_registrations_by_worker{worker="w%d"}' % k) for k in range(2)]
    T.check(None not in shares and sum(shares) == count and min(shares) > 0,
            f"each worker's share of the registrations: {shares}")
    for kind in ("registered", "updated"):
        T.wait_until(lambda: {d["endpoint"] for k, d in sse_events(stream) if k == kind} ==
                     set(names), "the stream to see every device's " + kind, 20)

    # dev-5 registers again from new ports (a NAT that rebinds): listed once, wherever it is.
    for k in range(6):
        mover = Device(s, 5)
        T.check(mover.register(0x3000 + k) == "2.01", "dev-5 again: Register not 2.01")
        devices[5] = mover
        T.wait_until(lambda: whole_list(s).count("dev-5") == 1 and len(whole_list(s)) == count,
                     "dev-5 to be listed once", 10)
        T.check(mover.update(0x3100 + k) == "2.04", "dev-5 from its new port: Update not 2.04")

    # A NAT that rebinds without the device registering again: 30 devices Update their
    # location from new ports. Some now reach the other worker, which is handed the
    # registration (the chance that none of 30 changes worker is 2^-30).
    for i in range(10, 40):
        moved = Device(s, i)
        moved.location = devices[i].location
        devices[i].close()
        devices[i] = moved
        T.check(moved.update(0x3200 + i) == "2.04", moved.name + ": Update from a new port")
    taken = metric(s, "tether_takeovers_total")
    T.check(taken is not None and 0 < taken <= 30, f"registrations handed over: {taken}")
    T.check(whole_list(s) == sorted(names) and metric(s, "tether_registrations") == count,
            "after the moves, every device is listed once")
    for i in range(10, 40):
        T.check(devices[i].update(0x3300 + i) == "2.04", devices[i].name + ": second Update")
    T.check(metric(s, "tether_takeovers_total") == taken, "a second Update was handed over again")

    # libcoap's coap-client, from ports of its own.
    for k in range(4):
        T.check(coap_client_register(s, "libcoap-%d" % k) == 0, "coap-client failed")
    T.wait_until(lambda: len(whole_list(s)) == count + 4, "coap-client's registrations")
    names += ["libcoap-%d" % k for k in range(4)]

    # Durable on each worker: a restart with two workers, then with one.
    time.sleep(1.5)  # written behind, within a second
    s.stop()
    T.check(os.path.exists(os.path.join(s.data, "tether-w1.db")), "no file for worker 1")
    ports = (s.coap_port, s.coaps_port, s.http_port)
    s = Server("server", ["--workers", "2", "--store", "sqlite", "--udp-only", "-q"], ports)
    T.check(whole_list(s) == sorted(names), "after a restart with two workers")
    # The workers joined the port in the same order: each source reaches the same one again.
    for d in devices:
        d.server = s
        T.check(d.update(0x4000 + d.index) == "2.04", d.name + ": Update after the restart")
    time.sleep(1.5)
    s.stop()
    s = Server("server", ["--workers", "1", "--store", "sqlite", "--udp-only", "-q"], ports)
    T.check(whole_list(s) == sorted(names), "after a restart with one worker")
    T.check("event=worker_store_folded" in s.log_text() and
            not os.path.exists(os.path.join(s.data, "tether-w1.db")),
            "worker 1's file was not folded into worker 0's")
    time.sleep(1.5)
    s.stop()
    # Back to two workers: all registrations are worker 0's now, so the devices whose source
    # the kernel hashes to worker 1 have theirs handed over at their Update.
    s = Server("server", ["--workers", "2", "--store", "sqlite", "--udp-only", "-q"], ports)
    for d in devices:
        d.server = s
        T.check(d.update(0x4080 + d.index) == "2.04", d.name + ": Update after 1 -> 2 workers")
    taken = metric(s, "tether_takeovers_total")
    T.check(taken is not None and 0 < taken < count, f"handed over after 1 -> 2: {taken}")
    T.check(whole_list(s) == sorted(names), "after 1 -> 2 workers")
    for d in devices:
        T.check(d.deregister(0x4100 + d.index) == "2.02", d.name + ": De-register not 2.02")
    T.check(whole_list(s) == ["libcoap-%d" % k for k in range(4)], "after the De-registers")
    s.stop()
    s = Server("server", ["--workers", "1", "--store", "sqlite", "--udp-only", "-q"], ports)

    # OSCORE credentials on file (put with one worker) are every worker's after a restart
    # with two (each keeps a copy of the context: docs/architecture.md, "Workers").
    status, body = s.api("PUT", "/api/security/clients/odev", {
        "mode": "oscore", "masterSecret": "0102030405060708090a0b0c0d0e0f10",
        "senderId": "01", "recipientId": "02"})
    T.check(status == 200, f"OSCORE credentials with one worker: {status} {body}")
    s.stop()
    s = Server("server", ["--workers", "2", "--store", "sqlite", "--udp-only", "-q"], ports)
    status, body = s.api("GET", "/api/security/clients/odev")
    T.check(status == 200 and body["mode"] == "oscore" and "masterSecret" not in body,
            f"OSCORE credentials after a restart with two workers: {status} {body}")
    s.stop()


def dtls_psk():
    s = Server("server", ["--workers", "2", "--store", "memory"])
    key = "00112233445566778899aabbccddeeff"
    eps = ["pdev-%d" % i for i in range(8)]
    # Half over DTLS, half over TLS (TCP connections are spread at accept).
    carrier = {ep: ("dtls", "coaps") if i % 2 == 0 else ("tls", "coaps+tcp")
               for i, ep in enumerate(eps)}
    for ep in eps:
        status, body = s.api("PUT", "/api/security/clients/" + ep,
                             {"mode": "psk", "identity": ep + "-id", "key": key})
        T.check(status == 200, f"credentials of {ep}: {status} {body}")
    for ep in eps:
        log = open(os.path.join(T.work, ep + ".log"), "wb")
        T.procs.append(subprocess.Popen(
            [TETHER, "client", "--lifetime", "60", "-q", "-e", ep, "--server",
             "%s://127.0.0.1:%d" % (carrier[ep][1], s.coaps_port), "--psk-identity", ep + "-id",
             "--psk-key",
             key], stdout=log, stderr=subprocess.STDOUT))
    T.wait_until(lambda: all(s.api("GET", "/api/clients/" + ep)[0] == 200 for ep in eps),
                 "every PSK client to register", 30)
    for ep in eps:
        status, body = s.api("GET", "/api/clients/%s/3/0/0?timeout=10" % ep)
        T.check(status == 200 and body["values"]["/3/0/0"] == "Tether", f"{ep}: {status} {body}")
        status, dev = s.api("GET", "/api/clients/" + ep)
        T.check(dev["transport"] == carrier[ep][0], f"{ep}: {dev}")
    status, page = s.api("GET", "/api/clients?limit=0&counts=true")
    T.check(page["counts"]["security"] == {"psk": 8} and
            page["counts"]["transport"] == {"dtls": 4, "tls": 4}, f"counts: {page}")
    # OSCORE credentials are taken: every worker keeps a copy of the context, and each
    # worker learns them as it learned the PSKs.
    status, body = s.api("PUT", "/api/security/clients/odev", {
        "mode": "oscore", "masterSecret": "0102030405060708090a0b0c0d0e0f10",
        "senderId": "01", "recipientId": "02"})
    T.check(status == 200, f"OSCORE credentials with two workers: {status} {body}")


def rebind():
    count = 60
    s = Server("server", ["--workers", "3", "--store", "memory", "--udp-only", "-q"])
    devices = [Device(s, i) for i in range(count)]
    for d in devices:
        T.check(d.register(0x1000 + d.index) == "2.01", d.name + ": Register not 2.01")
    names = sorted(d.name for d in devices)
    shares = [metric(s, 'tether_registrations_by_worker{worker="w%d"}' % k) for k in range(3)]
    T.check(None not in shares and sum(shares) == count and min(shares) > 0,
            f"the three workers' shares: {shares}")

    def move(d):
        moved = Device(s, d.index)
        moved.location = d.location
        d.close()
        return moved

    # Every NAT rebinds: each device Updates from a new port; about two thirds now reach
    # another of the three workers, which asks the other two for the registration.
    devices = [move(d) for d in devices]
    for d in devices:
        T.check(d.update(0x2000 + d.index) == "2.04", d.name + ": Update from a new port")
        port = d.sock.getsockname()[1]
        status, dev = s.api("GET", "/api/clients/" + d.name)
        T.check(status == 200 and dev["lifetime"] == 900 and
                dev["address"].endswith(":%d" % port), f"{d.name} after the move: {status} {dev}")
    taken = metric(s, "tether_takeovers_total")
    T.check(taken is not None and 0 < taken <= count, f"registrations handed over: {taken}")
    T.check(whole_list(s) == names and metric(s, "tether_registrations") == count,
            "after the moves, every device is listed once")
    # And again, straight to a De-register from yet another port.
    devices = [move(d) for d in devices]
    for d in devices:
        T.check(d.deregister(0x3000 + d.index) == "2.02", d.name + ": De-register from a new port")
    T.check(whole_list(s) == [] and metric(s, "tether_registrations") == 0,
            "after the De-registers, nothing is left on any worker")


def port_taken():
    s = Server("server", ["--workers", "2", "--store", "memory"])
    for k, extra in enumerate((["--workers", "2"], ["--workers", "1"])):
        log = os.path.join(T.work, "second-%d.log" % k)
        r = subprocess.run([TETHER, "server", "--bind", "127.0.0.1", "--coap-port",
                            str(s.coap_port), "--coaps-port", str(s.coaps_port), "--http-port",
                            str(free_port()), "--store", "memory"] + extra,
                           stdout=subprocess.DEVNULL, stderr=open(log, "wb"), timeout=30)
        with open(log, errors="replace") as f:
            text = f.read()
        T.check(r.returncode != 0 and str(s.coap_port) in text and "in use" in text,
                f"a second server on the same ports ({extra}): rc {r.returncode}: {text}")
    d = Device(s, 0)
    T.check(d.register(0x1000) == "2.01", "the first server stopped serving")


T.run({"spread": spread, "dtls-psk": dtls_psk, "rebind": rebind, "port-taken": port_taken},
      SCENARIO)

#!/usr/bin/env python3
"""`tether server --mqtt` against a real Mosquitto broker (Transport TS 8), with the device
side played by mosquitto_pub / mosquitto_sub and every map encoded and decoded with Python's
cbor2 (python3-cbor2), never with our own codec; the REST API checked over HTTP. Usage:
mqtt_interop.py TETHER_BINARY SCENARIO

Scenarios:
  server-wire     Register, Update, a REST Read answered by the device, a REST Observe and the
                  device's Notify, a Send in SenML CBOR,
                  a REST Read-Composite answered by the device, bad maps
                  (not CBOR, an unknown operation, another endpoint's name) with their 8.5
                  results and /metrics counters, De-register: every byte on the broker as
                  table 8.7 says
  broker-restart  the broker stops and starts again mid-session: the server reconnects,
                  subscribes again and keeps the registration, and the next Read gets through
  bootstrap-wire  `tether bootstrap --mqtt`: a Bootstrap-Request on the bs topic, then the
                  Deletes, Writes and Finish as 8.3.1 maps, answered by the device
  end-to-end      `tether client --bootstrap mqtt://...` bootstraps from `tether bootstrap
                  --mqtt`, registers with `tether server --mqtt` (both on one broker under
                  one prefix), is read (each format, and Read-Composite), written, observed
                  (notifications) and executed (/1/0/8: an Update) through the REST API, and
                  de-registers when stopped
  client-reconnect  `tether client --server mqtt://...` and `tether server --mqtt` through a
                  broker that stops and starts again: the client connects again, subscribes
                  again and goes on (its next Update, a Read through it)
  cose            Transport TS 8.6: credentials in mode cose through the REST API and
                  `tether client --mqtt-cose-kid/--mqtt-cose-key`; every map on the broker
                  (read by mosquitto_sub, decoded by cbor2) is a COSE_Encrypt0, the session
                  works, and a client without the key is not heard
  tls             the broker on TLS (certificates made by openssl): `tether server --mqtt
                  mqtts://...` and `tether client --server mqtts://...` check its certificate
                  against --mqtt-ca and register (transport mqtts); a client given another
                  CA does not get through
  server-away     the server on a persistent broker session (--mqtt-session-expiry, SQLite
                  store) stops; an Update published meanwhile waits in the broker and is
                  answered by the server when it starts again
  queue-mode      Transport TS 6.5 over a persistent broker session (--mqtt-session-expiry):
                  asleep, our client leaves the broker; a Read published by mosquitto_pub
                  meanwhile waits in the broker and is answered when the client's next Update
                  brings it back, and a REST Read waits in the server's queue likewise
  bootstrap-cose  bootstrap and registration both sealed in COSE_Encrypt0, each with its own
                  key: the bootstrap server writes the server account's COSE instance
  will            the Will of the client's MQTT Server object (24): published by the broker
                  when the client vanishes, not when it leaves with a DISCONNECT
  tenants         two tenants on one broker with a Mosquitto ACL file: tenant a's user can
                  neither read tenant b's topics nor reach tenant b's server; our client
                  logs in as its MQTT Server object (24) says
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import cbor2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_util import Scenario, free_port, tcp_listening  # noqa: E402

TETHER = sys.argv[1]
SCENARIO = sys.argv[2]
S = Scenario("tether-mqtt-")
WORK, PROCS = S.work, S.procs
fail, check, wait_until = S.fail, S.check, S.wait_until

# Table 8.7 keys and the operation codes of 8.3 (written out here, not taken from our code).
OP, TOKEN, EP, URI, PATHS, PAYLOAD, LT, VER, RESULT, CT = 1, 2, 3, 5, 6, 7, 8, 9, 18, 19
REGISTER, UPDATE, DEREGISTER, READ, READ_COMPOSITE, OBSERVE, NOTIFY, SEND = \
    6, 7, 8, 9, 10, 20, 23, 24
SENML_CBOR = 112  # RFC 8428; labels: bn -2, n 0, v 2


class Broker:
    def __init__(self, port=None, extra_conf=""):
        self.port = port or free_port()
        self.conf = os.path.join(WORK, f"mosquitto-{self.port}.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\npersistence false\n")
            f.write(extra_conf or "allow_anonymous true\n")
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(WORK, "mosquitto.log"), "ab"))
        PROCS.append(self.proc)
        wait_until(lambda: tcp_listening(self.port), "mosquitto to listen")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


class Server:
    def __init__(self, broker, prefix, extra=(), role="server", name=None, store="memory"):
        self.http_port = free_port()
        self.log = os.path.join(WORK, f"{name or role}-{prefix}.log")
        args = [TETHER, role, "--bind", "127.0.0.1", "--coap-port", str(free_port()),
                "--coaps-port", "0", "--http-port", str(self.http_port), "--store", store,
                "--mqtt", f"mqtt://127.0.0.1:{broker.port}", "--mqtt-prefix", prefix]
        self.proc = subprocess.Popen(args + list(extra), stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "ab"))
        PROCS.append(self.proc)
        wait_until(lambda: self.connections() >= 1, "the server to connect to the broker")

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def connections(self):
        check(self.proc.poll() is None, "the server exited")
        return self.log_text().count("event=mqtt-connected")

    def api(self, method, path, timeout=15):
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


class Device:
    """The device's side: mosquitto_sub on its topic, mosquitto_pub to publish."""

    def __init__(self, broker, topic, user=None):
        self.broker = broker
        self.topic = topic
        self.user = user
        self.messages = []
        self.lock = threading.Lock()
        self.sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port),
                                     "-t", topic, "-F", "%x", "-V", "mqttv5", "-q", "1"]
                                    + self.login(), stdout=subprocess.PIPE,
                                    stderr=open(os.path.join(WORK, "sub.log"), "ab"), text=True)
        PROCS.append(self.sub)
        threading.Thread(target=self.read, daemon=True).start()
        time.sleep(0.3)  # the subscription is in place before anything is published

    def login(self):
        return ["-u", self.user[0], "-P", self.user[1]] if self.user else []

    def read(self):
        for line in self.sub.stdout:
            line = line.strip()
            if not line:
                continue
            with self.lock:
                self.messages.append(bytes.fromhex(line))

    def publish(self, raw):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-t",
                        self.topic, "-s", "-q", "1"] + self.login(), input=raw, check=True,
                       timeout=10)

    def maps(self):
        out = []
        with self.lock:
            for m in self.messages:
                try:
                    out.append(cbor2.loads(m))
                except Exception:
                    pass
        return out

    def wait_map(self, pred, what, timeout=15):
        found = []

        def seen():
            found[:] = [m for m in self.maps() if isinstance(m, dict) and pred(m)]
            return bool(found)
        wait_until(seen, what, timeout)
        return found[-1]

    def answer_of(self, token, timeout=15):
        return self.wait_map(lambda m: m.get(TOKEN) == token and RESULT in m,
                             f"the answer to token {token}", timeout)

    def request(self, m):
        self.publish(cbor2.dumps(m))
        return self.answer_of(m[TOKEN])


def register(dev, token=1, ep="dev1", lifetime=60):
    return dev.request({OP: REGISTER, TOKEN: token, EP: ep, LT: lifetime, VER: "1.2", CT: 40,
                        PAYLOAD: b"</1/0>,</3/0>,</3303/0>"})


def serve_read(server, dev, path, text):
    """A REST read of `path`, answered by the device with `text`; returns the API's answer."""
    result = {}

    def call():
        result["r"] = server.api("GET", f"/api/clients/dev1/{path}")
    t = threading.Thread(target=call)
    t.start()
    req = dev.wait_map(lambda m: m.get(OP) == READ and m.get(URI) == "/" + path,
                       f"the Read of /{path}")
    check(isinstance(req.get(TOKEN), int), f"a Read without an integer token: {req}")
    dev.publish(cbor2.dumps({RESULT: 205, TOKEN: req[TOKEN], CT: 0, PAYLOAD: text.encode()}))
    t.join(20)
    check("r" in result, "the API did not answer")
    return result["r"]


def server_wire():
    broker = Broker()
    server = Server(broker, "t")
    dev = Device(broker, "t/lwm2m/rd/dev1")
    a = register(dev)
    check(a == {RESULT: 201, TOKEN: 1}, f"Register answer {a}")
    status, body = server.api("GET", "/api/clients/dev1")
    check(status == 200, f"GET /api/clients/dev1: {status} {body}")
    c = json.loads(body)
    check(c["transport"] == "mqtt" and c["address"] == "t/lwm2m/rd/dev1", f"client {c}")
    check(c["lifetime"] == 60, f"lifetime {c}")

    status, body = serve_read(server, dev, "3/0/0", "Tether")
    check(status == 200 and "Tether" in body, f"Read /3/0/0: {status} {body}")

    # Observe through the REST API, answered, then a Notify under the observation's token.
    result = {}

    def observe():
        result["r"] = server.api("POST", "/api/clients/dev1/3303/0/5700/observe")
    t = threading.Thread(target=observe)
    t.start()
    req = dev.wait_map(lambda m: m.get(OP) == OBSERVE, "the Observe")
    check(req.get(URI) == "/3303/0/5700", f"Observe map: {req}")
    dev.publish(cbor2.dumps({RESULT: 205, TOKEN: req[TOKEN], CT: 0, PAYLOAD: b"20.5"}))
    t.join(20)
    check(result.get("r", (0,))[0] == 200 and "20.5" in result["r"][1], f"Observe: {result}")
    dev.publish(cbor2.dumps({OP: NOTIFY, TOKEN: req[TOKEN], CT: 0, PAYLOAD: b"21"}))
    wait_until(lambda: "event=notification" in server.log_text(), "the Notify to arrive")

    # Send (8.3.4) in SenML CBOR, made by cbor2: 2.04, and the value reaches the API's events.
    a = dev.request({OP: SEND, TOKEN: 6, CT: SENML_CBOR,
                     PAYLOAD: cbor2.dumps([{0: "/3303/0/5700", 2: 21.5}])})
    check(a == {RESULT: 204, TOKEN: 6}, f"Send answer {a}")
    check("event=send" in server.log_text(), "the Send is not in the server's log")
    # Read-Composite through the REST API: the map carries the paths; the device answers in
    # SenML CBOR.
    result = {}

    def composite():
        req = urllib.request.Request(
            f"http://127.0.0.1:{server.http_port}/api/clients/dev1/composite/read",
            data=json.dumps({"paths": ["/3/0/0", "/3303/0/5700"]}).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=15) as r:
            result["r"] = (r.status, r.read().decode())
    t = threading.Thread(target=composite)
    t.start()
    req = dev.wait_map(lambda m: m.get(OP) == READ_COMPOSITE, "the Read-Composite")
    check(isinstance(req.get(PATHS), bytes) and b"/3303/0/5700" in req[PATHS],
          f"Read-Composite paths: {req}")
    dev.publish(cbor2.dumps({RESULT: 205, TOKEN: req[TOKEN], CT: SENML_CBOR, PAYLOAD: cbor2.dumps(
        [{0: "/3/0/0", 3: "Tether"}, {0: "/3303/0/5700", 2: 22.5}])}))
    t.join(20)
    check(result.get("r", (0,))[0] == 200 and "22.5" in result["r"][1],
          f"Read-Composite through the API: {result}")

    a = dev.request({OP: UPDATE, TOKEN: 2, LT: 120})
    check(a == {RESULT: 204, TOKEN: 2}, f"Update answer {a}")
    status, body = server.api("GET", "/api/clients/dev1")
    check(json.loads(body)["lifetime"] == 120, f"lifetime after Update: {body}")

    # Bad input: not CBOR (dropped, counted), an unknown operation (4.00), a name that is
    # not the topic's (4.00), a map without a token (dropped, counted).
    dev.publish(b"\xff\x00not cbor")
    a = dev.request({OP: 99, TOKEN: 3})
    check(a.get(RESULT) == 400, f"unknown operation answered {a}")
    evil = Device(broker, "t/lwm2m/rd/evil")
    a = register(evil, token=4, ep="dev1")
    check(a.get(RESULT) == 400, f"a Register naming another endpoint answered {a}")
    dev.publish(cbor2.dumps({OP: UPDATE, LT: 5}))
    time.sleep(0.5)
    status, metrics = server.api("GET", "/metrics")
    check('tether_link_events_total{link="mqtt",event="malformed"} 2' in metrics,
          "malformed maps not counted: " +
          "\n".join(l for l in metrics.splitlines() if "link_events" in l))
    check(json.loads(server.api("GET", "/api/clients/dev1")[1])["lifetime"] == 120,
          "bad input changed the registration")

    a = dev.request({OP: DEREGISTER, TOKEN: 5})
    check(a == {RESULT: 202, TOKEN: 5}, f"De-register answer {a}")
    check(server.api("GET", "/api/clients/dev1")[0] == 404, "still registered")
    # Every map on the topic (the server's and the device's; the garbage above is not one) has
    # only the integer keys of table 8.7.
    for m in dev.maps():
        if isinstance(m, dict):
            check(all(isinstance(k, int) for k in m), f"not a 8.7 map: {m}")


def broker_restart():
    broker = Broker()
    server = Server(broker, "t")
    dev = Device(broker, "t/lwm2m/rd/dev1")
    check(register(dev).get(RESULT) == 201, "Register")
    broker.stop()
    dev.sub.kill()
    wait_until(lambda: "event=mqtt-disconnected" in server.log_text(), "the server to notice")
    time.sleep(1)
    broker.start()
    wait_until(lambda: server.connections() >= 2, "the server to reconnect", timeout=60)
    status, _ = server.api("GET", "/api/clients/dev1")
    check(status == 200, "the registration was lost with the broker")
    dev = Device(broker, "t/lwm2m/rd/dev1")
    status, body = serve_read(server, dev, "3/0/0", "again")
    check(status == 200 and "again" in body, f"Read after the broker restart: {status} {body}")
    a = dev.request({OP: UPDATE, TOKEN: 7})
    check(a.get(RESULT) == 204, f"Update after the broker restart: {a}")


def bootstrap_wire():
    broker = Broker()
    configs = os.path.join(WORK, "configs.json")
    with open(configs, "w") as f:
        json.dump({"dev1": {
            "security": {"1": {"uri": "mqtt://127.0.0.1:1883", "bootstrap": False,
                               "mode": "nosec", "shortServerId": 101}},
            "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "M"}}}}, f)
    bs = Server(broker, "t", role="bootstrap", extra=["--configs", configs])
    dev = Device(broker, "t/lwm2m/bs/dev1")
    a = dev.request({OP: 0, TOKEN: 1})  # Bootstrap-Request
    check(a == {RESULT: 204, TOKEN: 1}, f"Bootstrap-Request answer {a}")
    answered = set()
    # Answer each request of the session as it comes: Delete 2.02, the rest 2.04.
    deadline = time.time() + 30
    ops = []
    while time.time() < deadline:
        for m in dev.maps():
            if isinstance(m, dict) and OP in m and RESULT not in m and m[TOKEN] not in answered \
                    and m[OP] in (1, 3, 5):
                answered.add(m[TOKEN])
                ops.append(m)
                dev.publish(cbor2.dumps({RESULT: 202 if m[OP] == 3 else 204, TOKEN: m[TOKEN]}))
        if ops and ops[-1][OP] == 5:
            break
        time.sleep(0.05)
    codes = [m[OP] for m in ops]
    check(codes == [3, 3, 1, 1, 5], f"the session's operations: {codes}")
    check(ops[2][URI] == "/0/1" and CT in ops[2] and PAYLOAD in ops[2], f"a Write: {ops[2]}")
    def finished():
        status, body = bs.api("GET", "/api/bootstrap/dev1/session")
        return status == 200 and json.loads(body).get("state") == "finished"
    wait_until(finished, "the session to finish")


def end_to_end():
    broker = Broker()
    configs = os.path.join(WORK, "configs.json")
    with open(configs, "w") as f:
        json.dump({"dev1": {
            "security": {"1": {"uri": f"mqtt://127.0.0.1:{broker.port}", "bootstrap": False,
                               "mode": "nosec", "shortServerId": 101}},
            "servers": {"0": {"shortServerId": 101, "lifetime": 60, "binding": "M"}}}}, f)
    bs = Server(broker, "t", role="bootstrap", extra=["--configs", configs])
    server = Server(broker, "t")
    log = os.path.join(WORK, "client.log")
    client = subprocess.Popen([TETHER, "client", "--endpoint", "dev1", "--bootstrap",
                               f"mqtt://127.0.0.1:{broker.port}", "--mqtt-prefix", "t"],
                              stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(client)
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 200,
               "the client to bootstrap and register", timeout=60)
    c = json.loads(server.api("GET", "/api/clients/dev1")[1])
    check(c["transport"] == "mqtt" and c["binding"] == "M", f"registration {c}")
    status, body = server.api("GET", "/api/clients/dev1/3/0")
    check(status == 200 and "dev1" in body, f"Read /3/0: {status} {body}")
    for fmt in ("tlv", "senml-cbor", "senml-json", "lwm2m-cbor"):
        status, body = server.api("GET", f"/api/clients/dev1/3/0/0?format={fmt}")
        check(status == 200, f"Read /3/0/0 as {fmt}: {status} {body}")
    req = urllib.request.Request(f"http://127.0.0.1:{server.http_port}/api/clients/dev1/1/0/1",
                                 data=b"120", method="PUT",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            check(r.status in (200, 204), f"Write /1/0/1: {r.status}")
    except urllib.error.HTTPError as e:
        fail(f"Write /1/0/1: {e.code} {e.read().decode()}")
    status, body = server.api("GET", "/api/clients/dev1/1/0/1")
    check(status == 200 and "120" in body, f"Read back /1/0/1: {status} {body}")
    status, body = server.api("POST", "/api/clients/dev1/composite/read")
    check(status == 400, f"Read-Composite without paths: {status} {body}")
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.http_port}/api/clients/dev1/composite/read",
        data=json.dumps({"paths": ["/3/0/0", "/1/0/1"]}).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=15) as r:
        body = r.read().decode()
        check(r.status == 200 and "dev1" not in body and "120" in body, f"Read-Composite: {body}")
    # Observe with notifications (the temperature drifts every 5 s; pmax 2 reports anyway).
    # Over MQTT an Observe carries no attributes (8.3.4): Write-Attributes first.
    status, body = server.api("PUT", "/api/clients/dev1/3303/0/5700/attributes?pmin=1&pmax=2")
    check(status in (200, 204), f"Write-Attributes: {status} {body}")
    status, body = server.api("POST", "/api/clients/dev1/3303/0/5700/observe")
    check(status == 200, f"Observe: {status} {body}")
    wait_until(lambda: server.log_text().count("event=notification") >= 2, "two notifications")
    # Execute: the Registration Update Trigger (/1/0/8) makes the client send an Update.
    updates = server.log_text().count("event=updated")
    status, body = server.api("POST", "/api/clients/dev1/1/0/8")
    check(status in (200, 204), f"Execute /1/0/8: {status} {body}")
    wait_until(lambda: server.log_text().count("event=updated") > updates,
               "the Update the Execute triggered")
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=20)
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 404, "the de-registration")


def client_reconnect():
    broker = Broker(port=free_port())
    server = Server(broker, "t", extra=["--request-timeout-ms", "20000"])
    log = os.path.join(WORK, "client.log")
    client = subprocess.Popen([TETHER, "client", "--endpoint", "dev1", "--lifetime", "20",
                               "--server", f"mqtt://127.0.0.1:{broker.port}", "--mqtt-prefix",
                               "t"], stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(client)
    def client_log():
        with open(log, errors="replace") as f:
            return f.read()
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 200, "the registration",
               timeout=60)
    broker.stop()
    wait_until(lambda: "event=mqtt-disconnected" in client_log(), "the client to notice")
    time.sleep(1)
    broker.start()
    wait_until(lambda: client_log().count("event=mqtt-connected") >= 2,
               "the client to connect again", timeout=60)
    wait_until(lambda: server.connections() >= 2, "the server to connect again", timeout=60)
    # Its next Update (lifetime 20 s: within about 10 s) comes through the new connection.
    updates = server.log_text().count("event=updated")
    wait_until(lambda: server.log_text().count("event=updated") > updates,
               "an Update after the broker restart", timeout=40)
    status, body = server.api("GET", "/api/clients/dev1/3/0/0")
    check(status == 200 and "Tether" in body, f"Read after the broker restart: {status} {body}")


def check_sealed(messages, kid, at_least):
    """What the broker carried, read by an independent CBOR decoder: COSE_Encrypt0 only (tag
    16, or the bare array: protected header, unprotected header with `kid`, ciphertext)."""
    for raw in messages:
        m = cbor2.loads(raw)
        if isinstance(m, cbor2.CBORTag):
            check(m.tag == 16, f"a tag other than COSE_Encrypt0: {m.tag}")
            m = m.value
        check(isinstance(m, list) and len(m) == 3, f"not a COSE_Encrypt0: {m!r}")
        check(m[1].get(4) == kid, f"the kid is not {kid}: {m[1]}")
        check(isinstance(m[2], bytes) and b"Tether" not in m[2] and b"mqtt://" not in m[2],
              "the broker sees plaintext")
    check(len(messages) >= at_least, f"only {len(messages)} messages on the topic")


def put_cose_credentials(server, kid_hex, key):
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.http_port}/api/security/clients/dev1",
        data=json.dumps({"mode": "cose", "kid": kid_hex, "key": key}).encode(), method="PUT",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=15) as r:
        check(r.status in (200, 201, 204), f"PUT credentials: {r.status}")


def bootstrap_cose():
    """Bootstrap and registration both sealed: the bootstrap server knows the client's
    bootstrap key from the configuration's credentials, and writes the server account's own
    COSE instance (/23/1, linked at /0/1/27) with the key the server was given."""
    broker = Broker()
    k1, k2 = "101112131415161718191a1b1c1d1e1f", "202122232425262728292a2b2c2d2e2f"
    configs = os.path.join(WORK, "configs.json")
    with open(configs, "w") as f:
        json.dump({"dev1": {
            "credentials": {"mode": "cose", "kid": "6231", "key": k1},
            "security": {"1": {"uri": f"mqtt://127.0.0.1:{broker.port}", "bootstrap": False,
                               "mode": "nosec", "shortServerId": 101}},
            "servers": {"0": {"shortServerId": 101, "lifetime": 60, "binding": "M"}},
            "objects": {"/23/1/0": "s1", "/23/1/1": 10, "/23/1/2": k2,
                        "/0/1/27/0": "23:1"}}}, f)
    Server(broker, "t", role="bootstrap", extra=["--configs", configs])
    server = Server(broker, "t")
    put_cose_credentials(server, "7331", k2)
    bs_spy = Device(broker, "t/lwm2m/bs/dev1")
    rd_spy = Device(broker, "t/lwm2m/rd/dev1")
    log = os.path.join(WORK, "client.log")
    client = subprocess.Popen([TETHER, "client", "--endpoint", "dev1", "--bootstrap",
                               f"mqtt://127.0.0.1:{broker.port}", "--mqtt-prefix", "t",
                               "--mqtt-cose-kid", "b1", "--mqtt-cose-key", k1],
                              stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(client)
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 200,
               "the client to bootstrap and register over COSE", timeout=60)
    status, body = server.api("GET", "/api/clients/dev1/3/0/0")
    check(status == 200 and "Tether" in body, f"Read over COSE: {status} {body}")
    time.sleep(0.5)
    with bs_spy.lock:
        check_sealed(list(bs_spy.messages), b"b1", 6)  # request, deletes, writes, finish
    with rd_spy.lock:
        check_sealed(list(rd_spy.messages), b"s1", 4)


def cose():
    broker = Broker()
    server = Server(broker, "t")
    key = "000102030405060708090a0b0c0d0e0f"
    put_cose_credentials(server, "6b31", key)
    status, body = server.api("GET", "/api/security/clients/dev1")
    check(status == 200 and key not in body and '"keySet":true' in body.replace(" ", ""),
          f"GET credentials shows the key or not keySet: {body}")
    spy = Device(broker, "t/lwm2m/rd/dev1")
    log = os.path.join(WORK, "client.log")
    client = subprocess.Popen([TETHER, "client", "--endpoint", "dev1", "--server",
                               f"mqtt://127.0.0.1:{broker.port}", "--mqtt-prefix", "t",
                               "--mqtt-cose-kid", "k1", "--mqtt-cose-key", key],
                              stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(client)
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 200,
               "the client to register over COSE", timeout=60)
    status, body = server.api("GET", "/api/clients/dev1/3/0/0")
    check(status == 200 and "Tether" in body, f"Read over COSE: {status} {body}")
    time.sleep(0.5)
    with spy.lock:
        messages = list(spy.messages)
    check_sealed(messages, b"k1", 4)
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=20)
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 404, "the de-registration")
    # Without the key the same endpoint is not heard at all.
    plain = subprocess.Popen([TETHER, "client", "--endpoint", "dev1", "--server",
                              f"mqtt://127.0.0.1:{broker.port}", "--mqtt-prefix", "t"],
                             stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(plain)
    def refused():
        _, metrics = server.api("GET", "/metrics")
        for line in metrics.splitlines():
            if line.startswith('tether_link_events_total{link="mqtt",event="cose-refused"}'):
                return int(line.split()[-1]) > 0
        return False
    wait_until(refused, "the plaintext Register to be refused and counted")
    check(server.api("GET", "/api/clients/dev1")[0] == 404, "a client without the key registered")


def server_away():
    """`tether server --mqtt-session-expiry`: the broker keeps what devices publish while the
    server is away, and the server answers it when it is back (its registrations in SQLite)."""
    broker = Broker()
    data = ["--data-dir", os.path.join(WORK, "data"), "--mqtt-client-id", "lwm2m-server-1",
            "--mqtt-session-expiry", "300"]
    server = Server(broker, "t", extra=data, store="sqlite", name="first")
    dev = Device(broker, "t/lwm2m/rd/dev1")
    check(register(dev).get(RESULT) == 201, "Register")
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=20)
    # Published while no server is connected: the broker keeps it for the server's session.
    dev.publish(cbor2.dumps({OP: UPDATE, TOKEN: 7, LT: 90}))
    time.sleep(0.5)
    check(dev.maps()[-1].get(RESULT) is None, "answered while the server was away")
    server = Server(broker, "t", extra=data, store="sqlite", name="second")
    a = dev.answer_of(7, timeout=30)
    check(a.get(RESULT) == 204, f"the kept Update: {a}")
    c = json.loads(server.api("GET", "/api/clients/dev1")[1])
    check(c["lifetime"] == 90, f"the kept Update did not reach the registration: {c}")


def queue_mode():
    broker = Broker()
    server = Server(broker, "t", extra=["--awake-window-ms", "2000"])
    log = os.path.join(WORK, "client.log")
    client = subprocess.Popen([TETHER, "client", "--endpoint", "dev1", "--lifetime", "20",
                               "--queue", "--awake-window-ms", "2000", "--mqtt-session-expiry",
                               "300", "--server", f"mqtt://127.0.0.1:{broker.port}",
                               "--mqtt-prefix", "t"],
                              stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(client)

    def client_log():
        with open(log, errors="replace") as f:
            return f.read()
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 200, "the registration",
               timeout=60)
    c = json.loads(server.api("GET", "/api/clients/dev1")[1])
    check(c["queueMode"] is True, f"not registered in queue mode: {c}")
    wait_until(lambda: "event=mqtt-asleep" in client_log(), "the client to leave the broker")
    updates = server.log_text().count("event=updated")
    # While it is away: a Read published on its topic, as a server would (QoS 1), and a
    # REST Read that waits in the server's queue.
    dev = Device(broker, "t/lwm2m/rd/dev1")
    dev.publish(cbor2.dumps({OP: READ, TOKEN: 77, URI: "/3/0/0"}))
    rest = {}

    def read():
        rest["r"] = server.api("GET", "/api/clients/dev1/3/0/1?timeout=40", timeout=60)
    t = threading.Thread(target=read)
    t.start()
    time.sleep(1)
    check(server.log_text().count("event=updated") == updates, "an Update while asleep")
    check(dev.maps() and all(RESULT not in m for m in dev.maps()),
          f"answered while asleep: {dev.maps()}")
    # The next Update (lifetime 20 s) brings it back: the broker hands over the Read it
    # kept, and the server sends the queued one.
    a = dev.answer_of(77, timeout=40)
    check(a.get(RESULT) == 205 and b"Tether" in a.get(PAYLOAD, b""), f"the kept Read: {a}")
    check(server.log_text().count("event=updated") > updates, "no Update woke the client")
    t.join(60)
    check(rest.get("r", (0, ""))[0] == 200, f"the queued REST Read: {rest}")
    check(client_log().count("event=mqtt-connected") >= 2, "the client did not come back")


def will():
    broker = Broker()
    server = Server(broker, "t")
    config = os.path.join(WORK, "client.json")
    with open(config, "w") as f:
        json.dump({"objects": {"/24/0/6": "dev1", "/24/0/1": "t/status/dev1",
                               "/24/0/2": "gone", "/24/0/4": 1, "/24/0/0": False,
                               "/0/1/26": "24:0"}}, f)
    status = Device(broker, "t/status/dev1")
    log = os.path.join(WORK, "client.log")
    args = [TETHER, "client", "--endpoint", "dev1", "--config", config, "--server",
            f"mqtt://127.0.0.1:{broker.port}", "--mqtt-prefix", "t"]
    client = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(client)
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 200, "the registration",
               timeout=60)
    # Stopped, it de-registers and leaves with a DISCONNECT: no Will.
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=20)
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 404, "the de-registration")
    time.sleep(1)
    with status.lock:
        check(status.messages == [], f"a Will after a DISCONNECT: {status.messages}")
    client = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(client)
    wait_until(lambda: server.api("GET", "/api/clients/dev1")[0] == 200, "the registration",
               timeout=60)
    client.kill()
    client.wait(timeout=10)

    def will_seen():
        with status.lock:
            return status.messages == [b"gone"]
    wait_until(will_seen, "the broker to publish the Will")


def make_pki():
    """A CA and a broker certificate for 127.0.0.1, made by openssl; and a second CA."""
    os.chmod(WORK, 0o755)  # mosquitto started as root reads them as its own user
    def run(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=WORK)
    for ca in ("ca", "other-ca"):
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2", "-subj", f"/CN={ca}")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "broker.key", "-out", "broker.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(WORK, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "broker.pem", "-days", "2", "-extfile", "san.ext")
    for name in ("ca.pem", "broker.pem", "broker.key", "other-ca.pem"):
        os.chmod(os.path.join(WORK, name), 0o644)
    return {k: os.path.join(WORK, v) for k, v in
            (("ca", "ca.pem"), ("cert", "broker.pem"), ("key", "broker.key"),
             ("other", "other-ca.pem"))}


def tls():
    pki = make_pki()
    broker = Broker(extra_conf=f"allow_anonymous true\ncafile {pki['ca']}\n"
                               f"certfile {pki['cert']}\nkeyfile {pki['key']}\n")
    server_port = broker.port

    class TlsBroker:
        port = server_port
    args = [TETHER, "server", "--bind", "127.0.0.1", "--coap-port", str(free_port()),
            "--coaps-port", "0", "--store", "memory", "--mqtt",
            f"mqtts://127.0.0.1:{broker.port}", "--mqtt-ca", pki["ca"]]
    http_port = free_port()
    log = os.path.join(WORK, "server-tls.log")
    proc = subprocess.Popen(args + ["--http-port", str(http_port)], stdout=subprocess.DEVNULL,
                            stderr=open(log, "ab"))
    PROCS.append(proc)
    def server_log():
        with open(log, errors="replace") as f:
            return f.read()
    wait_until(lambda: "event=mqtt-connected" in server_log(), "the server's TLS connection")
    def api(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}{path}", timeout=15) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
    def client(ep, ca):
        clog = os.path.join(WORK, f"client-{ep}.log")
        p = subprocess.Popen([TETHER, "client", "--endpoint", ep, "--server",
                              f"mqtts://127.0.0.1:{broker.port}", "--mqtt-ca", ca],
                             stdout=subprocess.DEVNULL, stderr=open(clog, "ab"))
        PROCS.append(p)
        return p, clog
    _, _ = client("dev1", pki["ca"])
    wait_until(lambda: api("/api/clients/dev1")[0] == 200, "the client to register over TLS",
               timeout=60)
    c = json.loads(api("/api/clients/dev1")[1])
    check(c["transport"] == "mqtts", f"registration {c}")
    status, body = api("/api/clients/dev1/3/0/0")
    check(status == 200 and "Tether" in body, f"Read over mqtts: {status} {body}")
    # Another CA: the broker's certificate does not verify, nothing registers.
    _, clog = client("dev2", pki["other"])
    def refused():
        with open(clog, errors="replace") as f:
            return "mqtt-disconnected" in f.read()
    wait_until(refused, "the client with another CA to fail its TLS connection")
    check(api("/api/clients/dev2")[0] == 404, "a client that cannot verify the broker registered")


def tenants():
    users = {"tenant-a": "pa", "tenant-b": "pb", "server-b": "ps"}
    # Mosquitto started as root reads its files as the mosquitto user.
    os.chmod(WORK, 0o755)
    pw = os.path.join(WORK, "passwd")
    open(pw, "w").close()
    for u, p in users.items():
        subprocess.run(["mosquitto_passwd", "-b", pw, u, p], check=True)
    os.chmod(pw, 0o644)
    acl = os.path.join(WORK, "acl")
    with open(acl, "w") as f:
        # Each tenant's devices reach only their own tenant's topics; the server of tenant b
        # only tenant b's.
        f.write("user tenant-a\ntopic readwrite a/lwm2m/#\n\n"
                "user tenant-b\ntopic readwrite b/lwm2m/#\n\n"
                "user server-b\ntopic readwrite b/lwm2m/#\n")
    os.chmod(acl, 0o644)
    broker = Broker(extra_conf=f"allow_anonymous false\npassword_file {pw}\nacl_file {acl}\n")
    pwfile = os.path.join(WORK, "server-b.pw")
    with open(pwfile, "w") as f:
        f.write("ps\n")
    server = Server(broker, "b", extra=["--mqtt-username", "server-b",
                                         "--mqtt-password-file", pwfile])
    dev_b = Device(broker, "b/lwm2m/rd/dev1", user=("tenant-b", "pb"))
    check(register(dev_b).get(RESULT) == 201, "tenant b's device registers")
    # Tenant a's user listens on tenant b's topic and publishes there.
    spy = Device(broker, "b/lwm2m/rd/dev1", user=("tenant-a", "pa"))
    intruder = Device(broker, "b/lwm2m/rd/dev2", user=("tenant-a", "pa"))
    intruder.publish(cbor2.dumps({OP: REGISTER, TOKEN: 9, EP: "dev2", LT: 60, VER: "1.2",
                                  CT: 40, PAYLOAD: b"</3/0>"}))
    a = dev_b.request({OP: UPDATE, TOKEN: 8})
    check(a.get(RESULT) == 204, f"tenant b's Update: {a}")
    # Our client logs in to the broker as its MQTT Server object (24, linked at /0/x/26) says:
    # without that login the broker would not take it (no anonymous access here).
    config = os.path.join(WORK, "client-b.json")
    with open(config, "w") as f:
        json.dump({"objects": {"/24/0/7": "tenant-b", "/24/0/8": {"text": "pb"},
                               "/0/1/26": "24:0"}}, f)
    client_log = os.path.join(WORK, "client-b.log")
    client = subprocess.Popen([TETHER, "client", "--endpoint", "dev3", "--config", config,
                               "--server", f"mqtt://127.0.0.1:{broker.port}", "--mqtt-prefix",
                               "b"], stdout=subprocess.DEVNULL, stderr=open(client_log, "ab"))
    PROCS.append(client)
    wait_until(lambda: server.api("GET", "/api/clients/dev3")[0] == 200,
               "our client to log in with object 24 and register", timeout=60)
    time.sleep(1)
    check(spy.maps() == [], f"tenant a read tenant b's topic: {spy.maps()}")
    check(server.api("GET", "/api/clients/dev2")[0] == 404, "tenant a registered with b's server")
    check(intruder.maps() == [], "tenant a heard an answer from b's server")


S.run({"server-wire": server_wire, "broker-restart": broker_restart,
      "bootstrap-wire": bootstrap_wire, "end-to-end": end_to_end,
      "client-reconnect": client_reconnect, "cose": cose, "tls": tls,
      "tenants": tenants, "queue-mode": queue_mode, "server-away": server_away, "will": will,
      "bootstrap-cose": bootstrap_cose}, SCENARIO)

#!/usr/bin/env python3
"""`tether server --store redis://...` against a real redis-server that this script starts
on 127.0.0.1 (never the machine's Redis service), with raw CoAP datagrams as the devices.
Usage: redis_interop.py TETHER_BINARY SCENARIO

Scenarios:
  takeover        node A with --sync-writes acknowledges 200 Registers and is killed with
                  SIGKILL; node B, started on the same Redis, notices A's heartbeat end and
                  takes all 200, then an Update at the location A gave, and A's data
                  directory is not used
  register-elsewhere  a device registered through node A registers anew through node B:
                  once B's write is in Redis, A is told and lets its copy go
  three-nodes     nodes A, B and C running: 50 devices register and update through A, B and
                  C hold none of them; A is killed with SIGKILL and the devices' next
                  Updates, half through B and half through C, are answered 2.04: each node
                  takes its half over (owner in Redis, tether_takeovers_total); a made-up
                  location is still 4.04
  refuses-writes  Redis at maxmemory: a Register is answered 5.00 naming Redis's OOM, no
                  key of that endpoint is in Redis, a credentials PUT is a 500, an error
                  line says the store is failing; once Redis takes writes again the line
                  says it recovered and the next Register is 2.01
  redis-restart   Redis (append-only file on) restarted under a running server: the server
                  keeps answering, writes again, and both registrations are in Redis
  api-across-nodes  a `tether client` registers through node A; node B's /api/events shows
                  it registering, and B's API reads and writes the device (the call goes to
                  A over Redis pub/sub and A's answer comes back); node bus messages that are
                  not whole (raw PUBLISHes, a forged event carrying a second one) are dropped
                  and counted; credentials put through B are known to A at once, and
                  removed through A are gone from B; with A killed, B answers 503 for A's
                  device
  dtls-resume     nodes A and B share the session-ticket key through Redis: gnutls-cli's
                  full handshake goes to A and its resumption, from another port, to B
                  (a UDP balancer in this script), and B resumes it; node C on another
                  Redis makes a full handshake instead
  bootstrap-nodes two `tether bootstrap --store redis://` nodes: a configuration put
                  through X is in Redis and served by Y (API and Bootstrap-Request), one
                  removed through Y is gone from X; a broken one in Redis is left out and
                  logged (at start, and when announced), the others served
  sentinel-failover  a primary, its replica and a sentinel; the server on
                  redis+sentinel://: a Register acknowledged, the primary killed, the
                  sentinel promotes the replica, the server finds it and a new Register
                  succeeds; both registrations are on the new primary
  workers         nodes A and B with --workers 2: 40 devices, each from a socket of its
                  own, register and update through A; both of A's workers own some in Redis
                  ("a" and "a/w1"); A's API reads and lists every one, and its /api/events
                  stream saw every device's Updates, from both workers; B's API reads a
                  device of A's second worker; A restarted with two workers: each worker has
                  its own again and every Update is 2.04 with no takeover; A killed with
                  SIGKILL: the Updates through B are 2.04 and B's workers own every device
  cluster         a Redis Cluster of three primaries; nodes A, B and C on
                  redis+cluster://: 50 devices register through A, their records spread
                  over the three primaries; B's API reads one of A's devices;
                  credentials put through C are in the cluster; A is killed with SIGKILL
                  and the devices' Updates through B and C are answered 2.04, every
                  registration taken over; a bootstrap node's configuration is served by
                  a second one
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_util import Scenario, api_answers, free_port, start_service  # noqa: E402
from raw_wire import (EventStream, UdpDevice, http, register_options, sse_events,  # noqa: E402
                      udp_code, udp_message, udp_options)

TETHER = sys.argv[1]
SCENARIO = sys.argv[2]
T = Scenario("tether-redis-")


class Redis:
    def __init__(self, persistent=False, extra=()):
        self.port = free_port()
        self.dir = os.path.join(T.work, "redis-%d" % self.port)
        os.makedirs(self.dir)
        self.persistent = persistent
        self.extra = list(extra)
        self.start()

    def start(self):
        args = ["/usr/bin/redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--appendonly",
                "yes" if self.persistent else "no", "--appendfsync", "always"] + self.extra
        self.proc = subprocess.Popen(args, stdout=open(os.path.join(T.work, "redis.log"), "ab"),
                                     stderr=subprocess.STDOUT)
        T.procs.append(self.proc)
        T.wait_until(lambda: self.cli("PING") == "PONG", "redis-server to answer PING")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)

    def cli(self, *args):
        # Not on a terminal, redis-cli prints plain values, one array element per line.
        # Arguments may be bytes (not UTF-8 on purpose).
        r = subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                           capture_output=True, timeout=10)
        return r.stdout.decode(errors="replace").strip()

    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def indexed(self, index, prefix="tether:"):
        """The members of an index split by slot (docs/redis.md): every part's together."""
        out = set()
        for key in self.cli("--scan", "--pattern", prefix + "{*}:" + index).split():
            out |= set(self.cli("SMEMBERS", key).split())
        return out


def crc16(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def slot_key(tag, prefix, suffix):
    """prefix{N}suffix in the slot of `tag`, N the smallest number there (as the server)."""
    slot, n = crc16(tag.encode()) % 16384, 0
    while crc16(str(n).encode()) % 16384 != slot:
        n += 1
    return "%s{%d}%s" % (prefix, n, suffix)


class Cluster:
    """A Redis Cluster of three primaries on 127.0.0.1, each serving a third of the slots."""

    def __init__(self):
        # The cluster bus port is its own (by default the port + 10000, maybe not free).
        self.buses = [free_port() for _ in range(3)]
        self.nodes = [Redis(extra=["--cluster-enabled", "yes", "--cluster-config-file",
                                   "nodes.conf", "--cluster-node-timeout", "2000",
                                   "--cluster-port", str(bus)])
                      for bus in self.buses]
        for i, node in enumerate(self.nodes):
            T.check(node.cli("CLUSTER", "ADDSLOTSRANGE", str(i * 5462),
                             str(min(16383, i * 5462 + 5461))) == "OK", "ADDSLOTSRANGE")
        for node, bus in zip(self.nodes[1:], self.buses[1:]):
            T.check(self.nodes[0].cli("CLUSTER", "MEET", "127.0.0.1", str(node.port),
                                      str(bus)) == "OK", "CLUSTER MEET")
        T.wait_until(lambda: all("cluster_state:ok" in n.cli("CLUSTER", "INFO")
                                 for n in self.nodes), "the cluster to be ready", 30)

    def url(self):
        return "redis+cluster://" + ",".join("127.0.0.1:%d" % n.port for n in self.nodes[:2])

    def cli(self, *args):
        """redis-cli -c: follows the cluster's redirections."""
        r = subprocess.run(["redis-cli", "-c", "-p", str(self.nodes[0].port)] + list(args),
                           capture_output=True, timeout=10)
        return r.stdout.decode(errors="replace").strip()

    def holders(self, key):
        """The primaries holding `key` (one, in a cluster)."""
        return [n.port for n in self.nodes if n.cli("EXISTS", key) == "1"]


class Node:
    def __init__(self, name, redis, extra=(), dtls=False, role="server", store=None,
                 same_ports_as=None):
        self.log = os.path.join(T.work, name + ".log")
        self.data = os.path.join(T.work, "data-" + name)
        # A port picked free can be taken by another process's outgoing socket before the
        # node binds it: then the node starts again on other ports (a few times). A node
        # started again on a stopped one's ports (`same_ports_as`) gets one try.
        for attempt in range(4):
            if same_ports_as is not None:
                old = same_ports_as
                self.coap_port, self.http_port, self.coaps_port = (old.coap_port, old.http_port,
                                                                   old.coaps_port)
            else:
                self.coap_port, self.http_port = free_port(), free_port()
                self.coaps_port = free_port() if dtls else 0
            args = [TETHER, role, "--bind", "127.0.0.1", "--coap-port", str(self.coap_port),
                    "--coaps-port", str(self.coaps_port), "--udp-only", "--http-port",
                    str(self.http_port),
                    "--data-dir", self.data, "--store", store or redis.url()] + list(extra)
            self.proc = start_service(T, args, self.log, self.http_port, name,
                                      same_ports_as is None and attempt < 3)
            if self.proc is not None:
                return

    def answers(self):
        return api_answers(self.http_port)

    def healthy(self):
        T.check(self.proc.poll() is None, "the server exited")
        return self.answers()

    def api(self, method, path, body=None):
        raw = json.dumps(body).encode() if body is not None else b""
        status, _, data = http(self.http_port, method, path, raw)
        return status, (json.loads(data) if data and data[:1] in b"[{" else data)

    def endpoints(self):
        status, body = self.api("GET", "/api/clients")
        T.check(status == 200, f"GET /api/clients: {status}")
        return {c["endpoint"] for c in body}

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


def exchange(port, datagram, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(datagram, ("127.0.0.1", port))
        return s.recvfrom(4096)[0]
    finally:
        s.close()


def register(node, ep, mid=0x2000):
    reply = exchange(node.coap_port, udp_message(0x02, mid, b"\x52", register_options(
        ep.encode(), [b"lt=3600"]), b"</1/0>,</3/0>"))
    return udp_code(reply), location_of(reply), reply


def exchange_many(port, datagrams, code):
    """Sends every datagram (retrying the unanswered for up to 60 s) and returns, per key,
    the answer whose code is `code`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    pending, answers = dict(datagrams), {}
    deadline = time.time() + 60
    while pending and time.time() < deadline:
        for datagram in pending.values():
            sock.sendto(datagram, ("127.0.0.1", port))
        sock.settimeout(0.3)
        try:
            while pending:
                data = sock.recvfrom(4096)[0]
                token = data[4:4 + (data[0] & 0x0F)]
                if token in pending and udp_code(data) == code:
                    answers[token] = data
                    del pending[token]
        except socket.timeout:
            pass
    sock.close()
    return answers


def location_of(reply):
    return "/".join(v.decode() for n, v in udp_options(reply) if n == 8)


def register_many(node, count):
    """Registers dev-0 ... dev-(count-1); returns {index: location} of those acknowledged."""
    datagrams = {struct.pack("!H", i): udp_message(0x02, 0x1000 + i, struct.pack("!H", i),
                                                   register_options(b"dev-%d" % i, [b"lt=3600"]),
                                                   b"</1/0>,</3/0>") for i in range(count)}
    answers = exchange_many(node.coap_port, datagrams, "2.01")
    return {struct.unpack("!H", t)[0]: location_of(r) for t, r in answers.items()}


def update_many(node, locations):
    """Sends each device's Update (lt=600) to `node`; returns the indexes answered 2.04."""
    datagrams = {}
    for i, location in locations.items():
        path = [(11, p.encode()) for p in location.split("/")]
        datagrams[struct.pack("!H", i)] = udp_message(0x02, 0x4000 + i, struct.pack("!H", i),
                                                      path + [(15, b"lt=600")])
    return {struct.unpack("!H", t)[0] for t in exchange_many(node.coap_port, datagrams, "2.04")}


def metric(node, name):
    status, _, body = http(node.http_port, "GET", "/metrics")
    T.check(status == 200, f"/metrics: {status}")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def node_of(owner):
    """The node whose worker owns a registration: worker k > 0 of node N is N/w<k>."""
    return owner.split("/")[0]


def takeover():
    redis = Redis()
    a = Node("node-a", redis, ["--sync-writes"])
    locations = register_many(a, 200)
    # Killed the moment the last 2.01 arrived: every acknowledged one is in Redis.
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    T.check(len(locations) == 200, f"only {len(locations)} of 200 acknowledged")
    b = Node("node-b", redis)
    # B notices A's heartbeat end (5 s) and takes every registration A left.
    wanted = {"dev-%d" % i for i in locations}
    T.wait_until(lambda: wanted <= b.endpoints(), "node B to take node A's registrations", 30)
    T.check(metric(b, "tether_takeovers_total") == 200, "tether_takeovers_total is not 200")
    # The device carries on through B with the location A gave it (Core TS 6.2.2).
    T.check(update_many(b, {7: locations[7]}) == {7}, "an Update through node B failed")
    status, dev = b.api("GET", "/api/clients/dev-7")
    T.check(status == 200 and dev.get("lifetime") == 600, f"dev-7 after the Update: {dev}")
    # Written behind (no --sync-writes on B): within a flush interval.
    T.wait_until(lambda: redis.cli("HGET", "tether:{dev-7}:reg", "lifetime") == "600",
                 "the Update to reach Redis")
    T.check(not os.path.exists(os.path.join(a.data, "tether.db")), "node A wrote a SQLite file")


def kill_and_update_through(a, b, c, locations, redis):
    """Kills node A; the load balancer then sends half of A's devices to B and half to C,
    with the locations A gave them: every Update is answered 2.04 and each registration
    is owned by the node its device reached. Returns the two halves."""
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    to_b = {i: loc for i, loc in locations.items() if i % 2 == 0}
    to_c = {i: loc for i, loc in locations.items() if i % 2 == 1}
    T.check(update_many(b, to_b) == set(to_b), "Updates through B failed")
    T.check(update_many(c, to_c) == set(to_c), "Updates through C failed")
    owners = {i: node_of(redis.cli("HGET", "tether:{dev-%d}:reg" % i, "owner"))
              for i in locations}
    T.check(all(owners[i] == ("b" if i % 2 == 0 else "c") for i in owners),
            f"owners in Redis after the takeover: {owners}")
    return to_b, to_c


def register_elsewhere():
    redis = Redis()
    a = Node("node-a", redis)
    b = Node("node-b", redis)
    code, first, _ = register(a, "moved")
    T.check(code == "2.01", f"Register through A: {code}")
    T.check(metric(a, "tether_registrations") == 1, "A holds the registration")
    # The device registers anew through B (the load balancer moved it, or it rebooted).
    code, second, _ = register(b, "moved", mid=0x2001)
    T.check(code == "2.01" and second != first, f"Register through B: {code} {second}")
    # Once B's write is in Redis (written behind, within a second), A is told and lets its
    # copy go: nothing stale is left on A to expire, answer or act under.
    T.wait_until(lambda: metric(a, "tether_registrations") == 0, "node A to let its copy go", 20)
    T.check(metric(a, "tether_node_registrations_taken_total") == 1, "A counts the notice")
    T.check(metric(b, "tether_registrations") == 1, "B holds the registration")
    T.check(redis.cli("HGET", "tether:{moved}:reg", "id") == second.split("/")[-1],
            "Redis has B's registration")


def three_nodes():
    redis = Redis()
    a = Node("node-a", redis, ["--sync-writes", "--node-id", "a"])
    b = Node("node-b", redis, ["--sync-writes", "--node-id", "b"])
    c = Node("node-c", redis, ["--sync-writes", "--node-id", "c"])
    locations = register_many(a, 50)
    T.check(len(locations) == 50, f"only {len(locations)} of 50 acknowledged")
    T.check(node_of(redis.cli("HGET", "tether:{dev-3}:reg", "owner")) == "a", "dev-3 is not A's")
    T.check(b.endpoints() == set() and c.endpoints() == set(),
            "node B or C holds node A's devices while A lives")
    T.check(update_many(a, locations) == set(locations), "Updates through A failed")
    to_b, to_c = kill_and_update_through(a, b, c, locations, redis)
    T.check(b.endpoints() >= {"dev-%d" % i for i in to_b}, "B does not list its half")
    T.check(c.endpoints() >= {"dev-%d" % i for i in to_c}, "C does not list its half")
    T.check(metric(b, "tether_takeovers_total") + metric(c, "tether_takeovers_total") == 50,
            "B and C did not take 50 registrations between them")
    # A location nobody made is still 4.04, from the live node as from any.
    stray = exchange(b.coap_port, udp_message(0x02, 0x5000, b"\x01", [(11, b"rd"),
                                                                       (11, b"made-up")]))
    T.check(udp_code(stray) == "4.04", f"a made-up location got {udp_code(stray)}")


def refuses_writes():
    redis = Redis()
    node = Node("server", redis, ["--sync-writes"])
    T.check(redis.cli("CONFIG", "SET", "maxmemory", "1") == "OK", "CONFIG SET maxmemory")
    code, _, reply = register(node, "full")
    T.check(code == "5.00", f"a Register while Redis is full got {code}")
    T.check(b"OOM" in reply, f"the 5.00 does not say why: {reply!r}")
    T.check(redis.cli("KEYS", "tether:{*") == "", "keys were written: " + redis.cli("KEYS", "*"))
    status, body = node.api("PUT", "/api/security/clients/full",
                            {"mode": "psk", "identity": "full", "key": "00112233"})
    T.check(status == 500, f"a credentials PUT while Redis is full got {status}: {body!r}")
    T.wait_until(lambda: "level=error event=store_failing" in node.log_text(),
                 "an error line saying the store is failing")
    T.check(redis.cli("CONFIG", "SET", "maxmemory", "0") == "OK", "CONFIG SET maxmemory 0")
    T.wait_until(lambda: "event=store_recovered" in node.log_text(), "a store_recovered line")
    code, location, _ = register(node, "later", mid=0x2001)
    T.check(code == "2.01", f"a Register after Redis took writes again got {code}")
    T.check(redis.cli("HGET", "tether:{later}:reg", "id") == location.split("/")[-1],
            "the registration is not in Redis under its ID")
    T.check(redis.cli("EXISTS", "tether:{full}:cred") == "0",
            "the refused credentials were written later")


def redis_restart():
    redis = Redis(persistent=True)
    node = Node("server", redis, ["--sync-writes"])
    code, _, _ = register(node, "before")
    T.check(code == "2.01", f"Register before the restart: {code}")
    redis.stop()
    redis.start()
    # The first write may find the old connection gone; the store connects again.
    code, _, _ = register(node, "after", mid=0x2001)
    T.check(code == "2.01", f"Register after Redis restarted: {code}")
    T.check(node.proc.poll() is None, "the server died")
    members = redis.indexed("registrations")
    T.check(members == {"before", "after"}, f"registrations in Redis: {members}")


def api_across_nodes():
    redis = Redis()
    # Two workers each: a worker of A serves dev-x, and A's API is on the first.
    a = Node("node-a", redis, ["--sync-writes", "--node-id", "a", "--workers", "2"])
    b = Node("node-b", redis, ["--sync-writes", "--node-id", "b", "--workers", "2"])
    events = EventStream(b.http_port, "/api/events?events=registered,deregistered,request")
    # B tells the others what its new stream wants; A must have heard before the Register.
    received = 'tether_node_bus_messages_total{direction="received"}'
    T.wait_until(lambda: (metric(a, received) or 0) >= 2,
                 "A's workers to hear what B's stream wants")
    client = subprocess.Popen([TETHER, "client", "-e", "dev-x", "--lifetime", "60", "--server",
                               "coap://127.0.0.1:%d" % a.coap_port], stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(T.work, "client.log"), "ab"))
    T.procs.append(client)
    # The Register went to A; B's stream shows it, naming the node that saw it.
    T.wait_until(lambda: any(k == "registered" and d["endpoint"] == "dev-x"
                             for k, d in sse_events(events)), "B's stream to show dev-x", 30)
    seen = [d for k, d in sse_events(events) if k == "registered"]
    T.check(node_of(seen[0].get("node", "")) == "a", f"the event does not name node a: {seen[0]}")
    T.check("dev-x" not in b.endpoints(), "B holds dev-x itself")
    # B's API answers for the device A serves.
    status, dev = b.api("GET", "/api/clients/dev-x")
    T.check(status == 200 and dev.get("endpoint") == "dev-x", f"GET dev-x through B: {status} {dev}")
    status, read = b.api("GET", "/api/clients/dev-x/3/0/0?timeout=10")
    T.check(status == 200 and read.get("code") == "2.05", f"a read through B: {status} {read}")
    status, _ = b.api("PUT", "/api/clients/dev-x/3/0/14?timeout=10", "+02:00")
    T.check(status == 200, f"a write through B: {status}")
    status, read = a.api("GET", "/api/clients/dev-x/3/0/14")
    T.check(status == 200 and "+02:00" in json.dumps(read), f"the write did not land: {read}")
    # A ran the calls (its request log) and B's stream saw them as A's request events.
    status, log = a.api("GET", "/api/clients/dev-x/requests")
    T.check(status == 200 and len(log) >= 3, f"A's request log: {log}")
    T.wait_until(lambda: sum(k == "request" and node_of(d.get("node", "")) == "a"
                             for k, d in sse_events(events)) >= 3, "A's request events on B")
    T.check(metric(b, "tether_node_calls_forwarded_total") == 3, "B did not forward 3 calls")
    # A's worker serving dev-x also served the calls A's first worker handed it, if not itself.
    T.check(metric(a, "tether_node_calls_served_total") -
            metric(a, "tether_node_calls_forwarded_total") == 3, "A did not serve B's 3 calls")
    # A name nobody registered is 404 from B, as from A.
    status, body = b.api("GET", "/api/clients/nobody/3/0/0")
    T.check(status == 404, f"an unknown client through B: {status} {body}")
    # Hostile bus messages: not JSON, a request with a bad role, and an event whose text
    # slips in a second event. Dropped, counted, and nothing reaches the stream.
    channel = "tether:db0:node:b"
    forged = json.dumps({"type": "event", "from": "a", "kind": "deregistered",
                         "endpoint": "dev-x",
                         "data": "{}\n\nevent: registered\ndata: {\"endpoint\":\"evil\"}"})
    bad_request = json.dumps({"type": "request", "id": 1, "from": "a", "method": "DELETE",
                              "path": "/api/clients/dev-x", "query": "", "body": "",
                              "user": None, "role": "root"})
    for message in (b"not json", b"\xff\xfe{}", forged.encode(), bad_request.encode()):
        redis.cli("PUBLISH", channel, message)
    T.wait_until(lambda: metric(b, "tether_node_messages_malformed_total") == 4,
                 "B to count four malformed messages")
    T.check(b.healthy(), "B stopped answering")
    T.check(not any(d.get("endpoint") == "evil" for _, d in sse_events(events)),
            "a forged event reached the stream")
    T.check("dev-x" in a.endpoints(), "a forged message removed dev-x")
    # Credentials put through B are A's at once (A reads them again from Redis), and A's
    # removal is B's.
    status, _ = b.api("PUT", "/api/security/clients/dev-y",
                      {"mode": "psk", "identity": "dev-y-id", "key": "00112233"})
    T.check(status == 200, f"PUT credentials through B: {status}")
    T.wait_until(lambda: a.api("GET", "/api/security/clients/dev-y")[0] == 200,
                 "A to know dev-y's credentials")
    T.check(a.api("GET", "/api/security/clients/dev-y")[1].get("identity") == "dev-y-id",
            "A has other credentials for dev-y")
    T.check(a.api("DELETE", "/api/security/clients/dev-y")[0] == 204, "DELETE through A")
    T.wait_until(lambda: b.api("GET", "/api/security/clients/dev-y")[0] == 404,
                 "B to forget dev-y's credentials")
    # B's change, read again by both of A's workers; A's removal, by A's second worker.
    changes = metric(a, "tether_node_credential_changes_received_total")
    T.check(changes == 3, f"A's workers' count: {changes}")
    # A dies: until B takes its devices over, B says A does not answer.
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    for channel in ("tether:db0:node:a", "tether:db0:node:a/w1"):
        T.wait_until(lambda: redis.cli("PUBSUB", "NUMSUB", channel).split() == [channel, "0"],
                     "Redis to see node A's subscriptions end")
    status, _, _ = http(b.http_port, "GET", "/api/clients/dev-x/3/0/0")
    T.check(status == 503, f"a read for a dead node's device got {status}")


class SwitchingForwarder:
    """A UDP load balancer on 127.0.0.1 that sends each new client (source address) to the
    next port of `ports` in turn and keeps it there, relaying both ways."""

    def __init__(self, ports):
        self.ports = list(ports)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.upstream = {}  # client address -> socket towards its node
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            ready, _, _ = select.select([self.sock] + list(self.upstream.values()), [], [], 0.2)
            for s in ready:
                if s is self.sock:
                    data, client = self.sock.recvfrom(65536)
                    if client not in self.upstream:
                        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        up.connect(("127.0.0.1", self.ports[len(self.upstream) % len(self.ports)]))
                        self.upstream[client] = up
                    self.upstream[client].send(data)
                else:
                    client = next(c for c, u in self.upstream.items() if u is s)
                    try:
                        self.sock.sendto(s.recv(65536), client)
                    except OSError:
                        pass


def dtls_resume():
    redis = Redis()
    a = Node("node-a", redis, ["--node-id", "a"], dtls=True)
    b = Node("node-b", redis, ["--node-id", "b"], dtls=True)
    key = "00112233445566778899aabbccddeeff"
    status, _ = a.api("PUT", "/api/security/clients/dev-psk",
                      {"mode": "psk", "identity": "dev-psk", "key": key})
    T.check(status == 200, f"PUT credentials: {status}")
    T.wait_until(lambda: b.api("GET", "/api/security/clients/dev-psk")[0] == 200,
                 "B to know the credentials")
    T.check(redis.cli("STRLEN", "tether:secret:tls-ticket-key") == "64", "no shared ticket key")
    # gnutls-cli (an independent DTLS client) makes a full handshake, then resumes from
    # another source port: the balancer sends the first to A and the second to B.
    lb = SwitchingForwarder([a.coaps_port, b.coaps_port])
    args = ["gnutls-cli", "--udp", "-p", str(lb.port), "--pskusername", "dev-psk", "--pskkey", key,
            "--priority", "NORMAL:+PSK:+AES-128-CCM-8:+VERS-DTLS1.2", "--resume", "127.0.0.1"]
    out = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=60).stdout
    lb.stop = True
    T.check(len(lb.upstream) == 2, f"gnutls-cli connected {len(lb.upstream)} times: {out}")
    T.check("This is a resumed session" in out, f"node B did not resume A's session: {out}")
    # Nodes that do not share the key: a second Redis, a full handshake at B.
    other = Redis()
    c = Node("node-c", other, ["--node-id", "c"], dtls=True)
    status, _ = c.api("PUT", "/api/security/clients/dev-psk",
                      {"mode": "psk", "identity": "dev-psk", "key": key})
    T.check(status == 200, f"PUT credentials on C: {status}")
    lb = SwitchingForwarder([a.coaps_port, c.coaps_port])
    args[3] = str(lb.port)
    out = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=60).stdout
    lb.stop = True
    # The second handshake (to C) completes, in full.
    T.check("This is a resumed session" not in out and "Resume Handshake was completed" in out,
            f"node C resumed a session it has no key for, or refused the client: {out}")


def bootstrap_nodes():
    redis = Redis()
    x = Node("bs-x", redis, ["--node-id", "x"], role="bootstrap")
    y = Node("bs-y", redis, ["--node-id", "y"], role="bootstrap")
    config = {"security": {"1": {"uri": "coap://127.0.0.1:5683", "bootstrap": False,
                                 "mode": "nosec", "shortServerId": 101}},
              "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U"}}}
    status, body = x.api("PUT", "/api/bootstrap/dev-b", config)
    T.check(status == 200, f"PUT a configuration through X: {status} {body}")
    # Kept in Redis as the JSON of docs/bootstrap.md.
    stored = json.loads(redis.cli("GET", "tether:bs:{dev-b}"))
    T.check(stored["servers"]["0"]["shortServerId"] == 101, f"in Redis: {stored}")
    T.check(redis.indexed("endpoints", "tether:bs:") == {"dev-b"}, "the index")
    # Y reads it again at X's word: its API shows it and its Bootstrap interface serves it.
    T.wait_until(lambda: y.api("GET", "/api/bootstrap/dev-b")[0] == 200, "Y to know dev-b")
    reply = exchange(y.coap_port, udp_message(0x02, 0x6000, b"\x07", [(11, b"bs"),
                                                                     (15, b"ep=dev-b")]))
    T.check(udp_code(reply) == "2.04", f"a Bootstrap-Request to Y got {udp_code(reply)}")
    T.check(metric(y, "tether_bootstrap_config_reloads_total") == 1, "Y's reload count")
    # Removed through Y: gone from X and from Redis.
    T.check(y.api("DELETE", "/api/bootstrap/dev-b")[0] == 204, "DELETE through Y")
    T.wait_until(lambda: x.api("GET", "/api/bootstrap/dev-b")[0] == 404, "X to forget dev-b")
    T.check(redis.cli("EXISTS", "tether:bs:{dev-b}") == "0", "the key is still in Redis")
    # A configuration in Redis that does not parse (written by hand, or by a newer version
    # in a rolling upgrade) is left out and logged, the others served: at start, and when
    # another node says it changed.
    redis.cli("SET", "tether:bs:{bad}", "{not json")
    redis.cli("SADD", slot_key("bad", "tether:bs:", ":endpoints"), "bad")
    T.check(x.api("PUT", "/api/bootstrap/good", config)[0] == 200, "PUT good")
    z = Node("bs-z", redis, ["--node-id", "z"], role="bootstrap")
    T.check(z.api("GET", "/api/bootstrap/good")[0] == 200, "Z does not serve good")
    T.check(z.api("GET", "/api/bootstrap/bad")[0] == 404, "Z serves a broken configuration")
    T.check("event=config_refused" in z.log_text() and "tether:bs:{bad}" in z.log_text(),
            "Z did not say which configuration it refused")
    # Y had good; broken behind its back and announced, it stops serving it (fail closed).
    T.wait_until(lambda: y.api("GET", "/api/bootstrap/good")[0] == 200, "Y to know good")
    redis.cli("SET", "tether:bs:{good}", '{"servers": 7}')
    redis.cli("PUBLISH", "tether:db0:bootstrap:nodes",
              json.dumps({"type": "bootstrap-config", "from": "x", "endpoint": "good"}))
    T.wait_until(lambda: y.api("GET", "/api/bootstrap/good")[0] == 404,
                 "Y to stop serving a configuration that no longer parses")


class Sentinel:
    """One redis-server in sentinel mode watching `primary` as "tether-primary": quorum 1,
    down after 1 s, so a failover takes a few seconds."""

    def __init__(self, primary):
        self.port = free_port()
        conf = os.path.join(T.work, "sentinel-%d.conf" % self.port)
        with open(conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndir %s\n" % (self.port, T.work)
                    + "sentinel monitor tether-primary 127.0.0.1 %d 1\n" % primary.port
                    + "sentinel down-after-milliseconds tether-primary 1000\n"
                    + "sentinel failover-timeout tether-primary 5000\n")
        self.proc = subprocess.Popen(["/usr/bin/redis-server", conf, "--sentinel"],
                                     stdout=open(os.path.join(T.work, "sentinel.log"), "ab"),
                                     stderr=subprocess.STDOUT)
        T.procs.append(self.proc)
        T.wait_until(lambda: self.primary_port() == primary.port, "the sentinel to answer")

    def primary_port(self):
        r = subprocess.run(["redis-cli", "-p", str(self.port), "SENTINEL",
                            "get-master-addr-by-name", "tether-primary"],
                           capture_output=True, text=True, timeout=10).stdout.split()
        return int(r[1]) if len(r) == 2 and r[1].isdigit() else None


def workers():
    redis = Redis()
    a = Node("node-a", redis, ["--workers", "2", "--node-id", "a"])
    b = Node("node-b", redis, ["--workers", "2", "--node-id", "b"])
    stream = EventStream(a.http_port, "/api/events?events=registered,updated")
    T.check(stream.wait_for("HTTP/1.1 200", 5), "the event stream did not start")
    # Both of A's workers heard what the stream wants (a broadcast each receives) before
    # any device speaks.
    received = 'tether_node_bus_messages_total{direction="received"}'
    T.wait_until(lambda: (metric(a, received) or 0) >= 2, "A's workers to hear the stream's wants")
    target = {"port": a.coap_port}
    devices = [UdpDevice(lambda: target["port"], i, T.fail) for i in range(40)]
    names = {d.name for d in devices}
    for d in devices:
        T.check(d.register(0x1000 + d.index) == "2.01", d.name + ": Register not 2.01")
    for d in devices:
        T.check(d.update(0x2000 + d.index) == "2.04", d.name + ": Update not 2.04")

    def owners():
        return {d.name: redis.cli("HGET", "tether:{%s}:reg" % d.name, "owner") for d in devices}
    # Written behind: within a flush interval, each by the worker that serves the device.
    T.wait_until(lambda: set(owners().values()) == {"a", "a/w1"},
                 "both of A's workers to own devices in Redis", 20)
    for n in sorted(names):
        status, dev = a.api("GET", "/api/clients/" + n)
        T.check(status == 200 and dev["lifetime"] == 900, f"{n} through A: {status} {dev}")
    T.check(a.endpoints() == names, "A's list is not every device")
    T.wait_until(lambda: {d["endpoint"] for k, d in sse_events(stream) if k == "updated"} == names,
                 "A's stream to see every device's Update", 20)
    on_w1 = sorted(n for n, o in owners().items() if o == "a/w1")[0]
    status, dev = b.api("GET", "/api/clients/" + on_w1)
    T.check(status == 200 and dev["endpoint"] == on_w1, f"{on_w1} through B: {status} {dev}")

    # A restarted with two workers: each loads what it owns, and each device's datagrams
    # reach the worker that holds it.
    before = owners()
    a.proc.send_signal(signal.SIGTERM)
    a.proc.wait(timeout=30)
    # The same ports: the kernel's hash of a datagram's addresses and ports picks the worker.
    a = Node("node-a", redis, ["--workers", "2", "--node-id", "a"], same_ports_as=a)
    target["port"] = a.coap_port
    T.check(a.endpoints() == names, "A lost registrations over its restart")
    for d in devices:
        T.check(d.update(0x3000 + d.index) == "2.04", d.name + ": Update after the restart")
    T.check(metric(a, "tether_takeovers_total") == 0, "a device reached a worker not holding it")
    T.check(owners() == before, "owners changed over the restart")

    # A dies: B's workers take every device, at its next Update or by claiming A's.
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    target["port"] = b.coap_port
    for d in devices:
        T.check(d.update(0x4000 + d.index) == "2.04", d.name + ": Update through B")
    T.wait_until(lambda: set(owners().values()) <= {"b", "b/w1"}, "B's workers to own every device")
    T.check(b.endpoints() == names, "B does not list every device")


def sentinel_failover():
    primary = Redis()
    replica = Redis(extra=["--replicaof", "127.0.0.1", str(primary.port)])
    T.wait_until(lambda: "master_link_status:up" in replica.cli("INFO", "replication"),
                 "the replica to sync")
    sentinel = Sentinel(primary)
    url = "redis+sentinel://127.0.0.1:%d/tether-primary" % sentinel.port
    node = Node("server", None, ["--sync-writes"], store=url)
    T.check("store=" + url + "/0" in node.log_text(), "the log does not name the store")
    code, _, _ = register(node, "before")
    T.check(code == "2.01", f"Register before the failover: {code}")
    # Acknowledged, and on the replica before the primary dies.
    T.check(primary.cli("WAIT", "1", "5000") == "1", "the replica did not take the write")
    primary.proc.send_signal(signal.SIGKILL)
    primary.proc.wait()
    T.wait_until(lambda: sentinel.primary_port() == replica.port,
                 "the sentinel to promote the replica", 60)
    # The server asks the sentinel where the primary went; meanwhile a Register may get
    # 5.00. A new one succeeds within the bound, on the promoted replica.
    codes = []

    def registered():
        codes.append(register(node, "after", mid=0x2100 + len(codes))[0])
        return codes[-1] == "2.01"
    T.wait_until(registered, "a Register to succeed after the failover", 60)
    T.check(node.proc.poll() is None, "the server died")
    members = replica.indexed("registrations")
    T.check(members == {"before", "after"}, f"registrations on the new primary: {members}")


def cluster():
    redis = Cluster()
    a = Node("node-a", None, ["--sync-writes", "--node-id", "a"], store=redis.url())
    b = Node("node-b", None, ["--sync-writes", "--node-id", "b"], store=redis.url())
    c = Node("node-c", None, ["--sync-writes", "--node-id", "c"], store=redis.url())
    locations = register_many(a, 50)
    T.check(len(locations) == 50, f"only {len(locations)} of 50 acknowledged")
    # Each record is on the primary serving its slot, and the three share them.
    spread = {p for i in locations for p in redis.holders("tether:{dev-%d}:reg" % i)}
    T.check(len(spread) == 3, f"the records are on primaries {spread}")
    T.check(node_of(redis.cli("HGET", "tether:{dev-3}:reg", "owner")) == "a", "dev-3 is not A's")
    # Any node's API answers for A's device (the call crosses the cluster's pub/sub).
    status, dev = b.api("GET", "/api/clients/dev-3")
    T.check(status == 200 and dev.get("endpoint") == "dev-3", f"dev-3 through B: {status}")
    # (For a device not among the 50: with credentials on file, plain CoAP is refused.)
    status, _ = c.api("PUT", "/api/security/clients/secured",
                      {"mode": "psk", "identity": "secured-id", "key": "00112233"})
    T.check(status in (200, 201, 204), f"credentials through C: {status}")
    T.check(redis.cli("HGET", "tether:{secured}:cred", "kind") == "psk", "credentials in Redis")
    T.wait_until(lambda: b.api("GET", "/api/security/clients/secured")[0] == 200,
                 "B to know the credentials put through C")
    kill_and_update_through(a, b, c, locations, redis)
    listed = set()
    for n in redis.nodes:
        listed |= n.indexed("registrations")
    T.check(listed == {"dev-%d" % i for i in locations}, f"the index lists {len(listed)}")
    # Bootstrap configurations live in the cluster too.
    bs = Node("bs", None, ["--node-id", "x"], role="bootstrap", store=redis.url())
    config = {"security": {"1": {"uri": "coap://127.0.0.1:5683", "bootstrap": False,
                                 "mode": "nosec", "shortServerId": 101}},
              "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U"}}}
    T.check(bs.api("PUT", "/api/bootstrap/dev-b", config)[0] == 200, "PUT a configuration")
    T.check(redis.cli("EXISTS", "tether:bs:{dev-b}") == "1", "the configuration in the cluster")
    bs2 = Node("bs2", None, ["--node-id", "y"], role="bootstrap", store=redis.url())
    T.check(bs2.api("GET", "/api/bootstrap/dev-b")[0] == 200, "a second node does not load it")


T.run({"takeover": takeover, "register-elsewhere": register_elsewhere,
       "three-nodes": three_nodes, "refuses-writes": refuses_writes,
       "redis-restart": redis_restart, "api-across-nodes": api_across_nodes,
       "dtls-resume": dtls_resume, "bootstrap-nodes": bootstrap_nodes,
       "sentinel-failover": sentinel_failover, "cluster": cluster,
       "workers": workers}, SCENARIO)

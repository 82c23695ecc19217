#!/usr/bin/env python3
"""LwM2M over LoRaWAN (Transport TS 6.8.4, Appendix C) end to end: a real Mosquitto broker,
our network-server simulator `tether lorawan-ns` publishing ChirpStack v4 integration events,
`tether server --lorawan` as the application server and `tether client --server lorawan://2`
on the simulator's radio. The REST API is checked over HTTP; hostile integration events are
published with mosquitto_pub and hostile radio frames sent as raw datagrams. Devices use
US915 (no duty cycle) so that the scenarios run in seconds; EU868's duty cycle is covered on
virtual time (tests/lorawan). Usage: lorawan_interop.py TETHER_BINARY SCENARIO

Scenarios:
  end-to-end   a class A client registers with the DevEUI as its name (left out of the
               Register), binding N and queue mode; a REST Read of /3/0 waits for the
               device's next uplink and answers 2.05; an Observe brings notifications; the
               client de-registers when stopped; the simulator saw nothing oversized and the
               server nothing malformed
  lossy        the simulator loses one frame in five both ways (seeded): registration, Reads
               (until several frames were lost) and an Update still get through, by
               LoRaWAN's confirmed repeats and Appendix C
  unconfirmed  CON messages in unconfirmed frames on both ends (C.3.2): registration and a
               Read
  hostile      malformed integration events (not JSON, another DevEUI than the topic's, bad
               base64, FPort 0, a float frame counter), the same uplink twice and reports
               about queue items nobody queued reach the server; garbage datagrams reach the
               simulator's radio: each is counted (/metrics, the simulator's last line) and
               the device is still read afterwards
  modem        the client drives a LoRaWAN modem with AT commands (RAK RUI3 dialect) on a
               pseudo-terminal the simulator makes (--modem): the DevEUI comes from the
               modem; registration, a Read and the de-registration go through it
  network-down the simulator stops: the client's frames are lost on the air; started again,
               the client's next Update gets through and a Read works again
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_util import Scenario, free_port, start_service, tcp_listening  # noqa: E402
from raw_wire import http  # noqa: E402

TETHER = sys.argv[1]
SCENARIO = sys.argv[2]
S = Scenario("tether-lorawan-")
WORK, PROCS = S.work, S.procs
fail, check, wait_until = S.fail, S.check, S.wait_until

DEV = "70b3d57ed0000001"
APP = "lw-app"


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def text(path):
    with open(path, errors="replace") as f:
        return f.read()


class Broker:
    def __init__(self):
        self.port = free_port()
        conf = os.path.join(WORK, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\npersistence false\nallow_anonymous true\n")
        self.proc = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(WORK, "mosquitto.log"), "ab"))
        PROCS.append(self.proc)
        wait_until(lambda: tcp_listening(self.port), "mosquitto to listen")

    def url(self):
        return f"mqtt://127.0.0.1:{self.port}"

    def publish(self, topic, payload):
        subprocess.run(["mosquitto_pub", "-p", str(self.port), "-q", "1", "-t", topic, "-m",
                        payload], check=True, timeout=10)


class Network:
    """`tether lorawan-ns` with our device on its radio port."""

    def __init__(self, broker, extra=(), radio_port=None, device=True):
        self.broker = broker
        self.radio_port = radio_port or free_udp_port()
        self.extra = list(extra) + (["--device", f"{DEV}:A:3"] if device else [])
        self.log = os.path.join(WORK, "lorawan-ns.log")
        self.start()

    def start(self):
        before = text(self.log).count("lorawan-ns-broker-up") if os.path.exists(self.log) else 0
        self.proc = subprocess.Popen(
            [TETHER, "lorawan-ns", "--broker", self.broker.url(), "--application", APP,
             "--region", "US915", "--radio-port", str(self.radio_port)] + self.extra, stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        PROCS.append(self.proc)
        wait_until(lambda: text(self.log).count("lorawan-ns-broker-up") > before,
                   "the simulator to reach the broker")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        last = [l for l in text(self.log).splitlines() if "event=lorawan-ns-stopped" in l][-1]
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", last)}


class Server:
    def __init__(self, broker, extra=()):
        self.http_port = free_port()
        self.log = os.path.join(WORK, "server.log")
        args = [TETHER, "server", "--bind", "127.0.0.1", "--coap-port", str(free_port()),
                "--coaps-port", "0", "--http-port", str(self.http_port), "--store", "memory",
                "--lorawan", broker.url(), "--lorawan-region", "US915",
                "--request-timeout-ms", "60000"] + list(extra)
        self.proc = start_service(S, args, self.log, self.http_port, "the server", False)
        wait_until(lambda: "event=lorawan-broker-up" in text(self.log),
                   "the server to reach the broker")

    def api(self, method, path, body=b"", timeout=90):
        status, _, data = http(self.http_port, method, path, body, timeout=timeout)
        return status, data.decode(errors="replace")

    def metric(self, event):
        _, body = self.api("GET", "/metrics")
        m = re.search(r'tether_link_events_total\{link="lorawan",event="' + event +
                      r'"\} (\d+)', body)
        return int(m.group(1)) if m else -1


class Client:
    def __init__(self, network, extra=(), lifetime=20, modem=None):
        self.log = os.path.join(WORK, "client.log")
        carrier = (["--lorawan-modem", modem] if modem else
                   ["--lorawan-radio", f"127.0.0.1:{network.radio_port}", "--lorawan-region",
                    "US915", "--lorawan-dr", "3"])
        self.proc = subprocess.Popen(
            [TETHER, "client", "--server", "lorawan://2", "--dev-eui", DEV.upper()] + carrier +
            ["--lifetime", str(lifetime), "--lorawan-poll", "2",
             "--lorawan-ack-timeout", "20"] + list(extra),
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        PROCS.append(self.proc)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def registered(server):
    status, body = server.api("GET", f"/api/clients/{DEV}")
    return json.loads(body) if status == 200 else None


def setup(ns_extra=(), server_extra=(), client_extra=(), lifetime=20):
    broker = Broker()
    network = Network(broker, ns_extra)
    server = Server(broker, server_extra)
    client = Client(network, client_extra, lifetime)
    wait_until(lambda: registered(server) is not None, "the registration", timeout=60)
    return broker, network, server, client


def read_device(server):
    status, body = server.api("GET", f"/api/clients/{DEV}/3/0?timeout=60")
    check(status == 200, f"Read /3/0: {status} {body}")
    values = json.loads(body)["values"]
    check(values.get("/3/0/0") == "Tether", f"Read /3/0: {body}")


def end_to_end():
    broker, network, server, client = setup()
    r = registered(server)
    check(r["binding"] == "N" and r["queueMode"] and r["address"] == f"lorawan:{DEV}:2" and
          r["transport"] == "lorawan", f"registration: {r}")
    read_device(server)
    status, body = server.api("POST", f"/api/clients/{DEV}/3303/0/5700/observe?pmin=1&pmax=3"
                                      "&timeout=60")
    check(status == 200, f"Observe: {status} {body}")
    wait_until(lambda: text(server.log).count("event=notification") >= 2, "two notifications",
               timeout=60)
    client.stop()
    wait_until(lambda: registered(server) is None, "the de-registration", timeout=30)
    counters = network.stop()
    check(counters["uplinks"] >= 5 and counters["downlinks"] >= 5, f"simulator: {counters}")
    for bad in ("oversized_downlinks", "bad_uplinks", "unknown_device", "bad_commands"):
        check(counters[bad] == 0, f"simulator {bad}: {counters}")
    check(server.metric("lorawan_event_malformed") == 0, "malformed events")
    check(server.metric("lorawan_downlink_delivered") >= 3, "delivered downlinks")


def lossy():
    # A lifetime with room for a few lost Updates: each costs a confirmed repeat (~5 s).
    broker, network, server, client = setup(ns_extra=["--loss", "0.2", "--seed", "42"],
                                            lifetime=90)
    # Reads until the air has lost a few frames (one in five is lost; 12 Reads are ~40).
    for _ in range(12):
        read_device(server)
        if text(network.log).count("event=lorawan-ns-lost") >= 3:
            break
    updated = text(server.log).count("event=updated")
    wait_until(lambda: text(server.log).count("event=updated") > updated, "an Update",
               timeout=120)
    counters = network.stop()
    check(counters["lost_uplinks"] + counters["lost_downlinks"] >= 3, f"too little lost: {counters}")


def unconfirmed():
    broker, network, server, client = setup(server_extra=["--lorawan-unconfirmed"],
                                            client_extra=["--lorawan-unconfirmed"])
    read_device(server)
    check(server.metric("lorawan_downlink_delivered") >= 2, "txack-delivered downlinks")


def hostile():
    broker, network, server, client = setup()
    base = f"application/{APP}/device/{DEV}/event/"
    up = {"deviceInfo": {"devEui": DEV, "applicationId": APP}, "fCnt": 1000, "fPort": 2,
          "dr": 3, "data": "QAEAAQ=="}
    bad = [
        "not json",
        json.dumps(dict(up, deviceInfo={"devEui": "70b3d57ed0000002"})),
        json.dumps(dict(up, data="***")),
        json.dumps(dict(up, fPort=0)),
        json.dumps(dict(up, fCnt=1.5)),
        json.dumps(dict(up, dr=99)),
    ]
    for payload in bad:
        broker.publish(base + "up", payload)
    broker.publish(f"application/{APP}/device/nothex/event/up", json.dumps(up))
    wait_until(lambda: server.metric("lorawan_event_malformed") >= len(bad) + 1,
               "malformed events counted")
    # The same frame twice (a network that forwards one uplink twice): the second is dropped.
    frame = dict(up, fCnt=4000000, data="UAEAAA==")  # a NON empty-code-less 4 octets
    broker.publish(base + "up", json.dumps(frame))
    broker.publish(base + "up", json.dumps(frame))
    wait_until(lambda: server.metric("lorawan_uplink_duplicate") >= 1, "the duplicate counted")
    broker.publish(base + "txack", json.dumps({"queueItemId": "not-ours"}))
    broker.publish(base + "ack", json.dumps({"queueItemId": "nor-this", "acknowledged": True}))
    wait_until(lambda: server.metric("lorawan_event_unknown_item") >= 2, "unknown items counted")
    # Garbage on the radio.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for junk in (b"", b"LW", b"LW\x01\x00" + b"\x00" * 15 + b"x" * 300, os.urandom(40)):
        s.sendto(junk, ("127.0.0.1", network.radio_port))
    s.close()
    check(server.proc.poll() is None, "the server died")
    read_device(server)
    counters = network.stop()
    check(counters["bad_uplinks"] >= 3, f"radio garbage not counted: {counters}")


def modem():
    broker = Broker()
    path = os.path.join(WORK, "modem")
    network = Network(broker, ["--modem", f"{path}={DEV}:A:3"], device=False)
    server = Server(broker)
    client = Client(network, modem=path)
    wait_until(lambda: registered(server) is not None, "the registration", timeout=60)
    check("event=modem-ready" in text(client.log), "the modem's start-up")
    check(registered(server)["address"] == f"lorawan:{DEV}:2", "the modem's DevEUI")
    read_device(server)
    client.stop()
    wait_until(lambda: registered(server) is None, "the de-registration", timeout=30)
    counters = network.stop()
    check(counters["bad_uplinks"] == 0 and counters["uplinks"] >= 3, f"simulator: {counters}")


def network_down():
    broker, network, server, client = setup()
    counters = network.stop()
    check(counters["uplinks"] >= 1, f"simulator: {counters}")
    time.sleep(5)  # the client's frames meanwhile are lost on the air
    network.start()
    updated = text(server.log).count("event=updated") + text(server.log).count("event=registered")
    wait_until(lambda: text(server.log).count("event=updated") +
               text(server.log).count("event=registered") > updated,
               "an Update once the network is back", timeout=90)
    read_device(server)


S.run({"end-to-end": end_to_end, "lossy": lossy, "unconfirmed": unconfirmed,
       "hostile": hostile, "modem": modem, "network-down": network_down}, SCENARIO)

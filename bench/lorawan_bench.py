#!/usr/bin/env python3
"""LwM2M over LoRaWAN: frames and octets on the air per LwM2M operation, next to the data
rate's limit. One rig per data rate: Mosquitto, `tether lorawan-ns --log-frames` (a line per
frame on the air), `tether server --lorawan` and `tether client --lorawan-radio`, all on
127.0.0.1. For each operation (Register, Read /3/0, one notification of /3303/0/5700) the
frames between its start and 4 s after it ended are counted, up and down, with their
application octets (FRMPayload), PHY octets (13 more) and their time on the air at that data
rate. Runs on US915 (no duty cycle) so it takes seconds; the octets and frames are what any
region's data rate of the same frame size gives, and the EU868 duty cycle follows from the
time on the air (100 times it per uplink). The device is class C, so the server's requests
go at once; a class A device hears them in the window of its next uplink instead (one more
frame up, an empty one when it has nothing to say).

Usage: bench/lorawan_bench.py [TETHER_BINARY] (default build/release/bin/tether). Prints a
table per data rate; docs/performance.md reports it. The logs stay in the printed temp dir."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_rig import Rig, api, free_port  # noqa: E402
from datetime import datetime

TETHER = sys.argv[1] if len(sys.argv) > 1 else "build/release/bin/tether"
RIG = Rig("tether-lorawan-bench-")
WORK = RIG.work
start, text, wait = RIG.start, RIG.text, RIG.wait
DEV = "70b3d57ed0000001"


FRAME = re.compile(r"ts=(\S+) .*event=lorawan-frame dir=(\w+) .* bytes=(\d+) phy_bytes=(\d+) "
                   r"airtime_ms=(\d+)")


def frames(log, t0, t1):
    out = {"up": [0, 0, 0, 0], "down": [0, 0, 0, 0]}  # frames, bytes, phy bytes, airtime
    for m in FRAME.finditer(text(log)):
        t = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
        if t0 <= t <= t1:
            row = out[m.group(2)]
            row[0] += 1
            row[1] += int(m.group(3))
            row[2] += int(m.group(4))
            row[3] += int(m.group(5))
    return out


def now_utc():
    return datetime.utcnow().timestamp()


def rig(dr, max_payload):
    RIG.kill_all()
    tag = f"dr{dr}"
    mqtt = free_port()
    with open(os.path.join(WORK, f"{tag}-mosquitto.conf"), "w") as f:
        f.write(f"listener {mqtt} 127.0.0.1\npersistence false\nallow_anonymous true\n")
    start(["mosquitto", "-c", os.path.join(WORK, f"{tag}-mosquitto.conf")], f"{tag}-mosquitto.log")
    time.sleep(0.5)
    radio = free_port(socket.SOCK_DGRAM)
    ns_log = f"{tag}-ns.log"
    start([TETHER, "lorawan-ns", "--broker", f"mqtt://127.0.0.1:{mqtt}", "--region", "US915",
           "--radio-port", str(radio), "--device", f"{DEV}:C:{dr}", "--log-frames"], ns_log)
    http = free_port()
    start([TETHER, "server", "--bind", "127.0.0.1", "--coap-port", str(free_port()), "--coaps-port",
           "0", "--http-port", str(http), "--store", "memory", "--lorawan",
           f"mqtt://127.0.0.1:{mqtt}", "--lorawan-region", "US915", "-q"], f"{tag}-server.log")
    wait(lambda: "lorawan-broker-up" in text(f"{tag}-server.log"), "the server")
    t0 = now_utc()
    client = start([TETHER, "client", "--server", "lorawan://2", "--lorawan-radio",
                    f"127.0.0.1:{radio}", "--dev-eui", DEV, "--lorawan-region", "US915",
                    "--lorawan-dr", str(dr), "--lorawan-class", "C",
                    "--lorawan-poll", "2"],
                   f"{tag}-client.log")

    def registered():
        try:
            return api(http, "GET", f"/api/clients/{DEV}")[0] == 200
        except Exception:
            return False
    wait(registered, "the registration", timeout=180)
    time.sleep(4)
    rows = {"Register": frames(ns_log, t0, now_utc())}
    t0 = now_utc()
    status, body = api(http, "GET", f"/api/clients/{DEV}/3/0?timeout=120")
    assert status == 200, body
    time.sleep(4)
    rows["Read /3/0"] = frames(ns_log, t0, now_utc())
    status, body = api(http, "POST", f"/api/clients/{DEV}/3303/0/5700/observe?pmin=30&pmax=30"
                                     "&timeout=120")
    assert status == 200, body
    # The next notification comes 30 s later; count from a moment before it.
    notes = text(f"{tag}-client.log").count("event=notified")
    time.sleep(20)
    t0 = now_utc()
    wait(lambda: text(f"{tag}-client.log").count("event=notified") > notes, "a notification")
    time.sleep(4)
    rows["Notification (NON)"] = frames(ns_log, t0, now_utc())
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=60)
    print(f"\nUS915 DR{dr}: at most {max_payload} octets a frame")
    print("| operation | frames up | frames down | octets up (PHY) | octets down (PHY) |"
          " airtime up | airtime down |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        u, d = r["up"], r["down"]
        print(f"| {name} | {u[0]} | {d[0]} | {u[1]} ({u[2]}) | {d[1]} ({d[2]}) | {u[3]} ms |"
              f" {d[3]} ms |")


try:
    print(f"logs in {WORK}")
    for dr, size in ((3, 242), (1, 53)):
        rig(dr, size)
finally:
    RIG.kill_all()

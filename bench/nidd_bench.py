#!/usr/bin/env python3
"""LwM2M over NB-IoT non-IP data (Transport TS Appendix D.3): packets and octets per LwM2M
operation between the UE and the SCEF, next to the non-IP MTU (1358 octets) and the time
they take at the 300 bit/s D.4 expects of NAS transport. One rig on 127.0.0.1: `tether scef
--log-packets` (a line per packet each way, with the release assistance indication of each
uplink), `tether server --nidd` and `tether client --nidd-modem` on the simulator's modem.
For each operation (Register, Read /3/0, one notification of /3303/0/5700, an Update) the
packets between its start and 3 s after it ended are counted. The client is not in queue
mode, so the server's requests go at once.

Usage: bench/nidd_bench.py [TETHER_BINARY] (default build/release/bin/tether). Prints a
table; docs/performance.md reports it. The logs stay in the printed temp dir."""
import os
import re
import signal
import subprocess
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_rig import Rig, api, free_port  # noqa: E402
from datetime import datetime, timezone

TETHER = sys.argv[1] if len(sys.argv) > 1 else "build/release/bin/tether"
RIG = Rig("tether-nidd-bench-")
WORK = RIG.work
start, text, wait = RIG.start, RIG.text, RIG.wait
UE = "meter-1@iot.example"


PACKET = re.compile(r"ts=(\S+) .*event=scef-(uplink|downlink) ue=\S+ bytes=(\d+)(?: rai=(\d))?")


def packets(t0, t1):
    out = {"uplink": [0, 0, []], "downlink": [0, 0, []]}  # packets, octets, RAIs
    for m in PACKET.finditer(text("scef.log")):
        t = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=timezone.utc).timestamp()
        if t0 <= t <= t1:
            row = out[m.group(2)]
            row[0] += 1
            row[1] += int(m.group(3))
            if m.group(4) is not None:
                row[2].append(m.group(4))
    return out


try:
    print(f"logs in {WORK}")
    scef = free_port()
    modem = os.path.join(WORK, "ue1")
    start([TETHER, "scef", "--port", str(scef), "--ue", f"{modem}={UE}", "--log-packets"],
          "scef.log")
    wait(lambda: "scef-started" in text("scef.log"), "the SCEF")
    http = free_port()
    start([TETHER, "server", "--bind", "127.0.0.1", "--coap-port", str(free_port()),
           "--coaps-port", "0", "--http-port", str(http), "--store", "memory", "--nidd",
           f"http://127.0.0.1:{scef}", "--nidd-ue", UE, "-q"], "server.log")
    wait(lambda: "nidd-configured-info" in text("server.log"), "the server's configuration")
    t0 = time.time()
    client = start([TETHER, "client", "-e", UE, "--server", "nidd://", "--nidd-modem", modem,
                    "--lifetime", "60"], "client.log")

    def registered():
        try:
            return api(http, "GET", f"/api/clients/{UE}")[0] == 200
        except Exception:
            return False
    wait(registered, "the registration")
    time.sleep(3)
    rows = {"Register": packets(t0, time.time())}
    t0 = time.time()
    status, body = api(http, "GET", f"/api/clients/{UE}/3/0?timeout=60")
    assert status == 200, body
    time.sleep(3)
    rows["Read /3/0"] = packets(t0, time.time())
    status, body = api(http, "POST", f"/api/clients/{UE}/3303/0/5700/observe?pmin=10&pmax=10"
                                     "&timeout=60")
    assert status == 200, body
    notes = text("client.log").count("event=notified")
    time.sleep(7)
    t0 = time.time()
    wait(lambda: text("client.log").count("event=notified") > notes, "a notification")
    time.sleep(1)
    rows["Notification"] = packets(t0, time.time())
    # Cancelled on the server: the client's next notification gets a RST, and it stops.
    api(http, "DELETE", f"/api/clients/{UE}/3303/0/5700/observe")
    time.sleep(12)
    updates = text("client.log").count("event=updated")
    t0 = time.time()
    wait(lambda: text("client.log").count("event=updated") > updates, "an Update", timeout=90)
    time.sleep(1)
    rows["Update"] = packets(t0, time.time())
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=60)
    print("\nNIDD via SCEF: packets and octets per operation (non-IP MTU 1358 octets; time at "
          "300 bit/s)")
    print("| operation | packets up (RAI) | packets down | octets up | octets down |"
          " at 300 bit/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        u, d = r["uplink"], r["downlink"]
        seconds = (u[1] + d[1]) * 8 / 300
        print(f"| {name} | {u[0]} ({','.join(u[2])}) | {d[0]} | {u[1]} | {d[1]} |"
              f" {seconds:.1f} s |")
finally:
    RIG.kill_all()

#!/usr/bin/env python3
"""LwM2M over NB-IoT non-IP data (Transport TS 6.8.5, Appendix D.3) end to end: our SCEF
simulator `tether scef` with the T8 NIDD API (TS 29.122) and a simulated modem per UE on a
pseudo-terminal, `tether server --nidd` as the SCS/AS, and `tether client --server nidd://`
driving the modem with TS 27.007 commands (AT+CSODCP, +CRTDCP, AT+CPSMS). The REST API is
the one LoRaWAN devices get. Hostile callbacks are sent to the server as raw HTTP requests.
Usage: nidd_interop.py TETHER_BINARY SCENARIO

Scenarios:
  psm       a client in queue mode and PSM registers (binding N, Q, the External Identifier
            as its address and name), is read while awake, falls asleep; a Read sent while
            it sleeps waits in the server's queue and is answered right after the client's
            next Update; the modem's AT+CPSMS timers reached the network; the client
            de-registers when stopped
  buffered  a client not in queue mode sleeps in PSM (T3324 of 2 s): a Read finds it
            unreachable, the SCEF buffers it (D.6), the server sends none of CoAP's
            retransmissions into that buffer, and the Read is answered when the client's
            next Update wakes it; the client warned that its timers contradict (D.8)
  hostile   callbacks without the token (403), of the wrong method (405) or path (404), not
            JSON (400), for a UE the server does not serve or on another configuration
            (counted, 204); T8 requests the SCEF must refuse; a client registering under
            another UE's name (4.03): each is counted or refused, and the device is still
            read afterwards
  scef-down the server starts before the SCEF: its configuration requests fail and are
            repeated; once the SCEF is up, the client registers and is read
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_util import Scenario, free_port, start_service, tcp_listening  # noqa: E402
from raw_wire import http  # noqa: E402

TETHER = sys.argv[1]
SCENARIO = sys.argv[2]
S = Scenario("tether-nidd-")
WORK, PROCS = S.work, S.procs
fail, check, wait_until = S.fail, S.check, S.wait_until

UE = "meter-1@iot.example"
OTHER = "meter-2@iot.example"
TOKEN = "s3cret-callback-token"


def text(path):
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return f.read()


class Scef:
    """`tether scef` with two UEs, each modem a pseudo-terminal in the work directory."""

    def __init__(self, extra=(), port=None):
        self.port = port or free_port()
        self.log = os.path.join(WORK, "scef.log")
        self.modems = {UE: os.path.join(WORK, "ue1"), OTHER: os.path.join(WORK, "ue2")}
        self.extra = list(extra)
        self.start()

    def start(self):
        args = [TETHER, "scef", "--port", str(self.port), "--log-packets"]
        for ue, path in self.modems.items():
            args += ["--ue", f"{path}={ue}"]
        self.proc = subprocess.Popen(args + self.extra, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "ab"))
        PROCS.append(self.proc)
        wait_until(lambda: tcp_listening(self.port), "the SCEF to listen")

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        last = [l for l in text(self.log).splitlines() if "event=scef-stopped" in l][-1]
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", last)}


class Server:
    def __init__(self, scef_url, extra=()):
        self.http_port = free_port()
        self.callback_port = free_port()
        self.log = os.path.join(WORK, "server.log")
        token = os.path.join(WORK, "callback.token")
        with open(token, "w") as f:
            f.write(TOKEN + "\n")
        args = [TETHER, "server", "--bind", "127.0.0.1", "--coap-port", str(free_port()),
                "--coaps-port", "0", "--http-port", str(self.http_port), "--store", "memory",
                "--nidd", scef_url, "--nidd-ue", f"{UE},{OTHER}",
                "--nidd-callback-port", str(self.callback_port),
                "--nidd-callback-token-file", token,
                "--request-timeout-ms", "60000"] + list(extra)
        self.proc = start_service(S, args, self.log, self.http_port, "the server", False)

    def api(self, method, path, body=b"", timeout=90):
        status, _, data = http(self.http_port, method, path, body, timeout=timeout)
        return status, data.decode(errors="replace")

    def metric(self, event):
        _, body = self.api("GET", "/metrics")
        m = re.search(r'tether_link_events_total\{link="nidd",event="' + event + r'"\} (\d+)',
                      body)
        return int(m.group(1)) if m else -1

    def callback(self, method, body, token=TOKEN, path="/nidd"):
        target = path + (f"?token={token}" if token is not None else "")
        status, _, _ = http(self.callback_port, method, target, body.encode(),
                            {"Content-Type": "application/json"})
        return status


class Client:
    def __init__(self, scef, extra=(), lifetime=30, name=UE, modem_of=UE):
        self.log = os.path.join(WORK, f"client-{name.split('@')[0]}.log")
        self.proc = subprocess.Popen(
            [TETHER, "client", "-e", name, "--server", "nidd://", "--nidd-modem",
             scef.modems[modem_of], "--lifetime", str(lifetime)] + list(extra),
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        PROCS.append(self.proc)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def registered(server, name=UE):
    status, body = server.api("GET", f"/api/clients/{name}")
    return json.loads(body) if status == 200 else None


def read_device(server, timeout=60):
    status, body = server.api("GET", f"/api/clients/{UE}/3/0?timeout={timeout}",
                              timeout=timeout + 30)
    check(status == 200, f"Read /3/0: {status} {body}")
    values = json.loads(body)["values"]
    check(values.get("/3/0/0") == "Tether", f"Read /3/0: {body}")


def psm():
    scef = Scef()
    server = Server(scef.url(), ["--awake-window-ms", "6000"])
    client = Client(scef, ["--queue", "--awake-window-ms", "6000", "--psm-tau", "60",
                           "--psm-active", "6"], lifetime=30)
    wait_until(lambda: registered(server) is not None, "the registration", timeout=60)
    r = registered(server)
    check(r["binding"] == "N" and r["queueMode"] and r["address"] == f"nidd:ext:{UE}" and
          r["transport"] == "nidd", f"registration: {r}")
    check("event=scef-psm ue=ext:" + UE + " t3412_s=60 t3324_s=6" in text(scef.log),
          "the modem's AT+CPSMS timers")
    read_device(server)
    wait_until(lambda: f"event=sleeping ep={UE}" in text(server.log), "the client to sleep",
               timeout=30)
    updates = text(server.log).count("event=updated")
    read_device(server, timeout=60)  # waits for the next Update
    log = text(server.log)
    check(log.count("event=updated") > updates, "the Read came before the Update")
    client.stop()
    wait_until(lambda: registered(server) is None, "the de-registration", timeout=30)
    counters = scef.stop()
    check(counters["uplinks"] >= 4 and counters["unknown_ue"] == 0 and
          counters["refused"] == 0, f"SCEF: {counters}")
    check(server.metric("nidd_scef_malformed") == 0, "malformed callbacks")


def buffered():
    scef = Scef()
    server = Server(scef.url())
    client = Client(scef, ["--psm-tau", "120", "--psm-active", "2"], lifetime=60)
    wait_until(lambda: registered(server) is not None, "the registration", timeout=60)
    check("event=timers-contradict" in text(client.log), "the D.8 warning")
    # T3324 is 2 s after the network released the UE (at once after a NON, after the
    # answer for a CON, after 10 s otherwise): wait until it sleeps. On a slow machine a
    # repeated Register keeps it awake longer; a Read that found it awake is answered at
    # once, and the next one is tried. The Update (30 s after the Register) wakes it.
    for _ in range(4):
        time.sleep(5)
        read_device(server, timeout=60)
        if server.metric("nidd_scef_buffered") >= 1:
            break
    check(server.metric("nidd_scef_buffered") >= 1, "nothing was buffered")
    check(server.metric("nidd_retransmission_held") >= 1, "no retransmission held back")
    counters = scef.stop()
    check(counters["buffered"] >= 1 and counters["expired"] == 0, f"SCEF: {counters}")


def hostile():
    scef = Scef()
    server = Server(scef.url())
    client = Client(scef)
    wait_until(lambda: registered(server) is not None, "the registration", timeout=60)
    config = re.search(r'configured-info detail="ext:' + re.escape(UE) + r' (\S+)"',
                       text(server.log)).group(1)
    up = {"niddConfiguration": config, "externalId": UE, "data": "QAEAAQ=="}
    check(server.callback("POST", json.dumps(up), token=None) == 403, "no token")
    check(server.callback("POST", json.dumps(up), token="wrong") == 403, "a wrong token")
    check(server.callback("GET", "") == 405, "GET")
    check(server.callback("POST", json.dumps(up), path="/other") == 404, "another path")
    check(server.callback("POST", "not json") == 400, "not JSON")
    check(server.callback("POST", json.dumps(dict(up, data="***"))) == 400, "bad base64")
    check(server.callback("POST", json.dumps(dict(up, externalId="x@y" * 100))) == 400,
          "an overlong id")
    check(server.callback("POST", json.dumps(dict(up, externalId="ghost@iot.example"))) == 204,
          "an unknown UE")
    check(server.callback("POST", json.dumps(dict(up, niddConfiguration=config + "9"))) == 204,
          "another configuration")
    # Reports about deliveries and configurations nobody asked for change nothing.
    check(server.callback("POST", json.dumps({"niddDownlinkDataTransfer": config + "/x",
                                              "deliveryStatus": "SUCCESS"})) == 204,
          "an unknown delivery")
    check(server.callback("POST", json.dumps({"niddConfiguration": config + "9",
                                              "externalId": UE,
                                              "status": "TERMINATED"})) == 204,
          "another configuration's end")
    wait_until(lambda: server.metric("nidd_scef_callback_refused") >= 2, "refusals counted")
    wait_until(lambda: server.metric("nidd_scef_unknown_ue") >= 2, "unknown UEs counted")
    check(server.metric("nidd_scef_malformed") >= 3, "malformed callbacks counted")
    # T8 requests the SCEF refuses.
    t8 = "/3gpp-nidd/v1/as1/configurations"
    for body, want in ((b"{", 400), (json.dumps({"externalId": "ghost@iot.example",
                                                  "notificationDestination": "http://x"}).encode(),
                                      404)):
        status, _, _ = http(scef.port, "POST", t8, body, {"Content-Type": "application/json"})
        check(status == want, f"SCEF answered {status} to {body[:40]}, not {want}")
    # UE 2's device registering under UE 1's name: the SCEF vouches for UE 2 only.
    impostor = Client(scef, name=UE, modem_of=OTHER)
    wait_until(lambda: "4.03" in text(impostor.log), "the impostor refused", timeout=60)
    impostor.stop()
    check(registered(server)["address"] == f"nidd:ext:{UE}", "the registration was taken")
    check(server.proc.poll() is None, "the server died")
    read_device(server)


def scef_down():
    port = free_port()
    server = Server(f"http://127.0.0.1:{port}")
    wait_until(lambda: server.metric("nidd_scef_configuration_failed") >= 2,
               "configuration requests repeated", timeout=30)
    scef = Scef(port=port)
    wait_until(lambda: "event=nidd-configured-info" in text(server.log), "the configuration",
               timeout=30)
    Client(scef)
    wait_until(lambda: registered(server) is not None, "the registration", timeout=60)
    read_device(server)


S.run({"psm": psm, "buffered": buffered, "hostile": hostile, "scef-down": scef_down}, SCENARIO)

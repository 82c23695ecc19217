#!/usr/bin/env python3
"""CoAP over SMS through a real Kannel (bearerbox, smsbox, its SMPP driver) and the modem
simulator of tests/interop/sms/, which is also the SMPP 3.4 SMS centre Kannel binds to (so
TP-PID and the message class cross it, as the smartcard mode needs), in one run on one
machine:

  1. SMS per LwM2M operation (registration, Read /3/0, Read /3/0/0, one notification) with
     NoSec, with DTLS over SMS and with Secured Packets (the smartcard mode), with the octets
     of user data they took, next to the budget of Transport TS 5.4.2.1.1 (140 octets per
     SMS). For NoSec and smartcard also the CoAP octets inside (smartcard: every packet is
     opened with tests/interop/sms/secured_packet.py), so what the security costs per
     message is measured, not worked out;
  2. SMS-triggered wake-ups per second (POST /api/clients/{ep}/wake, each a trigger SMS to the
     modem through Kannel) next to the same number of SMS sent straight to smsbox's send-sms:
     the gateway's own rate on this machine, the baseline.

`tether server` is pinned to core 0; Kannel, the modem simulator, the client and this script
to core 1. Usage: bench/sms_bench.py [TETHER_BINARY] [WAKES] (default build/release/bin/tether
200). Prints one line per figure; docs/performance.md reports the medians of several runs.
The rig's logs (Kannel, modem simulator, server, client) stay in the printed temp dir when a
run fails."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop", "sms"))
from kannel import Kannel  # noqa: E402
import pdu  # noqa: E402
import secured_packet  # noqa: E402

TETHER = sys.argv[1] if len(sys.argv) > 1 else "build/release/bin/tether"
WAKES = int(sys.argv[2]) if len(sys.argv) > 2 else 200
SERVER, DEVICE = "+15559999", "+15550001"
PSK = "00112233445566778899aabbccddeeff"
# Smartcard mode: AES-CBC, AES-CMAC, checksum + ciphering + counter, TAR B20203 (/0/x/7),
# then the ciphering key and the checksum key (/0/x/8), as the interop test uses them.
KEY_PARAMS = "121A1600B20203"
SECRET_KEYS = "000102030405060708090a0b0c0d0e0f" "f0e1d2c3b4a5968778695a4b3c2d1e0f"
WORK = tempfile.mkdtemp(prefix="tether-sms-bench-")
PROCS = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait(pred, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise RuntimeError("timed out waiting for " + what)


def spawn(args, log, core):
    p = subprocess.Popen(["taskset", "-c", str(core)] + args, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(WORK, log), "ab"))
    PROCS.append(p)
    return p


class Rig:
    def __init__(self, security, name=None):
        name = name or security  # of the logs in WORK
        self.callback = free_port()
        self.kannel = Kannel(os.path.join(WORK, f"kannel-{name}"),
                             f"http://127.0.0.1:{self.callback}/sms", log=None,
                             modem_smsc="smpp")
        PROCS.extend(self.kannel.procs.values())
        for p in self.kannel.procs.values():
            subprocess.run(["taskset", "-a", "-pc", "1", str(p.pid)], stdout=subprocess.DEVNULL)
        self.sim_log = os.path.join(WORK, f"sim-{name}.log")
        # The simulator prints its ready line once bearerbox has bound to it over SMPP.
        self.sim = subprocess.Popen(
            ["taskset", "-c", "1", sys.executable, os.path.join(HERE, "..", "tests", "interop",
                                                                "sms", "modem_sim.py")] +
            self.kannel.modem_sim_args() + ["--modem", DEVICE, "--log", self.sim_log],
            stdout=subprocess.PIPE,
            stderr=open(os.path.join(WORK, f"sim-{name}.err.log"), "ab"))
        PROCS.append(self.sim)
        line = self.sim.stdout.readline().decode()
        if "modems" not in line:
            raise RuntimeError(f"the modem simulator did not start: {line!r}")
        self.pty = json.loads(line)["modems"][DEVICE]
        self.kannel.wait_smsc_online("fake")
        self.http = free_port()
        password = os.path.join(WORK, "password")
        with open(password, "w") as f:
            f.write(self.kannel.password)
        self.udp = free_port()
        extra = []
        if security == "smartcard":
            keys = os.path.join(WORK, "sms-keys")
            with open(keys, "w") as f:
                f.write(f"{DEVICE} {KEY_PARAMS} {SECRET_KEYS}\n")
            extra = ["--sms-keys-file", keys]
        self.server = spawn(
            [TETHER, "server", "--bind", "127.0.0.1", "--coap-port", str(self.udp),
             "--coaps-port", "0", "--http-port", str(self.http), "--store", "memory", "-q",
             "--sms-gateway", self.kannel.sendsms_url.replace("http://", "http://tether@"),
             "--sms-gateway-password-file", password, "--sms-number", SERVER,
             "--sms-callback-port", str(self.callback), "--sms-smsc", "fake",
             "--sms-security", security] + extra, f"server-{name}.log", 0)
        wait(lambda: self.api("GET", "/api/health")[0] == 200, "the server")

    def api(self, method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.http}{path}", method=method,
                                     data=body)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    def sms(self):
        """(direction, user data octets incl. UDH, starts a message, udh, data) of every SMS
        so far."""
        out = []
        with open(self.sim_log, errors="replace") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # still being written
                if ": SMS MO mr=" in line:
                    udh = bytes.fromhex(line.split(" udh=")[1].split(" data=")[0].strip())
                    data = bytes.fromhex(line.split(" data=")[1].split()[0])
                    direction = "MO"
                elif ": SMS MT pdu " in line:
                    d = pdu.decode_deliver(pdu.split_smsc(bytes.fromhex(
                        line.split(" pdu ")[1].strip()))[1])
                    udh, data, direction = d.udh, d.data, "MT"
                else:
                    continue
                info = pdu.concat_info(udh) if udh else None
                out.append((direction, len(udh) + len(data), info is None or info[2] == 1, udh,
                            data))
        return out

    def stop(self):
        for p in reversed(PROCS):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in PROCS:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        PROCS.clear()


def messages(security, sms):
    """The whole messages in `sms` (parts put back together): (direction, SMS, octets of user
    data with headers, CoAP octets inside or None for DTLS). Smartcard packets are opened with
    the interop tests' own codec, so the CoAP size is read, not assumed."""
    out, pending = [], {}
    for direction, n, _, udh, data in sms:
        info = pdu.concat_info(udh) if udh else None
        parts = [(n, data)]
        if info is not None:
            ref, total, seq = info
            got = pending.setdefault((direction, ref, total), {})
            got[seq] = (n, data)
            if len(got) < total:
                continue
            del pending[(direction, ref, total)]
            parts = [got[i] for i in range(1, total + 1)]
        body = b"".join(d for _, d in parts)
        if security == "nosec":
            coap = len(body)
        elif security == "smartcard":
            coap = len(secured_packet.open_packet(bytes.fromhex(KEY_PARAMS),
                                                  bytes.fromhex(SECRET_KEYS), body)[1])
        else:
            coap = None
        out.append((direction, len(parts), sum(k for k, _ in parts), coap))
    return out


def report(mode, what, before, after):
    new = after[len(before):]
    octets = sum(x[1] for x in new)
    biggest = max((x[1] for x in new), default=0)
    line = (f"sms {mode:9} {what:22} sms={len(new):3} up={sum(x[0] == 'MO' for x in new):3} "
            f"down={sum(x[0] == 'MT' for x in new):3} messages={sum(x[2] for x in new):3} "
            f"octets={octets:5} largest={biggest:3}/140")
    whole = messages(mode, new)
    if mode != "dtls":
        # Per message, direction:SMS:octets:CoAP octets; what the mode adds is the difference.
        line += " coap=" + ",".join(f"{d}:{k}:{n}:{c}" for d, k, n, c in whole)
    print(line)


def per_operation(security):
    rig = Rig(security)
    try:
        args = [TETHER, "client", "-e", "bench", "--server", f"sms://{SERVER}", "--sms-modem",
                rig.pty, "--sms-number", DEVICE, "--lifetime", "3600", "-q"]
        if security == "dtls":
            rig.api("PUT", "/api/security/clients/bench", json.dumps(
                {"mode": "psk", "identity": "bench", "key": PSK}).encode())
            args += ["--sms-security", "dtls", "--psk-identity", "bench", "--psk-key", PSK]
        elif security == "smartcard":
            args += ["--sms-security", "smartcard", "--sms-key-params", KEY_PARAMS,
                     "--sms-secret-keys", SECRET_KEYS]
        before = rig.sms()
        spawn(args, f"client-{security}.log", 1)
        wait(lambda: rig.api("GET", "/api/clients/bench")[0] == 200, "the registration", 120)
        time.sleep(1)
        report(security, "register (+handshake)", before, rig.sms())
        for path in ("/3/0", "/3/0/0"):
            before = rig.sms()
            status, _ = rig.api("GET", "/api/clients/bench" + path)
            assert status == 200, status
            time.sleep(0.5)
            report(security, "read " + path, before, rig.sms())
        rig.api("PUT", "/api/clients/bench/3303/0/5700/attributes?pmin=1&pmax=1", b"")
        status, _ = rig.api("POST", "/api/clients/bench/3303/0/5700/observe", b"")
        assert status == 200, status
        time.sleep(1.5)
        before = rig.sms()
        time.sleep(5.2)
        notes = [x for x in rig.sms()[len(before):] if x[0] == "MO"]
        count = max(sum(x[2] for x in notes), 1)
        line = (f"sms {security:9} notification           notifications={count} "
                f"sms/notification={len(notes) / count:.2f} "
                f"octets/notification={sum(x[1] for x in notes) / count:.0f}")
        if security != "dtls":
            whole = [m for m in messages(security, notes)]
            line += f" coap/notification={sum(c for _, _, _, c in whole) / max(len(whole), 1):.0f}"
        print(line)
    finally:
        rig.stop()


def wakes():
    rig = Rig("nosec", "wake")
    try:
        spawn([TETHER, "client", "-e", "uqs", "--server", f"coap://127.0.0.1:{rig.udp}",
               "--server-sms-number", SERVER, "--sms-modem", rig.pty, "--sms-number", DEVICE,
               "--lifetime", "3600", "-q"], "client-uqs.log", 1)
        wait(lambda: rig.api("GET", "/api/clients/uqs")[0] == 200, "the UQS registration")
        def delivered():
            return sum(x[0] == "MT" for x in rig.sms())
        # Baseline: the gateway's own rate, send-sms straight from this script, until each SMS
        # is at the modem (a NON POST without a path: the client ignores it).
        start_mt = delivered()
        t0 = time.perf_counter()
        for _ in range(WAKES):
            status, _ = rig.kannel.send_mt(SERVER, DEVICE, b"\x50\x02\x00\x01")
            assert status == 202, status
        wait(lambda: delivered() - start_mt >= WAKES, "every baseline SMS at the modem", 300)
        baseline_sent = time.perf_counter() - t0
        # Through our server: each POST makes the trigger and hands it to smsbox.
        time.sleep(1)
        start_mt = delivered()
        t0 = time.perf_counter()
        for _ in range(WAKES):
            status, body = rig.api("POST", "/api/clients/uqs/wake", b"")
            assert status == 202, (status, body)
        wait(lambda: delivered() - start_mt >= WAKES,
             "every trigger at the modem", 300)
        wake_time = time.perf_counter() - t0
        print(f"wake  baseline send-sms {WAKES / baseline_sent:8.1f}/s  "
              f"wake via server {WAKES / wake_time:8.1f}/s  "
              f"ratio {baseline_sent / wake_time:.2f}  (n={WAKES})")
    finally:
        rig.stop()


def main():
    os.sched_setaffinity(0, {1})  # this script with Kannel and the client, away from the server
    print(f"load {' '.join(open('/proc/loadavg').read().split()[:3])} binary={TETHER}")
    ok = False
    try:
        per_operation("nosec")
        per_operation("dtls")
        per_operation("smartcard")
        wakes()
        ok = True
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
        if ok:
            shutil.rmtree(WORK, ignore_errors=True)
        else:
            print(f"failed; the rig's logs are in {WORK}", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""CoAP over SMS (Transport TS 6.8.3) through a real SMS gateway: Kannel's bearerbox and
smsbox (Debian's kannel). `tether server --sms-gateway` sends through smsbox's send-sms and
hears smsbox's get-url; `tether client --sms-modem` talks AT commands in PDU mode to a
pseudo-terminal of tests/interop/sms/modem_sim.py, which also plays the SMS centre that
Kannel's SMPP driver binds to (so TP-PID and the message class cross Kannel), so every SMS
of a test crosses Kannel. Kannel's own fakesmsc injects SMS through a fake SMSC. PDUs
and headers are checked with tests/interop/sms/pdu.py, written from 3GPP TS 23.040 apart
from our codec. Usage: sms_interop.py TETHER_BINARY SCENARIO

Scenarios:
  end-to-end   a client on binding S alone registers over SMS (sms= its MSISDN), is read
               (/3/0, concatenated SMS both ways), written, observed (notifications over
               SMS) and executed (/1/0/8: an Update over SMS) through the REST API, and
               de-registers when stopped
  wake         Transport TS 6.6: a queue-mode client on binding US (UDP, and SMS for
               triggers) falls asleep; a REST Read waits in the server's queue; POST .../wake
               sends the Registration Update Trigger by SMS (a NON Execute of /1/0/8, checked
               with pdu.py); the client answers nothing by SMS, updates over UDP, and the Read
               completes. The Bootstrap-Request Trigger (?trigger=bootstrap) is acted on too.
               A trigger from a stranger and a Read by SMS from the server itself
               are ignored without a word; a client that gave no sms= cannot be woken (409);
               a client on CoAP/TCP with a modem registers with binding TS and is woken too
  oscore       SMS NoSec protected by OSCORE (Transport TS 5.4.1): a client with an OSCORE
               context registers and is read over SMS; every SMS both ways carries the OSCORE
               option and hides the endpoint name
  smartcard-bootstrap  a bootstrap server (over UDP) writes an sms:// account in SMS
               Security Mode 2 with its keys; the client's card takes them from there and
               the client registers and is read by Secured Packets
  auto-wake    with --sms-auto-wake, a REST Read of a sleeping UQS client sends the
               Registration Update Trigger by itself (one SMS) and completes after the Update
  dtls         SMS Secured mode with the device end-point (Transport TS 5.4.2.1): DTLS over
               SMS with PSK and the CCM_8 suite; a client with the wrong key gets no
               registration (its last flight is dropped unanswered); with the right key it
               registers (security psk) and is read; every SMS that starts a message starts
               with a DTLS record, and a small Read's request fits one SMS (the 5.4.2.1.1
               budget)
  bootstrap    `tether client --bootstrap sms://...` bootstraps by SMS from `tether bootstrap
               --sms-gateway` (Bootstrap-Request, Writes, Finish all over Kannel) and then
               registers with `tether server` over UDP, as the configuration says
  smartcard    SMS Secured Packet Structure mode (Transport TS 5.4.2.1.2-3): every SMS both
               ways is a 31.115 command packet (checked and opened with sms/secured_packet.py,
               python3-cryptography), sent class 2 with TP-PID 7F to the device; a client
               whose keys are wrong is never answered; the right one registers, is read,
               written, observed and executed over SMS; a replayed or tampered packet is
               dropped unanswered at either end and counted
  number-forms the server's number reaches the device as 0015559999 while the client knows
               it as +15559999 (sms://): the same phone, heard and answered
  gateway-down smsbox stops: a Read cannot leave, which is a warn line, a counter in
               /metrics and a timeout for the caller; smsbox restarts and the registration is
               still served
  hostile      what smsbox hands the server that no CoAP can come of: a malformed header,
               parts of a concatenation that never completes, a part twice, raw callback
               requests over 140 octets or without a sender, or without smsbox's token
               (403; a non-loopback callback without a token does not start); and SMS from a
               number that is
               not the client's server (Transport TS 5.4): never answered, all counted in
               /metrics, and the registration still served
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "sms"))
from interop_util import Scenario, free_port  # noqa: E402
from kannel import Kannel  # noqa: E402
import pdu  # noqa: E402
import secured_packet  # noqa: E402
from raw_wire import udp_options  # noqa: E402

TETHER = sys.argv[1]
SCENARIO = sys.argv[2]
S = Scenario("tether-sms-")
WORK, PROCS = S.work, S.procs
fail, check, wait_until = S.fail, S.check, S.wait_until

SERVER_NUMBER = "+15559999"
DEVICE_NUMBER = "+15550001"
STRANGER = "+15554444"


class Gateway:
    """Kannel and the modem simulator, with the server's callback port chosen up front. The
    simulator plays the SMS centre that Kannel's SMPP driver binds to (`smpp`, which carries
    TP-PID and the message class) or the client of Kannel's fake SMSC (`fake`, which does
    not)."""

    def __init__(self, extra_fake_smsc=False, modem_smsc="smpp"):
        self.callback_port = free_port()
        # smsbox proves itself to the server's callback with this token (--sms-callback-
        # token-file); hex, so Kannel reads no escape code in it.
        self.token = os.urandom(16).hex()
        self.kannel = Kannel(os.path.join(WORK, "kannel"),
                             f"http://127.0.0.1:{self.callback_port}/sms?token={self.token}",
                             log=lambda m: None, extra_fake_smsc=extra_fake_smsc,
                             modem_smsc=modem_smsc)
        for name in ("bearerbox", "smsbox"):
            PROCS.append(self.kannel.procs[name])
        self.sim_log = os.path.join(WORK, "modem-sim.log")
        self.sim = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "sms", "modem_sim.py")] +
            self.kannel.modem_sim_args() + ["--modem", DEVICE_NUMBER, "--log", self.sim_log],
            stdout=subprocess.PIPE, stderr=open(os.path.join(WORK, "modem-sim.err.log"), "ab"))
        PROCS.append(self.sim)
        line = self.sim.stdout.readline().decode()
        check(line.startswith("{") and "modems" in line, f"modem simulator did not start: {line!r}")
        self.pty = json.loads(line)["modems"][DEVICE_NUMBER]
        self.kannel.wait_smsc_online("fake")

    def sim_text(self):
        with open(self.sim_log, errors="replace") as f:
            return f.read()

    def mo_count(self):
        return self.sim_text().count(": SMS MO mr=")

    def mt_count(self):
        return self.sim_text().count(": SMS MT pdu ")


class Server:
    def __init__(self, gw, role="server", extra=(), number=SERVER_NUMBER):
        self.http_port = free_port()
        self.log = os.path.join(WORK, f"{role}.log")
        password = os.path.join(WORK, "sendsms.password")
        with open(password, "w") as f:
            f.write(gw.kannel.password + "\n")
        token = os.path.join(WORK, "callback.token")
        with open(token, "w") as f:
            f.write(gw.token + "\n")
        url = gw.kannel.sendsms_url.replace("http://", f"http://{gw.kannel.username}@")
        args = [TETHER, role, "--bind", "127.0.0.1", "--coap-port", str(free_port()),
                "--coaps-port", "0", "--http-port", str(self.http_port), "--store", "memory",
                "--sms-gateway", url, "--sms-gateway-password-file", password,
                "--sms-number", number, "--sms-callback-port", str(gw.callback_port),
                "--sms-callback-token-file", token,
                "--sms-smsc", "fake"]
        self.proc = subprocess.Popen(args + list(extra), stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "ab"))
        PROCS.append(self.proc)
        wait_until(lambda: "event=started" in self.log_text(), "the server to start")
        check("sms=" + number in self.log_text(), "start-up line names the SMS number")

    def log_text(self):
        check(self.proc.poll() is None, "the server exited")
        with open(self.log, errors="replace") as f:
            return f.read()

    def api(self, method, path, body=None, timeout=60):
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", method=method,
                                     data=body,
                                     headers={"Content-Type": "application/json"} if body else {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metric(self, event):
        _, text = self.api("GET", "/metrics")
        key = f'tether_link_events_total{{link="sms",event="{event}"}} '
        for line in text.splitlines():
            if line.startswith(key):
                return int(line[len(key):])
        return 0


def start_client(gw, ep="sms-dev", extra=()):
    log = os.path.join(WORK, "client.log")
    proc = subprocess.Popen([TETHER, "client", "--endpoint", ep, "--server",
                             f"sms://{SERVER_NUMBER}", "--sms-modem", gw.pty, "--sms-number",
                             DEVICE_NUMBER, "--lifetime", "600"] + list(extra),
                            stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(proc)
    return proc, log


def registered(server, ep="sms-dev"):
    status, body = server.api("GET", f"/api/clients/{ep}")
    return json.loads(body) if status == 200 else None


def write_and_observe(server, ep):
    """Write /1/0/1 and read it back, then observe the temperature until two notifications
    came, all over SMS."""
    status, body = server.api("PUT", f"/api/clients/{ep}/1/0/1", b"300")
    check(status in (200, 204), f"Write /1/0/1 over SMS: {status} {body}")
    status, body = server.api("GET", f"/api/clients/{ep}/1/0/1")
    check(status == 200 and "300" in body, f"Read back /1/0/1: {status} {body}")
    status, body = server.api("PUT", f"/api/clients/{ep}/3303/0/5700/attributes?pmin=1&pmax=2")
    check(status in (200, 204), f"Write-Attributes: {status} {body}")
    status, body = server.api("POST", f"/api/clients/{ep}/3303/0/5700/observe")
    check(status == 200, f"Observe over SMS: {status} {body}")
    wait_until(lambda: server.log_text().count("event=notification") >= 2,
               "two notifications over SMS", timeout=30)


def execute_update(server, ep):
    """Execute /1/0/8 (Registration Update Trigger) and see the Update it causes."""
    updates = server.log_text().count("event=updated")
    status, body = server.api("POST", f"/api/clients/{ep}/1/0/8")
    check(status in (200, 204), f"Execute /1/0/8 over SMS: {status} {body}")
    wait_until(lambda: server.log_text().count("event=updated") > updates,
               "the Update the Execute triggered, over SMS", timeout=30)


def end_to_end():
    gw = Gateway()
    server = Server(gw)
    client, _ = start_client(gw)
    wait_until(lambda: registered(server), "the client to register over SMS", timeout=60)
    reg = registered(server)
    check(reg["binding"] == "S" and reg.get("sms") == DEVICE_NUMBER,
          f"registration binding/sms: {reg}")
    check(reg.get("transport") == "sms" and DEVICE_NUMBER in reg.get("address", ""),
          f"registration transport/address: {reg}")
    # Register carries the object links: more than 140 octets, so concatenated parts went up.
    check(any(line.split(" udh=")[1].startswith("050003")
              for line in gw.sim_text().splitlines() if ": SMS MO mr=" in line),
          "Register went as a concatenated SMS (a 23.040 concatenation header)")
    status, body = server.api("GET", "/api/clients/sms-dev/3/0")
    check(status == 200 and "sms-dev" in body, f"Read /3/0 over SMS: {status} {body}")
    # What the server sent was 8-bit SMS-DELIVERs that an independent decoder reads.
    for line in gw.sim_text().splitlines():
        if ": SMS MT pdu " in line:
            raw = bytes.fromhex(line.split(": SMS MT pdu ")[1].strip())
            d = pdu.decode_deliver(pdu.split_smsc(raw)[1])
            check(d.oa == SERVER_NUMBER and len(d.udh) + len(d.data) <= 140,
                  f"MT PDU {line}")
    write_and_observe(server, "sms-dev")
    execute_update(server, "sms-dev")
    check(server.metric("sms_send_failed") == 0, "no send-sms refused")
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=30)
    wait_until(lambda: registered(server) is None, "the de-registration over SMS", timeout=30)


def wake():
    import threading
    gw = Gateway()
    server = Server(gw, extra=["--awake-window-ms", "1500"])
    udp = server.log_text().split(" udp=")[1].split()[0]
    log = os.path.join(WORK, "client.log")
    client = subprocess.Popen(
        [TETHER, "client", "--endpoint", "uqs-dev", "--server", f"coap://127.0.0.1:{udp}",
         "--server-sms-number", SERVER_NUMBER, "--sms-modem", gw.pty, "--sms-number",
         DEVICE_NUMBER, "--queue", "--awake-window-ms", "1000", "--lifetime", "600"],
        stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(client)
    wait_until(lambda: registered(server, "uqs-dev"), "the UQS client to register over UDP")
    reg = registered(server, "uqs-dev")
    check(reg["binding"] == "US" and reg.get("queueMode") is True and
          reg.get("sms") == DEVICE_NUMBER and reg.get("transport") == "udp",
          f"registration of the UQS client: {reg}")
    check(gw.mo_count() == 0, "the client sent SMS while registered over UDP")
    wait_until(lambda: registered(server, "uqs-dev")["awake"] is False, "the client to sleep")
    result = {}

    def read():
        result["r"] = server.api("GET", "/api/clients/uqs-dev/3/0/0")
    reader = threading.Thread(target=read)
    reader.start()
    wait_until(lambda: registered(server, "uqs-dev").get("queueDepth", 0) >= 1,
               "the Read to wait in the queue")
    updates = server.log_text().count("event=updated")
    status, body = server.api("POST", "/api/clients/uqs-dev/wake")
    check(status == 202 and DEVICE_NUMBER in body, f"wake: {status} {body}")
    reader.join(timeout=60)
    check("r" in result and result["r"][0] == 200, f"the queued Read after the wake: {result}")
    check(server.log_text().count("event=updated") > updates, "the Update over UDP")
    mts = [line for line in gw.sim_text().splitlines() if ": SMS MT pdu " in line]
    check(len(mts) == 1, f"one SMS to the device: {mts}")
    d = pdu.decode_deliver(pdu.split_smsc(bytes.fromhex(mts[0].split(" pdu ")[1]))[1])
    # CoAP: version 1, NON (type 1), POST (0.02), Uri-Path 1/0/8 (options 11).
    check(d.oa == SERVER_NUMBER and d.data[0] >> 4 == 0x5 and d.data[1] == 0x02 and
          d.data.endswith(b"\xb1\x31\x01\x30\x01\x38"), f"the trigger: {d.data.hex()}")
    check(gw.mo_count() == 0, "the client answered the trigger by SMS")
    # A stranger's trigger and the server's own Read by SMS: ignored, no answer, no Update.
    updates = server.log_text().count("event=updated")
    trigger = bytes([0x50, 0x02, 0x77, 0x01, 0xB1, 0x31, 0x01, 0x30, 0x01, 0x38])
    status, _ = gw.kannel.send_mt(STRANGER, DEVICE_NUMBER, trigger)
    check(status == 202, "sendsms for the stranger's trigger")
    get = bytes([0x40, 0x01, 0x12, 0x34, 0xB1, 0x33, 0x01, 0x30])
    status, _ = gw.kannel.send_mt(SERVER_NUMBER, DEVICE_NUMBER, get)
    check(status == 202, "sendsms for the Read by SMS")
    wait_until(lambda: gw.mt_count() >= 3, "both SMS at the modem")
    wait_until(lambda: "by SMS -> ignored" in open(log, errors="replace").read(),
               "the client to ignore the Read by SMS")
    time.sleep(2)
    check(server.log_text().count("event=updated") == updates, "a stranger's trigger acted on")
    check(gw.mo_count() == 0, "the client answered by SMS")
    # A client that gave no sms= cannot be woken.
    plain = subprocess.Popen([TETHER, "client", "--endpoint", "plain", "--server",
                              f"coap://127.0.0.1:{udp}"], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(WORK, "plain.log"), "ab"))
    PROCS.append(plain)
    wait_until(lambda: registered(server, "plain"), "the plain client to register")
    status, body = server.api("POST", "/api/clients/plain/wake")
    check(status == 409 and "sms" in body, f"wake without sms=: {status} {body}")
    check(server.api("POST", "/api/clients/nobody/wake")[0] == 404, "wake of nobody")
    status, body = server.api("POST", "/api/clients/uqs-dev/wake?trigger=reboot")
    check(status == 400 and "bootstrap" in body, f"an unknown trigger: {status} {body}")
    # The Bootstrap-Request Trigger (/1/0/9) by SMS: the client acts on it (it has no
    # bootstrap account here, so its bootstrap fails at once and says why).
    status, body = server.api("POST", "/api/clients/uqs-dev/wake?trigger=bootstrap")
    check(status == 202 and '"bootstrap"' in body, f"bootstrap trigger: {status} {body}")
    wait_until(lambda: "event=bootstrap-failed" in open(log, errors="replace").read(),
               "the client to act on the Bootstrap-Request Trigger")
    check("Execute /1/0/9 by SMS" in open(log, errors="replace").read(),
          "the client logged the trigger's Execute")
    # Binding TS: a client over CoAP/TCP with a modem is woken the same way.
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=30)
    tcp = server.log_text().split(" tcp=")[1].split()[0]
    ts = subprocess.Popen(
        [TETHER, "client", "--endpoint", "ts-dev", "--server", f"coap+tcp://127.0.0.1:{tcp}",
         "--server-sms-number", SERVER_NUMBER, "--sms-modem", gw.pty, "--sms-number",
         DEVICE_NUMBER, "--lifetime", "600"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, "ts.log"), "ab"))
    PROCS.append(ts)
    wait_until(lambda: registered(server, "ts-dev"), "the TS client to register over TCP")
    reg = registered(server, "ts-dev")
    check(reg["binding"] == "TS" and reg["transport"] == "tcp" and reg.get("sms") == DEVICE_NUMBER,
          f"registration of the TS client: {reg}")
    updates = server.log_text().count("event=updated ep=ts-dev")
    status, body = server.api("POST", "/api/clients/ts-dev/wake")
    check(status == 202, f"wake of the TS client: {status} {body}")
    wait_until(lambda: server.log_text().count("event=updated ep=ts-dev") > updates,
               "the TS client's Update over TCP after the trigger")


def message_starts(gw):
    """The user data of every SMS that starts a message (no concatenation, or part 1), by
    direction, decoded from the modem simulator's log."""
    out = {"MO": [], "MT": []}
    for line in gw.sim_text().splitlines():
        if ": SMS MO mr=" in line:
            udh = bytes.fromhex(line.split(" udh=")[1].split(" data=")[0].strip())
            data = bytes.fromhex(line.split(" data=")[1].split()[0])
        elif ": SMS MT pdu " in line:
            d = pdu.decode_deliver(pdu.split_smsc(bytes.fromhex(line.split(" pdu ")[1]))[1])
            udh, data = d.udh, d.data
        else:
            continue
        info = pdu.concat_info(udh) if udh else None
        if info is None or info[2] == 1:
            out["MO" if " MO " in line else "MT"].append((udh, data))
    return out


def dtls():
    gw = Gateway()
    server = Server(gw, extra=["--sms-security", "dtls"])
    key = "00112233445566778899aabbccddeeff"
    status, body = server.api("PUT", "/api/security/clients/sms-sec",
                              json.dumps({"mode": "psk", "identity": "sms-sec",
                                          "key": key}).encode())
    check(status in (200, 204), f"PUT credentials: {status} {body}")
    dtls_args = ["--sms-security", "dtls", "--psk-identity", "sms-sec"]
    wrong, _ = start_client(gw, "sms-sec", dtls_args + ["--psk-key", "ff" * 16])
    # Its last flight (the PSK identity in ClientKeyExchange, then Finished) cannot be
    # verified: DTLS drops such records without a word (RFC 6347 4.1.2.7), so the server
    # sends nothing more and nothing registers.
    # The identity "sms-sec" and then a ChangeCipherSpec record (20), as the MO lines show it.
    wait_until(lambda: (b"sms-sec".hex() + "14") in gw.sim_text(), "the wrong key's last flight",
               timeout=60)
    mt_then = gw.mt_count()
    time.sleep(3)
    check(registered(server, "sms-sec") is None, "registered with the wrong key")
    check(gw.mt_count() == mt_then, "the server answered a flight it could not verify")
    wrong.send_signal(signal.SIGTERM)
    wrong.wait(timeout=30)
    client, _ = start_client(gw, "sms-sec", dtls_args + ["--psk-key", key])
    wait_until(lambda: registered(server, "sms-sec"), "the DTLS client to register over SMS",
               timeout=90)
    reg = registered(server, "sms-sec")
    check(reg["transport"] == "sms" and reg.get("security") == "psk" and reg["binding"] == "S",
          f"registration over DTLS over SMS: {reg}")
    mt_before = gw.mt_count()
    status, body = server.api("GET", "/api/clients/sms-sec/3/0/0")
    check(status == 200, f"Read /3/0/0 over DTLS over SMS: {status} {body}")
    starts = message_starts(gw)
    for direction, messages in starts.items():
        for udh, data in messages:
            # RFC 6347 record content types: change_cipher_spec 20 .. application_data 23.
            check(data and 20 <= data[0] <= 23, f"{direction} SMS not a DTLS record: {data.hex()}")
    mts = [line for line in gw.sim_text().splitlines() if ": SMS MT pdu " in line][mt_before:]
    reads = [pdu.decode_deliver(pdu.split_smsc(bytes.fromhex(m.split(" pdu ")[1]))[1])
             for m in mts]
    check(any(not d.udh and d.data[0] == 23 for d in reads),
          f"the Read's request in one SMS: {[d.data.hex() for d in reads]}")
    # No session ticket over SMS: no handshake record (22) holding a NewSessionTicket (4).
    for _, data in whole_messages(gw)["MT"]:
        check(not (len(data) > 13 and data[0] == 22 and data[13] == 4),
              "the server sent a session ticket over SMS")
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=30)


def bootstrap():
    gw = Gateway()
    udp = free_port()
    server_http = free_port()
    server_log = os.path.join(WORK, "server-udp.log")
    server = subprocess.Popen([TETHER, "server", "--bind", "127.0.0.1", "--coap-port", str(udp),
                               "--coaps-port", "0", "--http-port", str(server_http), "--store",
                               "memory"], stdout=subprocess.DEVNULL,
                              stderr=open(server_log, "ab"))
    PROCS.append(server)
    configs = os.path.join(WORK, "configs.json")
    with open(configs, "w") as f:
        json.dump({"bs-dev": {
            "security": {"1": {"uri": f"coap://127.0.0.1:{udp}", "bootstrap": False,
                               "mode": "nosec", "shortServerId": 101}},
            "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U"}}}}, f)
    bs = Server(gw, role="bootstrap", extra=["--configs", configs])
    log = os.path.join(WORK, "client.log")
    client = subprocess.Popen([TETHER, "client", "--endpoint", "bs-dev", "--bootstrap",
                               f"sms://{SERVER_NUMBER}", "--sms-modem", gw.pty, "--sms-number",
                               DEVICE_NUMBER], stdout=subprocess.DEVNULL,
                              stderr=open(log, "ab"))
    PROCS.append(client)

    def registered_udp():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server_http}/api/clients/bs-dev",
                                        timeout=5) as r:
                return json.loads(r.read().decode())
        except (urllib.error.URLError, OSError):
            return None
    wait_until(registered_udp, "the client to bootstrap by SMS and register over UDP",
               timeout=90)
    reg = registered_udp()
    check(reg["transport"] == "udp", f"registration after the bootstrap: {reg}")
    text = open(log, errors="replace").read()
    check("event=bootstrapped" in text, "the client logged its bootstrap")
    # The whole bootstrap crossed Kannel: the request up, the writes and the finish down.
    check(gw.mo_count() >= 3 and gw.mt_count() >= 3,
          f"SMS of the bootstrap: {gw.mo_count()} up, {gw.mt_count()} down")
    check("level=error" not in bs.log_text(), "no error lines at the bootstrap server")


def auto_wake():
    gw = Gateway()
    server = Server(gw, extra=["--awake-window-ms", "1500", "--sms-auto-wake"])
    udp = server.log_text().split(" udp=")[1].split()[0]
    client = subprocess.Popen(
        [TETHER, "client", "--endpoint", "uqs-dev", "--server", f"coap://127.0.0.1:{udp}",
         "--server-sms-number", SERVER_NUMBER, "--sms-modem", gw.pty, "--sms-number",
         DEVICE_NUMBER, "--queue", "--awake-window-ms", "1000", "--lifetime", "600"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, "client.log"), "ab"))
    PROCS.append(client)
    wait_until(lambda: registered(server, "uqs-dev"), "the UQS client to register over UDP")
    wait_until(lambda: registered(server, "uqs-dev")["awake"] is False, "the client to sleep")
    # No /wake: the queued Read itself has the server send the trigger, once.
    status, body = server.api("GET", "/api/clients/uqs-dev/3/0/0")
    check(status == 200, f"the Read of a sleeping client: {status} {body}")
    check(gw.mt_count() == 1, f"one trigger SMS: {gw.mt_count()}")
    check(server.log_text().count("event=sms-trigger ") == 1, "one sms-trigger line")
    check(gw.mo_count() == 0, "the client answered by SMS")


def number_forms():
    """The server sends as 00-prefixed; the client knows it as +: still the same phone."""
    gw = Gateway()
    server = Server(gw, number="00" + SERVER_NUMBER[1:])
    client, log = start_client(gw)
    wait_until(lambda: registered(server), "the client to register over SMS", timeout=60)
    status, body = server.api("GET", "/api/clients/sms-dev/3/0/0")
    check(status == 200, f"Read with the server's number written 00...: {status} {body}")
    check(f"KANNEL< 00{SERVER_NUMBER[1:]} " in gw.sim_text(), "the SMS came from 00...")
    # One phone: the client keeps writing to it as it knows it, sms://+...
    check(f"da=00{SERVER_NUMBER[1:]} " not in gw.sim_text(), "a second peer for 00...")


def gateway_down():
    from kannel import SMSBOX
    gw = Gateway()
    server = Server(gw)
    client, _ = start_client(gw)
    wait_until(lambda: registered(server), "the client to register over SMS", timeout=60)
    smsbox = gw.kannel.procs["smsbox"]
    smsbox.send_signal(signal.SIGTERM)
    smsbox.wait(timeout=30)
    # smsbox is gone: the Read cannot leave; the refusal is a warn line and a counter, and
    # the caller hears a timeout, not a hang.
    status, body = server.api("GET", "/api/clients/sms-dev/3/0/0?timeout=5")
    check(status >= 500, f"a Read with the gateway down: {status} {body}")
    wait_until(lambda: server.metric("sms_send_failed") >= 1, "the refused send counted")
    check("level=warn event=sms-send-failed" in server.log_text(), "a warn line for it")
    # smsbox comes back: the registration is still there and the next Read goes through.
    PROCS.append(gw.kannel._spawn("smsbox", SMSBOX))
    wait_until(gw.kannel._sendsms_accepts, "smsbox to listen again")
    check(registered(server) is not None, "the registration was lost")
    status, body = server.api("GET", "/api/clients/sms-dev/3/0/0?timeout=60")
    check(status == 200, f"a Read once the gateway is back: {status} {body}")
    check(client.poll() is None, "the client exited")


def raw_callback(gw, query, token=True):
    if token:
        query = f"token={gw.token}&{query}"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{gw.callback_port}/sms?{query}",
                                    timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def hostile():
    gw = Gateway(extra_fake_smsc=True)
    server = Server(gw)
    client, client_log = start_client(gw)
    wait_until(lambda: registered(server), "the client to register over SMS", timeout=60)
    # Through Kannel's own fakesmsc (the second fake SMSC): SMS no CoAP comes of.
    fake2 = gw.kannel.fake_smsc2_port
    enc = lambda b: "".join("%%%02X" % x for x in b)  # noqa: E731
    lines = [
        # A header whose length octet runs past it: read as no concatenation, and the
        # bytes are not CoAP (an empty message with a bad version): dropped by the endpoint.
        f"{STRANGER} {SERVER_NUMBER} udh {enc(bytes([9, 0, 3]))} {enc(b'junk')}",
        # Parts 1 and 1 again of 3 that never complete.
        f"{STRANGER} {SERVER_NUMBER} udh {enc(bytes([5, 0, 3, 7, 3, 1]))} {enc(b'a' * 50)}",
        f"{STRANGER} {SERVER_NUMBER} udh {enc(bytes([5, 0, 3, 7, 3, 1]))} {enc(b'a' * 50)}",
    ]
    # fakesmsc sends one of its arguments at random: one run per message.
    for n, line in enumerate(lines):
        inject_line(gw, line, str(n))
    wait_until(lambda: server.metric("sms_received") + server.metric("sms_malformed") >= 3,
               "the three SMS from fakesmsc at the server")
    wait_until(lambda: server.metric("sms_part_duplicate") >= 1, "the duplicate part counted")
    # Straight at the callback: over 140 octets, no sender, a bad sender.
    for q in (f"from=%2B1555&data={'A' * 141}", "data=abc", "from=%2Bjunk&data=abc"):
        check(raw_callback(gw, q) == 200, f"callback {q}: answered 200 (no retry)")
    check(raw_callback(gw, "x") == 200, "callback without a sender")
    # Without smsbox's token, or with another one: refused, counted, never read.
    received = server.metric("sms_received")
    check(raw_callback(gw, f"from={DEVICE_NUMBER}&data=%40%01%00%01", token=False) == 403,
          "a callback without the token")
    check(raw_callback(gw, f"token=00&from={DEVICE_NUMBER}&data=%40%01%00%01", token=False) == 403,
          "a callback with a wrong token")
    # A query that does not parse cannot show the token either.
    check(raw_callback(gw, "from=%2B1555&data=%zz") == 403, "a badly escaped callback")
    check(server.metric("sms_callback_refused") == 3, "the refused callbacks counted")
    check(server.metric("sms_received") == received, "a refused callback was read")
    # A callback listening beyond loopback without a token does not start.
    r = subprocess.run([TETHER, "server", "--bind", "127.0.0.1", "--coap-port", "0",
                        "--coaps-port", "0", "--http-port", "0", "--store", "memory",
                        "--sms-gateway", "http://u@127.0.0.1:9/cgi-bin/sendsms",
                        "--sms-number", SERVER_NUMBER, "--sms-callback-host", "0.0.0.0"],
                       capture_output=True, timeout=30)
    check(r.returncode != 0 and b"--sms-callback-token-file" in r.stderr,
          f"a non-loopback callback without a token: {r.returncode} {r.stderr[-300:]!r}")
    wait_until(lambda: server.metric("sms_malformed") >= 5, "the malformed callbacks counted")
    # 7-bit text (coding=0) is no CoAP message: malformed, not read.
    malformed = server.metric("sms_malformed")
    check(raw_callback(gw, f"from={DEVICE_NUMBER}&coding=0&data=%40%01%00%01") == 200,
          "a 7-bit callback answered 200")
    check(server.metric("sms_malformed") == malformed + 1, "the 7-bit callback counted")
    # Transport TS 5.4: a CoAP GET to the device from a number that is not its server's is
    # never answered; the device sends nothing back.
    get = bytes([0x40, 0x01, 0x12, 0x34, 0xB1, 0x33, 0x01, 0x30])  # CON GET /3/0
    mo_before = gw.mo_count()
    status, body = gw.kannel.send_mt(STRANGER, DEVICE_NUMBER, get)
    check(status == 202, f"sendsms for the stranger: {status} {body}")
    wait_until(lambda: f"KANNEL< {STRANGER} {DEVICE_NUMBER}" in gw.sim_text(),
               "the stranger's SMS at the modem")
    time.sleep(2)  # what the device would have answered by now
    check(gw.mo_count() == mo_before, "the device answered a stranger")
    # The registration is still served.
    status, body = server.api("GET", "/api/clients/sms-dev/3/0/0")
    check(status == 200, f"Read after the hostile SMS: {status} {body}")
    check("level=error" not in server.log_text(), "no error lines")
    check(client.poll() is None, "the client exited")


def sms_log(gw):
    """Every SMS the modem simulator relayed, in order: (direction, udh, data, pid, dcs)."""
    out = []
    for line in gw.sim_text().splitlines():
        if ": SMS MO mr=" in line:
            udh = bytes.fromhex(line.split(" udh=")[1].split(" data=")[0].strip())
            data = bytes.fromhex(line.split(" data=")[1].split()[0])
            pid = int(line.split(" pid=")[1].split()[0], 16)
            dcs = int(line.split(" dcs=")[1].split()[0], 16)
            out.append(("MO", udh, data, pid, dcs))
        elif ": SMS MT pdu " in line:
            d = pdu.decode_deliver(pdu.split_smsc(bytes.fromhex(line.split(" pdu ")[1]))[1])
            out.append(("MT", d.udh, d.data, d.pid, d.dcs))
    return out


def whole_messages(gw, skip=0):
    """The concatenated parts put back together, by direction: [(first udh, payload)], after
    the first `skip` SMS."""
    out, pending = {"MO": [], "MT": []}, {}
    for direction, udh, data, _, _ in sms_log(gw)[skip:]:
        info = pdu.concat_info(udh) if udh else None
        if info is None:
            out[direction].append((udh, data))
            continue
        ref, total, seq = info
        parts = pending.setdefault((direction, ref, total), {})
        parts[seq] = (udh, data)
        if len(parts) == total:
            del pending[(direction, ref, total)]
            out[direction].append((parts[1][0], b"".join(parts[i][1] for i in range(1, total + 1))))
    return out


SMS_KEY_PARAMS = "121A1600B20203"  # AES-CBC, AES-CMAC, CC + ciphering + counter, TAR B20203
SMS_SECRET = "000102030405060708090a0b0c0d0e0f" "f0e1d2c3b4a5968778695a4b3c2d1e0f"


def smartcard():
    gw = Gateway(extra_fake_smsc=True)
    keys = os.path.join(WORK, "sms-keys")
    with open(keys, "w") as f:
        f.write(f"# the devices' SMS binding keys\n{DEVICE_NUMBER} {SMS_KEY_PARAMS} {SMS_SECRET}\n")
    server = Server(gw, extra=["--sms-security", "smartcard", "--sms-keys-file", keys])
    card = ["--sms-security", "smartcard", "--sms-key-params", SMS_KEY_PARAMS]
    # Wrong keys: the server cannot open the Register and answers nothing.
    wrong, _ = start_client(gw, "sms-card", card + ["--sms-secret-keys", "ff" * 32])
    wait_until(lambda: server.metric("sms_packet_bad_checksum") >= 1,
               "the wrongly protected Register refused", timeout=60)
    time.sleep(2)
    check(registered(server, "sms-card") is None, "registered with the wrong keys")
    check(gw.mt_count() == 0, "the server answered a packet it could not open")
    wrong.send_signal(signal.SIGTERM)
    wrong.wait(timeout=30)

    skip = len(sms_log(gw))
    client, _ = start_client(gw, "sms-card", card + ["--sms-secret-keys", SMS_SECRET])
    wait_until(lambda: registered(server, "sms-card"), "the smartcard client to register",
               timeout=60)
    reg = registered(server, "sms-card")
    check(reg["binding"] == "S" and reg["transport"] == "sms", f"registration: {reg}")
    status, body = server.api("GET", "/api/clients/sms-card/3/0")
    check(status == 200 and "sms-card" in body, f"Read /3/0: {status} {body}")
    write_and_observe(server, "sms-card")
    status, body = server.api("DELETE",
                              "/api/clients/sms-card/3303/0/5700/observe?active=true")
    check(status == 200 and '"cancelled":1' in body.replace(" ", ""),
          f"cancel the observation: {status} {body}")
    execute_update(server, "sms-card")

    # Every SMS, both ways, is a command packet that the independent codec opens.
    params, secret = bytes.fromhex(SMS_KEY_PARAMS), bytes.fromhex(SMS_SECRET)
    last = {}
    coap = {"MO": [], "MT": []}
    for direction, messages in whole_messages(gw, skip).items():
        for udh, packet in messages:
            check(any(iei == 0x70 for iei, _ in pdu.parse_udh(udh)),
                  f"{direction} SMS without the command packet element: {udh.hex()}")
            counter, message = secured_packet.open_packet(params, secret, packet)
            if direction in last:
                check(counter > last[direction], f"{direction} counter did not grow")
            last[direction] = counter
            coap[direction].append(message)
    mo_paths = [m for m in coap["MO"] if m[1] == 0x02]  # POSTs: Register, Update, Send
    check(mo_paths and b"rd" in mo_paths[0], "the first MO packet holds the Register")
    check(any(m[1] == 0x01 for m in coap["MT"]), "an MT packet holds a GET")
    for direction, _, _, pid, dcs in sms_log(gw)[skip:]:
        check(pid == 0x7F and dcs == 0xF6, f"{direction} SMS PID {pid:#x} DCS {dcs:#x}")

    # Replays. To the device: the server's last SMS again, through Kannel; never answered.
    mt = [(u, d) for direction, u, d, _, _ in sms_log(gw) if direction == "MT" and
          pdu.concat_info(u) is None]
    check(mt, "a single-SMS packet to replay")
    mo_before, mt_before = gw.mo_count(), gw.mt_count()
    status, body = gw.kannel.send_mt(SERVER_NUMBER, DEVICE_NUMBER, mt[-1][1], udh=mt[-1][0])
    check(status == 202, f"sendsms of the replay: {status} {body}")
    wait_until(lambda: gw.mt_count() > mt_before, "the replay at the modem")
    # To the server: the device's last single SMS again, through the fake SMSC.
    mo = [(u, d) for direction, u, d, _, _ in sms_log(gw) if direction == "MO" and
          pdu.concat_info(u) is None]
    check(mo, "a single-SMS packet of the device's to replay")
    inject(gw, DEVICE_NUMBER, SERVER_NUMBER, mo[-1][0], mo[-1][1], "replay")
    wait_until(lambda: server.metric("sms_packet_replayed") >= 1, "the replay at the server")
    # A tampered packet: one bit of the ciphered part flipped.
    tampered = bytearray(mo[-1][1])
    tampered[-1] ^= 0x01
    inject(gw, DEVICE_NUMBER, SERVER_NUMBER, mo[-1][0], bytes(tampered), "tampered")
    wait_until(lambda: server.metric("sms_packet_bad_checksum") >= 2, "the tampered packet")
    time.sleep(2)  # what the device would have answered by now
    check(gw.mo_count() == mo_before, "the device answered a replayed packet")
    status, body = server.api("GET", "/api/clients/sms-card/3/0/0")
    check(status == 200, f"Read after the replays: {status} {body}")
    check("level=error" not in server.log_text(), "no error lines")
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=30)


def smartcard_bootstrap():
    """Keys that a bootstrap server writes (/0/x/6, /0/x/7, /0/x/8) are what the card uses."""
    gw = Gateway()
    keys = os.path.join(WORK, "sms-keys")
    with open(keys, "w") as f:
        f.write(f"{DEVICE_NUMBER} {SMS_KEY_PARAMS} {SMS_SECRET}\n")
    server = Server(gw, extra=["--sms-security", "smartcard", "--sms-keys-file", keys])
    bs_udp = free_port()
    configs = os.path.join(WORK, "configs.json")
    with open(configs, "w") as f:
        json.dump({"card-dev": {
            "security": {"1": {"uri": f"sms://{SERVER_NUMBER}", "bootstrap": False,
                               "mode": "nosec", "shortServerId": 101, "smsSecurityMode": 2,
                               "smsBindingKeyParameters": {"hex": SMS_KEY_PARAMS},
                               "smsBindingSecretKeys": {"hex": SMS_SECRET},
                               "smsNumber": SERVER_NUMBER}},
            "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "S"}}}}, f)
    bs_log = os.path.join(WORK, "bootstrap-udp.log")
    bs = subprocess.Popen([TETHER, "bootstrap", "--bind", "127.0.0.1", "--coap-port",
                           str(bs_udp), "--coaps-port", "0", "--http-port", str(free_port()),
                           "--store", "memory", "--configs", configs],
                          stdout=subprocess.DEVNULL, stderr=open(bs_log, "ab"))
    PROCS.append(bs)
    wait_until(lambda: "event=started" in open(bs_log, errors="replace").read(),
               "the bootstrap server to start")
    log = os.path.join(WORK, "client.log")
    client = subprocess.Popen([TETHER, "client", "--endpoint", "card-dev", "--bootstrap",
                               f"coap://127.0.0.1:{bs_udp}", "--sms-modem", gw.pty,
                               "--sms-number", DEVICE_NUMBER], stdout=subprocess.DEVNULL,
                              stderr=open(log, "ab"))
    PROCS.append(client)
    wait_until(lambda: registered(server, "card-dev"),
               "the client to bootstrap over UDP and register by Secured Packets", timeout=90)
    status, body = server.api("GET", "/api/clients/card-dev/3/0/0")
    check(status == 200, f"Read over Secured Packets: {status} {body}")
    params, secret = bytes.fromhex(SMS_KEY_PARAMS), bytes.fromhex(SMS_SECRET)
    messages = whole_messages(gw)
    check(messages["MO"] and messages["MT"], f"SMS both ways: {messages}")
    for direction, items in messages.items():
        for udh, packet in items:
            secured_packet.open_packet(params, secret, packet)  # raises when it does not open


def coap_option_numbers(message):
    """The option numbers of a CoAP message, read apart from our codec."""
    return [number for number, _ in udp_options(message)]


def oscore():
    """Transport TS 5.4.1: SMS NoSec with an OSCORE context is protected end to end."""
    gw = Gateway()
    server = Server(gw)
    secret, salt = "0102030405060708090a0b0c0d0e0f10", "9e7ca92223786340"
    status, body = server.api("PUT", "/api/security/clients/sms-os", json.dumps({
        "mode": "oscore", "masterSecret": secret, "masterSalt": salt, "senderId": "01",
        "recipientId": "02"}).encode())
    check(status in (200, 204), f"PUT OSCORE credentials: {status} {body}")
    client, _ = start_client(gw, "sms-os", ["--oscore-secret", secret, "--oscore-salt", salt,
                                            "--oscore-sender-id", "01",
                                            "--oscore-recipient-id", "02"])
    wait_until(lambda: registered(server, "sms-os"), "the OSCORE client to register over SMS",
               timeout=60)
    status, body = server.api("GET", "/api/clients/sms-os/3/0/0")
    check(status == 200, f"Read /3/0/0 over OSCORE over SMS: {status} {body}")
    messages = whole_messages(gw)
    check(messages["MO"] and messages["MT"], "SMS both ways")
    for direction, items in messages.items():
        for _, message in items:
            check(9 in coap_option_numbers(message),
                  f"{direction} SMS without an OSCORE option: {message.hex()}")
            # The endpoint name (Register's Uri-Query) and paths ride encrypted.
            check(b"sms-os" not in message and b"rd" not in message[4:12],
                  f"{direction} SMS shows what OSCORE hides: {message.hex()}")
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=30)


def inject(gw, sender, receiver, udh, data, name):
    """One SMS from `sender` into bearerbox through Kannel's own fakesmsc tool."""
    enc = lambda b: "".join("%%%02X" % x for x in b)  # noqa: E731
    inject_line(gw, f"{sender} {receiver} udh {enc(udh)} {enc(data)}", name)


def inject_line(gw, line, name):
    """One fakesmsc line ("SENDER RECEIVER TYPE ...") into bearerbox's second fake SMSC."""
    log = os.path.join(WORK, f"fakesmsc-{name}.log")
    fakesmsc = subprocess.Popen(["/usr/lib/kannel/test/fakesmsc", "-H", "127.0.0.1", "-r",
                                 str(gw.kannel.fake_smsc2_port), "-m", "1", line],
                                stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    PROCS.append(fakesmsc)
    wait_until(lambda: "sent message 1" in open(log, errors="replace").read(),
               f"fakesmsc to send {name}: {line}")
    fakesmsc.send_signal(signal.SIGTERM)
    fakesmsc.wait(timeout=10)


S.run({"end-to-end": end_to_end, "wake": wake, "dtls": dtls, "bootstrap": bootstrap,
       "smartcard": smartcard, "smartcard-bootstrap": smartcard_bootstrap,
       "oscore": oscore, "auto-wake": auto_wake, "number-forms": number_forms, "gateway-down": gateway_down,
       "hostile": hostile},
      SCENARIO)

#!/usr/bin/env python3
"""Self-test of the SMS interop rig (kannel.py, modem_sim.py, smpp.py, pdu.py) against the real
Kannel, once per SMSC driver of the modem path (--smsc fake|smpp|both, default both):

fake SMSC (Kannel's fake driver; modem_sim connects to it):
  AT dialect   echo on until ATE0, result codes, AT+CMGF=1 refused, AT+CNUM
  MO           two AT+CMGS SMS-SUBMITs (8-bit, concat UDH 00 03 ref 2 seq) carrying all 256
               octet values reach the HTTP callback part by part with from/to/udh/data intact;
               malformed PDUs get +CMS ERROR: 304 and reach nobody
  MT           send_mt() with binary data and UDH arrives on the pty as +CMT whose PDU decodes
               to the same sender, UDH and octets (all 256 values); an MT sent before AT+CNMI is
               held and delivered after it; an MT for an unknown MSISDN is dropped
  fakesmsc     Kannel's own fakesmsc injects a UDH MO through the second fake SMSC (fake2)
smpp SMSC (modem_sim is an SMPP 3.4 SMSC, bearerbox binds as transceiver):
  MT secured   send-sms coding=1&pid=127&mclass=2 with UDH 02 70 00 (IEI 70, length 0): +CMT
               with TP-PID 0x7F, TP-DCS 0xF6, UDHI, from +PEER (0x91); all 256 octet values
  MT plain     coding=1 without pid/mclass: TP-PID 0, TP-DCS 0x04
  MO secured   SMS-SUBMITs with PID 0x7F, DCS 0xF6 and UDH: +CMGS after deliver_sm_resp; the
               callback gets from/to with '+', udh, data (all 256 values), coding=1, dcs=246
               (%O: decimal) and pid=127 (from meta=%D, the tp_pid TLV); plain: dcs=04 pid=0
  concatenated 3 parts by separate send-sms arrive as 3 SMS with their UDH; an MT over 140
               octets is cut by Kannel in 2, each with the caller's UDH, PID and DCS
  raw ESME     on a second connection: generic_nack for an unknown command or a bad length,
               ESME_RINVBNDSTS before bind, wrong password, enquire_link, submit_sm (7-bit,
               alphanumeric sender, message_payload), unbind
  MO concat    two parts with concat UDH reach the callback apart; fakesmsc via fake2 still works
  shutdown     Kannel stops at once (unbind answered); then AT+CMGS -> +CMS ERROR: 331

Run from anywhere: /usr/bin/python3 tests/interop/sms/selftest.py [--smsc MODE] [--keep]
Exits 0 on success; every wait is bounded; every process started is ended, also on failure."""
import http.server
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import pdu  # noqa: E402
import smpp  # noqa: E402
from kannel import FAKESMSC, Kannel, decode_callback, urlenc  # noqa: E402

MODEM = "+15550001"         # the simulated modem's MSISDN
PEER = "+15559999"          # the far end (an LwM2M server's SMS number, say)
INJECTOR = "+15557777"      # sender of the fakesmsc MO
SIM_SMSC = "+15550100000"   # modem_sim's default service-centre address
WAIT = 20.0                 # upper bound of every single wait


class Failure(Exception):
    pass



def check_no_stray_output(p):
    """Nothing more came out of the modem's pty than the test read."""
    time.sleep(0.3)
    try:
        p.buf += os.read(p.fd, 4096)
    except BlockingIOError:
        pass
    check(p.buf == b"", "no stray output on the pty")

def check(cond, msg):
    if not cond:
        raise Failure(msg)
    print("ok   " + msg, flush=True)


def wait_for(pred, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise Failure("timed out after %.0f s waiting for %s" % (timeout, what))


class Callback:
    """The sms-service get-url target: records each request's decoded query."""

    def __init__(self):
        self.hits, self.cond = [], threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                query = self.path.partition("?")[2]
                with outer.cond:
                    outer.hits.append(decode_callback(query))
                    outer.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")   # empty: no reply SMS
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/mo" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n, timeout=WAIT):
        """The first n hits, once there are at least n."""
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.hits) >= n, timeout):
                raise Failure("callback got %d of %d requests in %.0f s"
                              % (len(self.hits), n, timeout))
            return list(self.hits[:n])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Pty:
    """The client side of one simulated modem."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.buf = b""

    def write(self, data):
        deadline = time.monotonic() + WAIT
        while data:
            if time.monotonic() > deadline:
                raise Failure("pty write stalled")
            select.select([], [self.fd], [], 0.5)
            try:
                data = data[os.write(self.fd, data):]
            except BlockingIOError:
                pass

    def expect(self, pattern, timeout=10.0):
        """Reads until `pattern` (bytes regex) matches; returns (text up to and including the
        match, match) and keeps what follows for the next call."""
        rx = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                text, self.buf = self.buf[:m.end()], self.buf[m.end():]
                return text, m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("pty: no %r within %.0f s; got %r" % (pattern, timeout, self.buf))
            r, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if r:
                try:
                    self.buf += os.read(self.fd, 4096)
                except BlockingIOError:
                    pass

    FINAL = rb"\r\n(OK|ERROR|\+CMS ERROR: \d+)\r\n|\r\n> "

    def at(self, cmd):
        self.write(cmd.encode() + b"\r")
        return self.expect(self.FINAL)[0]

    def cmgs(self, hex_pdu, tpdu_len, tail=b"\x1a"):
        """AT+CMGS: waits for the prompt, sends the PDU and `tail`; returns the result."""
        text = self.at("AT+CMGS=%d" % tpdu_len)
        if not text.endswith(b"> "):
            raise Failure("AT+CMGS=%d gave no prompt: %r" % (tpdu_len, text))
        self.write(hex_pdu.encode() + tail)
        return self.expect(self.FINAL)[0]

    def cmt(self, timeout=10.0):
        """The next +CMT: (tpdu length, SMSC, decoded SMS-DELIVER)."""
        _, m = self.expect(rb"\r\n\+CMT: ,(\d+)\r\n([0-9A-F]+)\r\n", timeout)
        smsc, tpdu = pdu.split_smsc(pdu.from_hex(m.group(2).decode()))
        check(int(m.group(1)) == len(tpdu), "+CMT length %s = TPDU octets" % m.group(1).decode())
        return smsc, pdu.decode_deliver(tpdu)

    def close(self):
        os.close(self.fd)


def stop_proc(proc, timeout=5.0):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def read_json_line(proc, timeout=WAIT):
    """First stdout line of `proc` as JSON, waiting at most `timeout`."""
    deadline, buf = time.monotonic() + timeout, b""
    fd = proc.stdout.fileno()
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise Failure("modem_sim printed no ready line (exit %s): %r" % (proc.poll(), buf))
        if select.select([fd], [], [], min(left, 0.5))[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise Failure("modem_sim closed stdout: %r" % buf)
            buf += chunk
    return json.loads(buf.split(b"\n")[0])


def file_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def start_rig(work, procs, modem_smsc, extra_fake_smsc):
    """Callback, Kannel (started first, as sms_interop.py does) and modem_sim."""
    cb = procs["callback"] = Callback()
    k = procs["kannel"] = Kannel(os.path.join(work, "kannel"), cb.url,
                                 extra_fake_smsc=extra_fake_smsc, modem_smsc=modem_smsc,
                                 log=lambda m: print("     kannel: " + m, flush=True))
    check(True, "Kannel up: sendsms %s, %s SMSC port %d%s"
          % (k.sendsms_url, modem_smsc, k.smsc_port,
             ", fake2 %d" % k.fake_smsc2_port if extra_fake_smsc else ""))

    sim_log = os.path.join(work, "modem_sim.log")
    t0 = time.monotonic()
    sim = procs["sim"] = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "modem_sim.py")] + k.modem_sim_args() +
        ["--modem", MODEM, "--log", sim_log],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=open(os.path.join(work, "modem_sim.stderr"), "wb"))
    ready = read_json_line(sim)
    path = ready["modems"][MODEM]
    check(os.path.exists(path), "modem_sim ready after %.2f s: %s on %s"
          % (time.monotonic() - t0, MODEM, path))
    k.wait_smsc_online("fake")
    check(True, "bearerbox shows SMSC fake online")
    return cb, k, sim, sim_log, path


def fakesmsc_check(work, procs, k, cb):
    """Kannel's fakesmsc injects a UDH MO through fake2; it is the callback's next hit."""
    n = len(cb.hits)
    inj_udh, inj_data = pdu.concat_udh(0x77, 1, 1), b"\x00\n \r+%&=\x1a\xff fakesmsc"
    line = "%s %s udh %s %s" % (INJECTOR, MODEM, urlenc(inj_udh), urlenc(inj_data))
    fk = procs["fakesmsc"] = subprocess.Popen(
        [FAKESMSC, "-H", "127.0.0.1", "-r", str(k.fake_smsc2_port), "-m", "1", line],
        stdin=subprocess.DEVNULL, stdout=open(os.path.join(work, "fakesmsc.stdout"), "wb"),
        stderr=open(os.path.join(work, "fakesmsc.stderr"), "wb"), start_new_session=True)
    h = cb.wait(n + 1)[n]
    check(h["smsc"] == "fake2" and h["from"] == INJECTOR and h["to"] == MODEM,
          "fakesmsc MO reached the callback via fake2 from %s to %s" % (h["from"], h["to"]))
    check(h["udh"] == inj_udh and h["data"] == inj_data, "fakesmsc MO udh and data intact")
    stop_proc(fk)   # fakesmsc stays connected after its message; it ends on SIGTERM


def run_fake(work, procs):
    cb, k, sim, sim_log, path = start_rig(work, procs, "fake", True)

    # --- AT dialect
    p = procs["pty"] = Pty(path)
    r = p.at("AT")
    check(r == b"AT\r\r\nOK\r\n", "echo on by default: %r" % r)
    r = p.at("ATE0")
    check(r == b"ATE0\r\r\nOK\r\n", "ATE0 echoed then OK")
    r = p.at("AT")
    check(r == b"\r\nOK\r\n", "no echo after ATE0")
    check(p.at("AT+CMEE=1") == b"\r\nOK\r\n", "AT+CMEE=1 OK")
    check(p.at("AT+CMGF=1") == b"\r\n+CMS ERROR: 303\r\n", "AT+CMGF=1 (text mode) refused")
    check(p.at("AT+CMGF=0") == b"\r\nOK\r\n", "AT+CMGF=0 OK")
    check(p.at("AT+CSMS=0") == b"\r\nOK\r\n", "AT+CSMS=0 OK")
    r = p.at("AT+CNUM")
    check(r == b'\r\n+CNUM: ,"%s",145\r\n\r\nOK\r\n' % MODEM.encode(), "AT+CNUM: %r" % r)
    check(p.at("AT+XYZZY") == b"\r\nERROR\r\n", "unknown command gives ERROR")

    # --- MT before AT+CNMI is held, then delivered after it
    held = b"held\x00\xff"
    st, body = k.send_mt(PEER, MODEM, held)
    check(st == 202, "send_mt before AT+CNMI: %d %s" % (st, body.strip()))
    wait_for(lambda: "MT held until AT+CNMI" in file_text(sim_log), "modem_sim to hold the MT")
    check(p.at("AT+CNMI=2,2,0,0,0") == b"\r\nOK\r\n", "AT+CNMI=2,2,0,0,0 OK")
    smsc, d = p.cmt()
    check(smsc == SIM_SMSC and d.oa == PEER and d.data == held and not d.udh and d.dcs == 0x04,
          "held MT delivered after AT+CNMI: oa %s data %s" % (d.oa, d.data.hex()))

    # --- malformed MO PDUs reach nobody
    good = pdu.encode_submit(pdu.Submit(da=PEER, data=b"x", mr=9))
    seven = pdu.encode_submit(pdu.Submit(da=PEER, data="hi", dcs=0x00, mr=9))
    ucs2 = pdu.encode_submit(pdu.Submit(da=PEER, data=b"\x00h", dcs=0x08, mr=9))
    for name, hexpdu, n in [
            ("TPDU length differs from AT+CMGS", "00" + good.hex(), len(good) + 1),
            ("UDL larger than the data", "00" + good[:-2].hex() + "05" + "78", len(good)),
            ("odd hex", "00" + good.hex() + "0", len(good)),
            ("not hex", "00" + good.hex()[:-2] + "ZZ", len(good)),
            ("SMS-DELIVER instead of SUBMIT", "00" + pdu.encode_deliver(
                pdu.Deliver(oa=PEER, data=b"x")).hex(), len(pdu.encode_deliver(
                    pdu.Deliver(oa=PEER, data=b"x")))),
            ("7-bit DCS", "00" + seven.hex(), len(seven)),
            ("UCS2 DCS", "00" + ucs2.hex(), len(ucs2))]:
        r = p.cmgs(hexpdu, n)
        check(r == b"\r\n+CMS ERROR: 304\r\n", "malformed MO (%s) -> +CMS ERROR: 304" % name)
    r = p.cmgs("00" + good.hex(), len(good), tail=b"\x1b")
    check(r == b"\r\nOK\r\n", "ESC aborts AT+CMGS with OK")

    # --- MO: all 256 octet values in two concatenated 8-bit parts
    payload = bytes(range(256))
    first, second = payload[:128], payload[128:]
    parts = [(pdu.concat_udh(0x5A, 2, 1), first), (pdu.concat_udh(0x5A, 2, 2), second)]
    submits = [
        # part 1: default SMSC (00), relative validity period
        (pdu.encode_smsc(None), pdu.Submit(da=PEER, data=first, udh=parts[0][0], mr=0x21,
                                           vpf=pdu.VPF_RELATIVE, vp=b"\xa7")),
        # part 2: an explicit SMSC address, absolute validity period, PID 0x00
        (pdu.encode_smsc("+15550100000"),
         pdu.Submit(da=PEER, data=second, udh=parts[1][0], mr=0x22, vpf=pdu.VPF_ABSOLUTE,
                    vp=pdu.encode_scts())),
    ]
    for smsc_field, s in submits:
        tpdu = pdu.encode_submit(s)
        r = p.cmgs((smsc_field + tpdu).hex().upper(), len(tpdu))
        check(r == b"\r\n+CMGS: %d\r\n\r\nOK\r\n" % s.mr,
              "AT+CMGS=%d (%d data octets, UDH %s) -> +CMGS: %d"
              % (len(tpdu), len(s.data), s.udh.hex(), s.mr))
    hits = cb.wait(2)
    by_seq = {}
    for h in hits:
        info = pdu.concat_info(h["udh"])
        check(info is not None and info[:2] == (0x5A, 2),
              "callback part with concat UDH %s (not combined by bearerbox)" % h["udh"].hex())
        by_seq[info[2]] = h
    for seq, (udh, data) in enumerate(parts, 1):
        h = by_seq.get(seq)
        check(h is not None, "callback got part %d" % seq)
        check(h["from"] == MODEM and h["to"] == PEER, "part %d from %s to %s" % (
            seq, h["from"], h["to"]))
        check(h["udh"] == udh, "part %d udh intact" % seq)
        check(h["data"] == data, "part %d data intact (%d octets)" % (seq, len(data)))
        check(h["coding"] == "1" and h["smsc"] == "fake", "part %d coding=1 smsc=fake" % seq)
    check(by_seq[1]["data"] + by_seq[2]["data"] == payload, "MO reassembles all 256 octets")
    time.sleep(0.5)
    check(len(cb.hits) == 2, "no callback for the refused or aborted PDUs")

    # --- MT: all 256 octet values with UDH, and one without
    mt_parts = [(pdu.concat_udh(0x33, 2, 1), payload[:128]),
                (pdu.concat_udh(0x33, 2, 2), payload[128:])]
    for udh, data in mt_parts:
        st, body = k.send_mt(PEER, MODEM, data, udh)
        check(st == 202, "send_mt %d octets + UDH %s: %d %s" % (len(data), udh.hex(), st,
                                                               body.strip()))
    got = {}
    for _ in mt_parts:
        smsc, d = p.cmt()
        check(d.oa == PEER and d.oa_toa == 0x91, "+CMT from %s (type 0x91)" % d.oa)
        info = pdu.concat_info(d.udh)
        check(info is not None and info[:2] == (0x33, 2) and d.dcs == 0x04,
              "+CMT UDH %s, DCS 0x04" % d.udh.hex())
        udh, data = mt_parts[info[2] - 1]
        check(d.udh == udh and d.data == data, "+CMT part %d UDH and data intact (%d octets)"
              % (info[2], len(d.data)))
        got[info[2]] = d.data
    check(got.get(1, b"") + got.get(2, b"") == payload, "MT carried all 256 octet values")
    full = bytes(range(255, 115, -1))      # 140 octets, the most one SMS holds
    st, body = k.send_mt(PEER, MODEM, full)
    check(st == 202, "send_mt 140 octets without UDH: %d" % st)
    smsc, d = p.cmt()
    check(d.data == full and not d.udh, "+CMT of 140 octets without UDH intact")
    st, body = k.send_mt(PEER, "+15550009", b"nobody")
    check(st == 202, "send_mt to an MSISDN the sim lacks: %d" % st)
    wait_for(lambda: "MT for unknown receiver +15550009 dropped" in file_text(sim_log),
             "modem_sim to drop the MT for +15550009")
    check(True, "modem_sim dropped it")

    fakesmsc_check(work, procs, k, cb)

    # --- nothing leaked to the pty, no Kannel panic
    check_no_stray_output(p)
    logs = "".join(file_text(os.path.join(work, "kannel", n))
                   for n in ("bearerbox.log", "smsbox.log"))
    check("PANIC" not in logs, "no PANIC in the Kannel logs")
    check(sim.poll() is None, "modem_sim still running")


def cmt_after(p, t0):
    """The next +CMT and how long after t0 it came."""
    smsc, d = p.cmt()
    return d, time.monotonic() - t0


def run_smpp(work, procs):
    cb, k, sim, sim_log, path = start_rig(work, procs, "smpp", True)
    status = k.status() or ""
    check(re.search(r"fake\[fake\]\s+SMPP:127\.0\.0\.1:%d" % k.smpp_port, status),
          "status page: fake[fake] is the SMPP connection to modem_sim")
    text = file_text(sim_log)
    check(text.count("bound as trx") == 1 and "bind_receiver" not in text
          and "bind_transmitter" not in text,
          "transceiver-mode: one connection, bind_transceiver")
    p = procs["pty"] = Pty(path)
    for cmd in ("ATE0", "AT+CMGF=0", "AT+CNMI=2,2,0,0,0"):
        p.at(cmd)
    check(p.at("AT") == b"\r\nOK\r\n", "modem set up (ATE0, PDU mode, +CMT delivery)")
    payload = bytes(range(256))
    secured = pdu.build_udh([(0x70, b"")])     # IEI 70: command packet, length 0

    # (a) MT with pid=127&mclass=2&coding=1 and a UDH: PID 7F, DCS F6, UDH and octets intact.
    room = pdu.MAX_UD_OCTETS - len(secured)
    chunks = [payload[:room], payload[room:]]
    got = b""
    for chunk in chunks:
        t0 = time.monotonic()
        st, body = k.send_mt(PEER, MODEM, chunk, secured, pid=127, mclass=2)
        check(st == 202, "send_mt pid=127 mclass=2, UDH 027000 + %d octets: %d %s"
              % (len(chunk), st, body.strip()))
        d, dt = cmt_after(p, t0)
        check(d.pid == 0x7F and d.dcs == 0xF6, "+CMT %.0f ms after send-sms was called: "
              "TP-PID 0x%02X TP-DCS 0x%02X" % (dt * 1000, d.pid, d.dcs))
        check(d.oa == PEER and d.oa_toa == 0x91, "+CMT from %s (type 0x%02X)" % (d.oa, d.oa_toa))
        check(d.udh == secured and d.data == chunk, "+CMT UDHI, UDH %s and %d octets intact"
              % (d.udh.hex(), len(d.data)))
        got += d.data
    check(got == payload, "MT carried all 256 octet values with PID 0x7F / DCS 0xF6")
    text = file_text(sim_log)
    check("esm_class=0x43 pid=0x7F dcs=0xF6" in text,
          "Kannel's submit_sm: esm_class 0x43 (UDHI + store and forward), protocol_id 0x7F, "
          "data_coding 0xF6")
    check("KANNEL< %s %s submit_sm ton/npi 1/1 -> 1/1" % (PEER, MODEM) in text,
          "Kannel's submit_sm: '+' stripped, TON 1 NPI 1 both ways; modem_sim puts '+' back")

    # (b) coding=1 without pid or mclass: PID 0, DCS 0x04.
    full = bytes(range(255, 115, -1))
    st, body = k.send_mt(PEER, MODEM, full)
    check(st == 202, "send_mt coding=1, no pid/mclass, 140 octets: %d" % st)
    d = p.cmt()[1]
    check(d.pid == 0 and d.dcs == 0x04 and pdu.dcs_alphabet(d.dcs) == "8bit",
          "+CMT TP-PID 0x%02X TP-DCS 0x%02X (8-bit, no class)" % (d.pid, d.dcs))
    check(not d.udh and d.data == full, "+CMT 140 octets without UDH intact")

    # (c) MO SUBMIT PID 7F DCS F6 + UDH: from/to/udh/data intact; what dcs and pid arrive.
    mo = [(secured, payload[:room]), (secured, payload[room:])]
    for n, (udh, data) in enumerate(mo):
        sub = pdu.Submit(da=PEER, data=data, udh=udh, pid=0x7F, dcs=0xF6, mr=0x40 + n)
        tpdu = pdu.encode_submit(sub)
        t0 = time.monotonic()
        r = p.cmgs((pdu.encode_smsc(None) + tpdu).hex().upper(), len(tpdu))
        check(r == b"\r\n+CMGS: %d\r\n\r\nOK\r\n" % sub.mr,
              "AT+CMGS PID 0x7F DCS 0xF6 UDH %s + %d octets -> +CMGS: %d after %.0f ms "
              "(Kannel's deliver_sm_resp)" % (udh.hex(), len(data), sub.mr,
                                              (time.monotonic() - t0) * 1000))
        h = cb.wait(n + 1)[n]
        check(h["from"] == MODEM and h["to"] == PEER, "callback %.0f ms after AT+CMGS: from %s "
              "to %s" % ((time.monotonic() - t0) * 1000, h["from"], h["to"]))
        check(h["udh"] == udh and h["data"] == data, "callback udh %s and %d octets intact"
              % (h["udh"].hex(), len(h["data"])))
        check(h["coding"] == "1" and h["dcs"] == "246" and h["smsc"] == "fake",
              "callback coding=1 dcs=%s (%%O is the DCS in decimal: 0xF6) smsc=fake"
              % h["dcs"])
        check(h.get("pid") == "127", "callback meta=%s -> TP-PID %s"
              % (h.get("meta"), h.get("pid")))
    check(cb.hits[0]["data"] + cb.hits[1]["data"] == payload, "MO carried all 256 octet values")
    text = file_text(sim_log)
    check("deliver_sm ton/npi 1/1 -> 1/1 esm_class=0x40 pid=0x7F dcs=0xF6" in text,
          "modem_sim's deliver_sm: TON 1 NPI 1 digits, esm_class 0x40, protocol_id 0x7F, "
          "data_coding 0xF6")
    sub = pdu.Submit(da=PEER, data=b"plain\x00\xff", mr=0x50)
    tpdu = pdu.encode_submit(sub)
    r = p.cmgs("00" + tpdu.hex(), len(tpdu))
    check(r.startswith(b"\r\n+CMGS: 80\r\n"), "AT+CMGS PID 0 DCS 0x04 without UDH")
    h = cb.wait(3)[2]
    check(h["data"] == sub.data and h["udh"] == b"" and h["dcs"] == "04" and h["pid"] == "0",
          "callback dcs=%s pid=%s udh empty" % (h["dcs"], h["pid"]))
    # Concatenated MO parts reach the callback one by one (sms-combine-concatenated-mo).
    for seq in (1, 2):
        sub = pdu.Submit(da=PEER, data=b"part%d" % seq, udh=pdu.concat_udh(0x66, 2, seq),
                         pid=0x7F, dcs=0xF6, mr=0x50 + seq)
        tpdu = pdu.encode_submit(sub)
        r = p.cmgs("00" + tpdu.hex(), len(tpdu))
        check(r.startswith(b"\r\n+CMGS: %d\r\n" % sub.mr), "AT+CMGS concat part %d" % seq)
    hits = cb.wait(5)[3:5]
    check(sorted((h["udh"], h["data"]) for h in hits) ==
          [(pdu.concat_udh(0x66, 2, i), b"part%d" % i) for i in (1, 2)],
          "both MO parts reached the callback apart, each with its concat UDH")
    fakesmsc_check(work, procs, k, cb)
    stop_proc(procs.pop("fakesmsc"))

    # (d) concatenated MT, one send-sms per part: separate SMS, each with its own UDH.
    parts = pdu.split_concat(payload + payload[:100], 0x44)
    check(len(parts) == 3, "3 parts of 356 octets with concat UDH (ref 0x44)")
    for udh, data in parts:
        st, body = k.send_mt(PEER, MODEM, data, udh, pid=127, mclass=2)
        check(st == 202, "send_mt part %d: %d" % (pdu.concat_info(udh)[2], st))
    seen = {}
    for _ in parts:
        d = p.cmt()[1]
        info = pdu.concat_info(d.udh)
        check(info is not None and info[:2] == (0x44, 3) and d.pid == 0x7F and d.dcs == 0xF6,
              "+CMT part %s: UDH %s PID 0x7F DCS 0xF6" % (info and info[2], d.udh.hex()))
        seen[info[2]] = (d.udh, d.data)
    check([seen.get(i) for i in (1, 2, 3)] == parts, "all 3 parts arrived apart, UDH and data "
          "as sent (Kannel neither combined nor re-split them)")
    # Over 140 octets (UDH included) Kannel splits even with concatenation=false.
    st, body = k.send_mt(PEER, MODEM, bytes(200), secured, pid=127, mclass=2)
    check(st == 202, "send_mt of UDH + 200 octets: %d" % st)
    a = p.cmt()[1]
    b = p.cmt()[1]
    check(a.udh == secured and b.udh == secured and len(a.data) + len(b.data) == 200
          and a.pid == b.pid == 0x7F and a.dcs == b.dcs == 0xF6,
          "Kannel cut it in 2 SMS (%d + %d octets), each with the caller's UDH, PID and DCS"
          % (len(a.data), len(b.data)))

    # The SMPP server itself, as a raw ESME on a second connection.
    raw_smpp_checks(k, p, sim_log)

    # An MT for an MSISDN the sim lacks is accepted and dropped.
    st, body = k.send_mt(PEER, "+15550009", b"nobody")
    check(st == 202, "send_mt to an MSISDN the sim lacks: %d" % st)
    wait_for(lambda: "MT for unknown receiver +15550009 dropped" in file_text(sim_log),
             "modem_sim to drop the MT for +15550009")
    check(True, "modem_sim dropped it")

    logs = "".join(file_text(os.path.join(work, "kannel", n))
                   for n in ("bearerbox.log", "smsbox.log"))
    check("PANIC" not in logs, "no PANIC in the Kannel logs")
    check("Unknown TLV" not in logs, "bearerbox knew the tp_pid TLV")

    # Kannel gone: bearerbox unbinds; an MO then finds no network.
    t0 = time.monotonic()
    k.stop()
    check(time.monotonic() - t0 < 3.0, "Kannel stopped in %.2f s (unbind answered)"
          % (time.monotonic() - t0))
    wait_for(lambda: "closed (unbound)" in file_text(sim_log) or
             "closed (EOF)" in file_text(sim_log), "modem_sim to see Kannel go")
    r = p.cmgs("00" + tpdu.hex(), len(tpdu))
    check(r == b"\r\n+CMS ERROR: 331\r\n", "AT+CMGS without Kannel bound -> +CMS ERROR: 331")
    check_no_stray_output(p)
    check(sim.poll() is None, "modem_sim still running")


def raw_smpp_checks(k, p, sim_log):
    """generic_nack, bind checks, enquire_link, submit_sm from a transmitter, unbind."""
    sock = socket.create_connection(("127.0.0.1", k.smpp_port), timeout=5)
    try:
        def call(command_id, body=b"", seq=7):
            sock.sendall(smpp.encode_pdu(command_id, 0, seq, body))
            return smpp.recv_pdu(sock, 5.0)
        r = call(0x00000444)
        check(r[:3] == (smpp.GENERIC_NACK, smpp.ESME_RINVCMDID, 7),
              "raw ESME: unknown command_id -> generic_nack ESME_RINVCMDID")
        r = call(smpp.SUBMIT_SM, smpp.encode_sm(smpp.ShortMessage()), 8)
        check(r[:3] == (smpp.SUBMIT_SM | smpp.RESP, smpp.ESME_RINVBNDSTS, 8),
              "raw ESME: submit_sm before a bind -> ESME_RINVBNDSTS")
        r = call(smpp.ENQUIRE_LINK, seq=9)
        check(r[:3] == (smpp.ENQUIRE_LINK | smpp.RESP, 0, 9), "raw ESME: enquire_link answered")
        bind = smpp.Bind(system_id=k.smpp_system_id, password="wrong")
        r = call(smpp.BIND_TRANSMITTER, smpp.encode_bind(bind), 10)
        check(r[1] == smpp.ESME_RINVPASWD, "raw ESME: wrong password -> ESME_RINVPASWD")
        bind.password = k.smpp_password
        r = call(smpp.BIND_TRANSMITTER, smpp.encode_bind(bind), 11)
        check(r[:3] == (smpp.BIND_TRANSMITTER | smpp.RESP, 0, 11)
              and r[3].startswith(b"modem_sim\0"), "raw ESME: bind_transmitter OK, system_id "
              "modem_sim")
        r = call(smpp.BIND_TRANSMITTER, smpp.encode_bind(bind), 12)
        check(r[1] == smpp.ESME_RALYBND, "raw ESME: second bind -> ESME_RALYBND")
        # 7-bit: data_coding 0 carries GSM septets one per octet; TP-DCS 0x00 at the modem.
        sm = smpp.ShortMessage(source_addr="Tether", source_addr_ton=5,
                               destination_addr=MODEM[1:], dest_addr_ton=1, dest_addr_npi=1,
                               protocol_id=0x41, data_coding=0x00,
                               short_message=bytes(pdu.gsm7_encode("Hi @ 7bit")))
        r = call(smpp.SUBMIT_SM, smpp.encode_sm(sm), 13)
        check(r[:3] == (smpp.SUBMIT_SM | smpp.RESP, 0, 13) and len(r[3]) > 1,
              "raw ESME: submit_sm -> submit_sm_resp message_id %r" % r[3].rstrip(b"\0").decode())
        d = p.cmt()[1]
        check(d.oa == "Tether" and d.oa_toa == 0xD0 and d.dcs == 0x00 and d.pid == 0x41
              and d.data == "Hi @ 7bit", "+CMT from alphanumeric Tether, 7-bit %r, PID 0x41"
              % d.data)
        # message_payload instead of short_message, UDHI from esm_class.
        sm = smpp.ShortMessage(source_addr=PEER[1:], source_addr_ton=1, source_addr_npi=1,
                               destination_addr=MODEM[1:], dest_addr_ton=1, dest_addr_npi=1,
                               esm_class=0x40, protocol_id=0x7F, data_coding=0xF6,
                               tlvs=[(smpp.TAG_MESSAGE_PAYLOAD, b"\x02\x70\x00payload")])
        r = call(smpp.SUBMIT_SM, smpp.encode_sm(sm), 14)
        check(r[1] == 0, "raw ESME: submit_sm with message_payload accepted")
        d = p.cmt()[1]
        check(d.udh == b"\x02\x70\x00" and d.data == b"payload" and d.dcs == 0xF6,
              "+CMT from message_payload: UDH and data split by esm_class UDHI")
        sm.tlvs, sm.short_message = [], bytes(141)
        sm.esm_class = 0
        r = call(smpp.SUBMIT_SM, smpp.encode_sm(sm), 15)
        check(r[1] == smpp.ESME_RINVMSGLEN, "raw ESME: 141 octets -> ESME_RINVMSGLEN")
        r = call(smpp.UNBIND, seq=16)
        check(r[:3] == (smpp.UNBIND | smpp.RESP, 0, 16), "raw ESME: unbind -> unbind_resp")
        try:
            extra = smpp.recv_pdu(sock, 5.0)
            check(False, "raw ESME: connection still open after unbind: %r" % (extra,))
        except EOFError:
            check(True, "raw ESME: connection closed after unbind")
    finally:
        sock.close()
    sock = socket.create_connection(("127.0.0.1", k.smpp_port), timeout=5)
    try:
        sock.sendall(b"\x00\x00\x00\x08" + bytes(12))
        r = smpp.recv_pdu(sock, 5.0)
        check(r[:2] == (smpp.GENERIC_NACK, smpp.ESME_RINVCMDLEN),
              "raw ESME: command_length 8 -> generic_nack ESME_RINVCMDLEN")
        try:
            smpp.recv_pdu(sock, 5.0)
            check(False, "raw ESME: connection open after a bad command_length")
        except EOFError:
            check(True, "raw ESME: ... and the connection closed")
    finally:
        sock.close()
    check(k.smsc_online("fake"), "Kannel's own SMPP connection unaffected")


def run_mode(mode, work):
    """One mode's test in work/mode; every process it started is ended, also on failure.
    Returns True on success."""
    work = os.path.join(work, mode)
    os.makedirs(work)
    procs = {}
    ok = False
    t0 = time.monotonic()
    print("---- %s SMSC" % mode, flush=True)
    try:
        (run_fake if mode == "fake" else run_smpp)(work, procs)
        ok = True
    except Failure as e:
        print("FAIL " + str(e), flush=True)
    except SystemExit:
        print("FAIL interrupted; work dir kept: " + work, flush=True)
        raise
    except Exception as e:  # a bug or an unexpected Kannel answer: still clean up
        import traceback
        traceback.print_exc()
        print("FAIL %s: %s" % (type(e).__name__, e), flush=True)
    finally:
        if "pty" in procs:
            procs["pty"].close()
        stop_proc(procs.get("fakesmsc"))
        stop_proc(procs.get("sim"))
        if "kannel" in procs:
            procs["kannel"].stop()
        if "callback" in procs:
            procs["callback"].close()
    if ok:
        print("ok   %s SMSC mode in %.1f s" % (mode, time.monotonic() - t0), flush=True)
        return True
    for name in ("modem_sim.log", "modem_sim.stderr", "kannel/bearerbox.log",
                 "kannel/smsbox.log", "fakesmsc.stderr"):
        print("--- %s (tail)\n%s" % (name, file_text(os.path.join(work, name))[-3000:]))
    return False


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smsc", choices=("fake", "smpp", "both"), default="both",
                    help="which SMSC driver carries the modem path (default: both, in turn)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir on success too")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tether-sms-selftest-")
    # SIGTERM (e.g. ctest's timeout) unwinds through the finally blocks like an exception.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    t0 = time.monotonic()
    modes = ("fake", "smpp") if args.smsc == "both" else (args.smsc,)
    ok = all([run_mode(mode, work) for mode in modes])
    if ok:
        print("PASS sms selftest (%s) in %.1f s" % (", ".join(modes), time.monotonic() - t0),
              flush=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    print("work dir kept: " + work)
    return 1


if __name__ == "__main__":
    sys.exit(main())

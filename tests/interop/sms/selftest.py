#!/usr/bin/env python3
"""Self-test of the SMS interop rig (kannel.py, modem_sim.py, pdu.py) against the real Kannel:

  AT dialect   echo on until ATE0, result codes, AT+CMGF=1 refused, AT+CNUM
  MO           two AT+CMGS SMS-SUBMITs (8-bit, concat UDH 00 03 ref 2 seq) carrying all 256
               octet values reach the HTTP callback part by part with from/to/udh/data intact;
               malformed PDUs get +CMS ERROR: 304 and reach nobody
  MT           send_mt() with binary data and UDH arrives on the pty as +CMT whose PDU decodes
               to the same sender, UDH and octets (all 256 values); an MT sent before AT+CNMI is
               held and delivered after it; an MT for an unknown MSISDN is dropped
  fakesmsc     Kannel's own fakesmsc injects a UDH MO through the second fake SMSC (fake2)

Run from anywhere: /usr/bin/python3 tests/interop/sms/selftest.py [--keep]
Exits 0 on success; every wait is bounded; every process started is ended, also on failure."""
import http.server
import json
import os
import re
import select
import shutil
import signal
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
from kannel import FAKESMSC, Kannel, decode_callback, urlenc  # noqa: E402

MODEM = "+15550001"         # the simulated modem's MSISDN
PEER = "+15559999"          # the far end (an LwM2M server's SMS number, say)
INJECTOR = "+15557777"      # sender of the fakesmsc MO
SIM_SMSC = "+15550100000"   # modem_sim's default service-centre address
WAIT = 20.0                 # upper bound of every single wait


class Failure(Exception):
    pass


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


def run(work, procs):
    cb = procs["callback"] = Callback()
    k = procs["kannel"] = Kannel(os.path.join(work, "kannel"), cb.url, extra_fake_smsc=True,
                                 log=lambda m: print("     kannel: " + m, flush=True))
    check(True, "Kannel up: sendsms %s, fake SMSC %d, fake2 %d"
          % (k.sendsms_url, k.fake_smsc_port, k.fake_smsc2_port))

    sim_log = os.path.join(work, "modem_sim.log")
    sim = procs["sim"] = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "modem_sim.py"), "--smsc-port",
         str(k.fake_smsc_port), "--modem", MODEM, "--log", sim_log],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=open(os.path.join(work, "modem_sim.stderr"), "wb"))
    ready = read_json_line(sim)
    path = ready["modems"][MODEM]
    check(os.path.exists(path), "modem_sim ready: %s on %s" % (MODEM, path))
    k.wait_smsc_online("fake")
    check(True, "bearerbox shows SMSC fake online")

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

    # --- fakesmsc injects a UDH MO through fake2
    inj_udh, inj_data = pdu.concat_udh(0x77, 1, 1), b"\x00\n \r+%&=\x1a\xff fakesmsc"
    line = "%s %s udh %s %s" % (INJECTOR, MODEM, urlenc(inj_udh), urlenc(inj_data))
    fk = procs["fakesmsc"] = subprocess.Popen(
        [FAKESMSC, "-H", "127.0.0.1", "-r", str(k.fake_smsc2_port), "-m", "1", line],
        stdin=subprocess.DEVNULL, stdout=open(os.path.join(work, "fakesmsc.stdout"), "wb"),
        stderr=open(os.path.join(work, "fakesmsc.stderr"), "wb"), start_new_session=True)
    h = cb.wait(3)[2]
    check(h["smsc"] == "fake2" and h["from"] == INJECTOR and h["to"] == MODEM,
          "fakesmsc MO reached the callback via fake2 from %s to %s" % (h["from"], h["to"]))
    check(h["udh"] == inj_udh and h["data"] == inj_data, "fakesmsc MO udh and data intact")
    stop_proc(fk)   # fakesmsc stays connected after its message; it ends on SIGTERM

    # --- nothing leaked to the pty, no Kannel panic
    time.sleep(0.3)
    try:
        p.buf += os.read(p.fd, 4096)
    except BlockingIOError:
        pass
    check(p.buf == b"", "no stray output on the pty")
    logs = "".join(file_text(os.path.join(work, "kannel", n))
                   for n in ("bearerbox.log", "smsbox.log"))
    check("PANIC" not in logs, "no PANIC in the Kannel logs")
    check(sim.poll() is None, "modem_sim still running")


def main():
    keep = "--keep" in sys.argv[1:]
    work = tempfile.mkdtemp(prefix="tether-sms-selftest-")
    procs = {}
    # SIGTERM (e.g. ctest's timeout) unwinds through the finally below like an exception.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    ok = False
    t0 = time.monotonic()
    try:
        run(work, procs)
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
        print("PASS sms selftest in %.1f s" % (time.monotonic() - t0), flush=True)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    for name in ("modem_sim.log", "modem_sim.stderr", "kannel/bearerbox.log",
                 "kannel/smsbox.log", "fakesmsc.stderr"):
        print("--- %s (tail)\n%s" % (name, file_text(os.path.join(work, name))[-3000:]))
    print("work dir kept: " + work)
    return 1


if __name__ == "__main__":
    sys.exit(main())

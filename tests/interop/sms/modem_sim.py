#!/usr/bin/env python3
"""A cellular-modem simulator for the SMS binding: each --modem MSISDN gets a pseudo-terminal
speaking a minimal 3GPP TS 27.005 AT dialect in PDU mode, and all of them share one client
connection to a Kannel fake SMSC (the `fake` driver's line protocol), which plays the network.

Usage: modem_sim.py --smsc-port P --modem +15550001 [--modem ...] [--log FILE]

Once connected to Kannel it prints one JSON line, {"modems": {"+15550001": "/dev/pts/N"}},
and runs until SIGTERM/SIGINT. Single-threaded, select() based, every buffer bounded.

The fake SMSC line protocol (one message per line, fields separated by one space):
  SENDER RECEIVER data URLENC             8-bit data
  SENDER RECEIVER udh URLENC_UDH URLENC   UDH + data (what we send for MO; fakesmsc too)
  SENDER RECEIVER udh URLENC_UDH data URLENC    UDH + 8-bit data (what bearerbox writes MT)
  SENDER RECEIVER text PLAIN...           7-bit text, NOT url-encoded (rest of the line)
  SENDER RECEIVER ucs2 URLENC             UCS2
URLENC is percent-encoding with '+' for a space.

AT dialect (commands end with CR or LF; echo on until ATE0; V1 result codes):
  AT, ATZ, ATE0/ATE1, AT+CMEE=<n>, AT+CMGF=0 (1 -> +CMS ERROR: 303), AT+CMGF?,
  AT+CNMI=<mode>,<mt>[,...] (mt 2: deliver as +CMT; 0: hold; else 303), AT+CSMS=<n>,
  AT+CPMS..., AT+CNUM -> +CNUM: ,"<msisdn>",145|129
  AT+CMGS=<tpdu octets> -> "\\r\\n> ", hex PDU (SMSC field + SMS-SUBMIT), Ctrl-Z sends, ESC
     aborts (OK). Only 8-bit DCS is accepted; anything malformed -> +CMS ERROR: 304.
  MT: "\\r\\n+CMT: ,<tpdu octets>\\r\\n<SMSC field + SMS-DELIVER in hex>\\r\\n", held (up to
     100 messages) until AT+CNMI asks for +CMT delivery.
Everything else -> ERROR. The sim holds each pty's slave side open itself so the pty never
hangs up when a client closes and reopens it (modem state persists across opens, as it would
on a real modem)."""
import argparse
import collections
import errno
import fcntl
import json
import os
import select
import signal
import socket
import sys
import time
import tty

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pdu  # noqa: E402
from kannel import urldec, urlenc  # noqa: E402

CTRL_Z, ESC, BS = 0x1A, 0x1B, 0x08
MAX_CMD_LINE = 512            # octets of one AT command line
MAX_PDU_HEX = 2 * (12 + 164)  # SMSC field (max 12 octets) + longest SMS-SUBMIT, as hex
MAX_OUT = 256 * 1024          # unread output towards one pty before we drop it
MAX_PENDING = 100             # MT messages held until AT+CNMI
MAX_KANNEL_LINE = 64 * 1024

OK, ERROR = b"\r\nOK\r\n", b"\r\nERROR\r\n"


def cms_error(n):
    return b"\r\n+CMS ERROR: %d\r\n" % n


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1) if path else sys.stderr

    def __call__(self, msg):
        t = time.time()
        self.f.write("%s.%03d %s\n" % (time.strftime("%H:%M:%S", time.localtime(t)),
                                       int(t * 1000) % 1000, msg))
        self.f.flush()


class Modem:
    """One simulated modem: its pty and AT state."""

    def __init__(self, sim, msisdn):
        self.sim, self.msisdn, self.log = sim, msisdn, sim.log
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)      # no line discipline echo/CR mapping on the client's side
        fl = fcntl.fcntl(self.master, fcntl.F_GETFL)
        fcntl.fcntl(self.master, fcntl.F_SETFL, fl | os.O_NONBLOCK)
        self.path = os.ttyname(self.slave)
        self.out = bytearray()
        self.pending = collections.deque()
        self.reset()

    def reset(self):
        self.echo = True
        self.deliver = False        # AT+CNMI=..,2: unsolicited +CMT
        self.line = bytearray()
        self.prev = None                    # last command-mode octet, to fold CRLF
        self.pdu_len = None         # set while collecting the PDU of AT+CMGS
        self.pdu_hex = bytearray()
        self.pdu_bad = False

    # --- output
    def write(self, data):
        if len(self.out) + len(data) > MAX_OUT:
            self.log("%s: nobody reads the pty, dropping %d octets of output"
                     % (self.msisdn, len(self.out) + len(data)))
            self.out.clear()
            return
        self.out += data

    def flush(self):
        if not self.out:
            return
        try:
            n = os.write(self.master, self.out)
            del self.out[:n]
        except BlockingIOError:
            pass
        except OSError as e:
            self.log("%s: pty write failed: %s" % (self.msisdn, e))
            self.out.clear()

    # --- input
    def on_readable(self):
        try:
            data = os.read(self.master, 4096)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:        # EIO: no slave open; cannot happen while we hold it
                self.log("%s: pty read failed: %s" % (self.msisdn, e))
            return
        for b in data:
            if self.pdu_len is not None:
                self.pdu_octet(b)
            else:
                self.cmd_octet(b)

    def cmd_octet(self, b):
        prev, self.prev = self.prev, b
        if b == 0x0A and prev == 0x0D:
            return                          # the LF of a CRLF: the CR already ended the line
        if self.echo:
            self.write(bytes([b]))
        if b in (0x0D, 0x0A):
            line = self.line.decode("latin-1").strip()
            self.line.clear()
            if line:                        # a bare LF after CR is no command
                self.command(line)
        elif b == BS:
            del self.line[-1:]
        elif len(self.line) >= MAX_CMD_LINE:
            self.log("%s: command line over %d octets, discarded" % (self.msisdn, MAX_CMD_LINE))
            self.line.clear()
            self.write(ERROR)
        else:
            self.line.append(b)

    def pdu_octet(self, b):
        if b == ESC:
            self.log("%s: AT+CMGS aborted by ESC" % self.msisdn)
            self.pdu_len, self.pdu_hex, self.pdu_bad = None, bytearray(), False
            self.write(OK)
        elif b == CTRL_Z:
            hex_text, length, bad = self.pdu_hex.decode("latin-1"), self.pdu_len, self.pdu_bad
            self.pdu_len, self.pdu_hex, self.pdu_bad = None, bytearray(), False
            self.write(self.submit(hex_text, length, bad))
        elif b in b" \r\n\t":
            pass                            # tolerated between hex digits
        else:
            if self.echo:
                self.write(bytes([b]))
            if b not in b"0123456789abcdefABCDEF" or len(self.pdu_hex) >= MAX_PDU_HEX:
                self.pdu_bad = True
            else:
                self.pdu_hex.append(b)

    # --- AT commands
    def command(self, line):
        self.log("%s: AT< %r" % (self.msisdn, line))
        resp = self.dispatch(line.upper())
        self.log("%s: AT> %r" % (self.msisdn, resp))
        self.write(resp)
        if self.deliver:
            self.flush_pending()

    def dispatch(self, cmd):
        if not cmd.startswith("AT"):
            return ERROR
        body = cmd[2:].strip()
        if body == "":
            return OK
        if body in ("E0", "E1", "E"):
            self.echo = body == "E1"
            return OK
        if body == "Z":
            self.reset()
            return OK
        if body.startswith("+CMEE="):
            return OK if body[6:] in ("0", "1", "2") else ERROR
        if body == "+CMGF=0":
            return OK
        if body == "+CMGF=1":
            return cms_error(303)           # text mode: operation not supported
        if body == "+CMGF?":
            return b"\r\n+CMGF: 0\r\n" + OK
        if body == "+CMGF=?":
            return b"\r\n+CMGF: (0)\r\n" + OK
        if body.startswith("+CNMI="):
            return self.cnmi(body[6:])
        if body.startswith("+CSMS=") or body.startswith("+CPMS"):
            return OK
        if body == "+CNUM":
            toa = 145 if self.msisdn.startswith("+") else 129
            return b'\r\n+CNUM: ,"%s",%d\r\n' % (self.msisdn.encode(), toa) + OK
        if body.startswith("+CMGS="):
            try:
                n = int(body[6:])
            except ValueError:
                return cms_error(304)
            if not 1 <= n <= 164:
                return cms_error(304)
            self.pdu_len = n
            return b"\r\n> "
        return ERROR

    def cnmi(self, args):
        try:
            params = [int(p) if p else 0 for p in args.split(",")]
        except ValueError:
            return ERROR
        mt = params[1] if len(params) > 1 else 0
        if mt == 2:
            self.deliver = True
        elif mt == 0:
            self.deliver = False
        else:
            return cms_error(303)           # +CMTI (store in memory) is not simulated
        return OK

    def submit(self, hex_text, length, bad):
        """Validates the AT+CMGS PDU and hands it to Kannel; returns the result code."""
        self.log("%s: SMS MO pdu %s (AT+CMGS=%d)" % (self.msisdn, hex_text, length))
        if bad:
            self.log("%s: PDU has non-hex characters or is too long" % self.msisdn)
            return cms_error(304)
        try:
            smsc, tpdu = pdu.split_smsc(pdu.from_hex(hex_text))
            if len(tpdu) != length:
                raise pdu.PduError("TPDU is %d octets, AT+CMGS said %d" % (len(tpdu), length))
            s = pdu.decode_submit(tpdu)
            if pdu.dcs_alphabet(s.dcs) != "8bit":
                raise pdu.PduError("DCS 0x%02X is not 8-bit data" % s.dcs)
            if not s.da:
                raise pdu.PduError("empty destination address")
        except pdu.PduError as e:
            self.log("%s: SMS MO rejected: %s" % (self.msisdn, e))
            return cms_error(304)
        self.log("%s: SMS MO mr=%d da=%s pid=0x%02X dcs=0x%02X vpf=%d udh=%s data=%s" % (
            self.msisdn, s.mr, s.da, s.pid, s.dcs, s.vpf, s.udh.hex(), s.data.hex()))
        if s.udh:
            line = "%s %s udh %s %s" % (self.msisdn, s.da, urlenc(s.udh), urlenc(s.data))
        else:
            line = "%s %s data %s" % (self.msisdn, s.da, urlenc(s.data))
        if not self.sim.send_to_kannel(line):
            return cms_error(331)           # no network service
        return b"\r\n+CMGS: %d\r\n" % s.mr + OK

    # --- MT
    def mt(self, msg):
        if self.deliver:
            self.write_cmt(msg)
            return
        if len(self.pending) >= MAX_PENDING:
            self.log("%s: MT queue full, dropping the oldest" % self.msisdn)
            self.pending.popleft()
        self.pending.append(msg)
        self.log("%s: MT held until AT+CNMI (%d queued)" % (self.msisdn, len(self.pending)))

    def flush_pending(self):
        while self.pending:
            self.write_cmt(self.pending.popleft())

    def write_cmt(self, d):
        try:
            tpdu = pdu.encode_deliver(d)
        except pdu.PduError as e:
            self.log("%s: MT from %s cannot be encoded, dropped: %s" % (self.msisdn, d.oa, e))
            return
        hex_pdu = (pdu.encode_smsc(self.sim.smsc_address) + tpdu).hex().upper()
        self.log("%s: SMS MT pdu %s" % (self.msisdn, hex_pdu))
        self.write(b"\r\n+CMT: ,%d\r\n%s\r\n" % (len(tpdu), hex_pdu.encode()))

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def parse_kannel_line(line):
    """A fake-SMSC line -> (sender, receiver, pdu.Deliver) or raises ValueError."""
    parts = line.split(" ", 3)
    if len(parts) != 4:
        raise ValueError("fewer than 4 fields")
    sender, receiver, kind, rest = parts
    udh, dcs = b"", 0x04
    if kind == "udh":
        sub = rest.split(" ", 2)
        udh = urldec(sub[0])
        if len(sub) == 2:                           # udh UDH DATA (fakesmsc style)
            data = urldec(sub[1])
        elif len(sub) == 3 and sub[1] in ("data", "ucs2"):
            data, dcs = urldec(sub[2]), 0x04 if sub[1] == "data" else 0x08
        elif len(sub) == 3 and sub[1] == "text":
            kind, data = "text", sub[2]
        else:
            raise ValueError("unrecognised udh line")
    elif kind == "data":
        data = urldec(rest)
    elif kind == "ucs2":
        data, dcs = urldec(rest), 0x08
    elif kind == "text":
        data = rest
    else:
        raise ValueError("unknown type %r" % kind)
    if kind == "text":
        # Plain text: GSM 7-bit when the basic table has every character, else 8-bit octets.
        try:
            pdu.gsm7_encode(data)
            dcs = 0x00
        except pdu.PduError:
            data = data.encode("latin-1")
    return sender, receiver, pdu.Deliver(oa=sender, data=data, udh=udh, dcs=dcs)


class Sim:
    def __init__(self, args):
        self.log = Log(args.log)
        self.host, self.port = args.smsc_host, args.smsc_port
        self.smsc_address = args.smsc_address
        self.sock = None
        self.rbuf = bytearray()
        self.next_reconnect = 0.0
        self.running = True
        self.modems = {}
        for m in args.modem:
            if m in self.modems:
                raise SystemExit("duplicate --modem %s" % m)
            self.modems[m] = Modem(self, m)
            self.log("modem %s on %s" % (m, self.modems[m].path))

    # --- Kannel link
    def connect(self, timeout):
        deadline = time.monotonic() + timeout
        while self.running:
            try:
                self.sock = socket.create_connection((self.host, self.port), timeout=1.0)
                self.sock.settimeout(5.0)   # bounds sendall if bearerbox stalls
                self.log("connected to Kannel fake SMSC %s:%d" % (self.host, self.port))
                return True
            except OSError as e:
                if time.monotonic() >= deadline:
                    self.log("cannot connect to %s:%d: %s" % (self.host, self.port, e))
                    return False
                time.sleep(0.2)
        return False

    def drop_link(self, why):
        self.log("Kannel link lost (%s); reconnecting" % why)
        try:
            self.sock.close()
        except OSError:
            pass
        self.sock, self.rbuf = None, bytearray()
        self.next_reconnect = time.monotonic() + 1.0

    def send_to_kannel(self, line):
        if self.sock is None:
            self.log("no Kannel link, MO not sent: %s" % line)
            return False
        try:
            self.sock.sendall(line.encode("latin-1") + b"\n")
        except OSError as e:
            self.drop_link(e)
            return False
        self.log("KANNEL> %s" % line)
        return True

    def on_kannel_readable(self):
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, socket.timeout):
            return
        except OSError as e:
            self.drop_link(e)
            return
        if not data:
            self.drop_link("EOF")
            return
        self.rbuf += data
        while b"\n" in self.rbuf:
            raw, _, rest = self.rbuf.partition(b"\n")
            self.rbuf = bytearray(rest)
            self.on_kannel_line(raw.rstrip(b"\r").decode("latin-1"))
        if len(self.rbuf) > MAX_KANNEL_LINE:
            self.log("Kannel line over %d octets, discarded" % MAX_KANNEL_LINE)
            self.rbuf.clear()

    def on_kannel_line(self, line):
        self.log("KANNEL< %s" % line)
        if not line.strip():
            return
        try:
            sender, receiver, msg = parse_kannel_line(line)
        except (ValueError, pdu.PduError) as e:
            self.log("bad line from Kannel ignored: %s" % e)
            return
        modem = self.modems.get(receiver)
        if modem is None:
            self.log("MT for unknown receiver %s dropped" % receiver)
            return
        modem.mt(msg)

    # --- main loop
    def run(self):
        while self.running:
            if self.sock is None and time.monotonic() >= self.next_reconnect:
                if not self.connect(0.0):
                    self.next_reconnect = time.monotonic() + 1.0
            rlist = [m.master for m in self.modems.values()]
            wlist = [m.master for m in self.modems.values() if m.out]
            if self.sock is not None:
                rlist.append(self.sock)
            try:
                r, w, _ = select.select(rlist, wlist, [], 0.2)
            except InterruptedError:
                continue
            for m in self.modems.values():
                if m.master in r:
                    m.on_readable()
            if self.sock is not None and self.sock in r:
                self.on_kannel_readable()
            for m in self.modems.values():
                m.flush()

    def close(self):
        for m in self.modems.values():
            m.close()
        if self.sock is not None:
            self.sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smsc-port", type=int, required=True, help="Kannel fake SMSC port")
    ap.add_argument("--smsc-host", default="127.0.0.1")
    ap.add_argument("--modem", action="append", required=True, help="an MSISDN, repeatable")
    ap.add_argument("--log", help="log file (default stderr)")
    ap.add_argument("--smsc-address", default="+15550100000",
                    help="service centre address put in front of each +CMT PDU")
    ap.add_argument("--connect-timeout", type=float, default=20.0)
    args = ap.parse_args()

    sim = Sim(args)

    def on_signal(signum, frame):
        sim.running = False
        sim.log("signal %d, stopping" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if not sim.connect(args.connect_timeout):
            print(json.dumps({"error": "cannot connect to %s:%d" % (args.smsc_host,
                                                                     args.smsc_port)}),
                  flush=True)
            return 1
        print(json.dumps({"modems": {m: sim.modems[m].path for m in args.modem}}), flush=True)
        sim.run()
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

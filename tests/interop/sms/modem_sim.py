#!/usr/bin/env python3
"""A cellular-modem simulator for the SMS binding: each --modem MSISDN gets a pseudo-terminal
speaking a minimal 3GPP TS 27.005 AT dialect in PDU mode, and all of them share one link to
Kannel, which carries the network's side: either a client connection to a Kannel fake SMSC
(the `fake` driver's line protocol: no TP-PID, no DCS), or, with --smpp-port, an SMPP 3.4
SMSC that bearerbox's `smpp` driver connects to (smpp.py; TP-PID and TP-DCS go through).

Usage: modem_sim.py --smsc-port P --modem +15550001 [--modem ...] [--log FILE]
       modem_sim.py --smpp-port P [--smpp-system-id ID --smpp-password PW]
                    [--smpp-ready bound|listening] --modem +15550001 [--log FILE]
(Kannel.modem_sim_args() in kannel.py gives either first half.)

Once the link is up it prints one JSON line, {"modems": {"+15550001": "/dev/pts/N"}}, and
runs until SIGTERM/SIGINT. Single-threaded, select() based, every buffer bounded. The link is
up: fake, once connected (retried for --connect-timeout seconds); SMPP, once a connection has
bound as transceiver (or as transmitter and receiver), waited for --connect-timeout seconds,
or at once with --smpp-ready listening. bearerbox retries a refused connection every
reconnect-delay, so Kannel may be started before or after us; but a caller that reads this
line before starting Kannel needs --smpp-ready listening. Failure prints {"error": ...}, exit 1.

The fake SMSC line protocol (one message per line, fields separated by one space):
  SENDER RECEIVER data URLENC             8-bit data
  SENDER RECEIVER udh URLENC_UDH URLENC   UDH + data (what we send for MO; fakesmsc too)
  SENDER RECEIVER udh URLENC_UDH data URLENC    UDH + 8-bit data (what bearerbox writes MT)
  SENDER RECEIVER text PLAIN...           7-bit text, NOT url-encoded (rest of the line)
  SENDER RECEIVER ucs2 URLENC             UCS2
URLENC is percent-encoding with '+' for a space.

SMPP (we are the SMSC; see smpp.py for the operations and their bounds):
  MT  submit_sm -> submit_sm_resp with a message id (decimal count), then an SMS-DELIVER to
      the modem of destination_addr: TP-OA = source_addr ('+' added for TON 1; TP-OA type
      0x80 | TON << 4 | NPI), TP-PID = protocol_id, TP-DCS = data_coding (SMPP's own
      alphabets mapped: 0x00/0x01/0x03 -> 7-bit 0x00, 0x02 -> 0x04; see smpp_to_tp_dcs),
      TP-UDHI = esm_class & 0x40, user data = short_message, or message_payload when
      short_message is empty. One that cannot be one SMS (over 140 octets, a bad UDH, an
      alphabet not simulated) is refused (ESME_RINVMSGLEN / ESME_RINVESMCLASS /
      ESME_RSUBMITFAIL); one for an MSISDN we lack is accepted and dropped (logged).
  MO  an SMS-SUBMIT -> deliver_sm to the most recently bound receiver: source_addr = the
      modem's MSISDN ('+' number: digits, TON 1, NPI 1), destination_addr = TP-DA (TON/NPI
      from its type of address), protocol_id = TP-PID, data_coding = TP-DCS, esm_class 0x40
      when TP-UDHI, short_message = UDH + data, plus TLV --smpp-pid-tlv (0x1401) = TP-PID for
      kannel.py's smpp-tlv (smsbox has no escape for the PID). The AT+CMGS result waits for
      the deliver_sm_resp: status 0 -> +CMGS: <mr>, another -> +CMS ERROR: 500, none within
      10 s -> 332, no receiver bound or the link lost -> 331. Meanwhile that modem's input
      is held (a real modem is busy too). No delivery receipts are generated.
  MT/MO are logged as "KANNEL< SENDER RECEIVER submit_sm ..." and "KANNEL> ... deliver_sm".

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
import smpp  # noqa: E402
from kannel import PID_TLV, urldec, urlenc  # noqa: E402

CTRL_Z, ESC, BS = 0x1A, 0x1B, 0x08
MAX_CMD_LINE = 512            # octets of one AT command line
MAX_PDU_HEX = 2 * (12 + 164)  # SMSC field (max 12 octets) + longest SMS-SUBMIT, as hex
MAX_OUT = 256 * 1024          # unread output towards one pty before we drop it
MAX_PENDING = 100             # MT messages held until AT+CNMI
MAX_KANNEL_LINE = 64 * 1024
MO_TIMEOUT = 10.0             # SMPP: deliver_sm_resp awaited this long before +CMS ERROR: 332

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
        self.inbuf = bytearray()    # octets read but not yet handled (only while busy)
        self.busy = False           # an AT+CMGS waits for the network: input is held
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
        self.inbuf += data
        self.process_input()

    def process_input(self):
        """Handles the octets read, up to an AT+CMGS that has to wait for the network (as a
        real modem would, the rest waits: it is not read from the pty until then either)."""
        i = 0
        while i < len(self.inbuf) and not self.busy:
            b = self.inbuf[i]
            i += 1
            if self.pdu_len is not None:
                self.pdu_octet(b)
            else:
                self.cmd_octet(b)
        del self.inbuf[:i]

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
            result = self.submit(hex_text, length, bad)
            if result is None:              # SMPP: the answer comes with deliver_sm_resp
                self.busy = True
            else:
                self.write(result)
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
        return self.sim.send_mo(self, s)

    def mo_done(self, mr, status):
        """SMPP: Kannel's deliver_sm_resp (or its absence) for the SMS-SUBMIT `mr`."""
        if status == smpp.ESME_ROK:
            result = b"\r\n+CMGS: %d\r\n" % mr + OK
        elif status == smpp.TIMEOUT:
            result = cms_error(332)         # network timeout
        elif status == smpp.LINK_LOST:
            result = cms_error(331)         # no network service
        else:
            result = cms_error(500)         # unknown error
        self.log("%s: AT+CMGS mr=%d -> %r (SMPP status %d)" % (self.msisdn, mr, result, status))
        self.write(result)
        self.busy = False
        if self.deliver:
            self.flush_pending()
        self.process_input()

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


def smpp_to_tp_dcs(data_coding, octets):
    """An SMPP data_coding and short_message (UDH excluded) -> (TP-DCS, user data for
    pdu.Deliver). SMPP's own alphabets become GSM 7-bit (TP-DCS 0x00): 0x00 'SMSC default'
    carries GSM septets one per octet (what Kannel sends for coding=0), 0x01 IA5 and 0x03
    Latin-1 carry text; 0x02 (octet unspecified) is 8-bit data (0x04). Every other value is
    already a TS 23.038 DCS and is used as it is. Raises ValueError for what has no SMS form
    here (the other SMPP alphabets, 7-bit characters outside the basic table)."""
    if data_coding == 0x00:
        if any(o > 0x7F for o in octets):
            raise ValueError("data_coding 0 with an octet above 0x7F")
        return 0x00, bytes(octets)
    if data_coding in (0x01, 0x03):
        try:
            return 0x00, bytes(pdu.gsm7_encode(bytes(octets).decode("latin-1")))
        except pdu.PduError as e:
            raise ValueError(str(e))
    if data_coding == 0x02:
        return 0x04, bytes(octets)
    if 0x05 <= data_coding <= 0x0E and data_coding != 0x08:
        raise ValueError("SMPP alphabet 0x%02X is not simulated" % data_coding)
    return data_coding, bytes(octets)


class Sim:
    def __init__(self, args):
        self.log = Log(args.log)
        self.host, self.port = args.smsc_host, args.smsc_port
        self.smsc_address = args.smsc_address
        self.smpp = None                # smpp.Server in SMPP mode (--smpp-port)
        self.smpp_args = args
        self.pid_tlv = args.smpp_pid_tlv
        self.message_id = 0
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

    # --- MO, whichever the link
    def send_mo(self, modem, s):
        """Hands a validated SMS-SUBMIT to Kannel. Returns the AT result, or None when it
        follows later (SMPP: modem.mo_done once Kannel answers the deliver_sm)."""
        if self.smpp is None:
            if s.udh:
                line = "%s %s udh %s %s" % (modem.msisdn, s.da, urlenc(s.udh), urlenc(s.data))
            else:
                line = "%s %s data %s" % (modem.msisdn, s.da, urlenc(s.data))
            if not self.send_to_kannel(line):
                return cms_error(331)           # no network service
            return b"\r\n+CMGS: %d\r\n" % s.mr + OK
        ton, npi, source = smpp.to_smpp_address(modem.msisdn)
        dest = s.da[1:] if s.da.startswith("+") else s.da
        sm = smpp.ShortMessage(
            source_addr=source, source_addr_ton=ton, source_addr_npi=npi,
            destination_addr=dest, dest_addr_ton=(s.da_toa >> 4) & 0x07,
            dest_addr_npi=s.da_toa & 0x0F, esm_class=smpp.ESM_UDHI if s.udh else 0x00,
            protocol_id=s.pid, data_coding=s.dcs, short_message=s.udh + s.data,
            tlvs=[(self.pid_tlv, bytes([s.pid]))] if self.pid_tlv else [])
        mr = s.mr
        if not self.smpp.deliver(sm, lambda status: modem.mo_done(mr, status)):
            return cms_error(331)
        self.log("KANNEL> %s %s deliver_sm ton/npi %d/%d -> %d/%d esm_class=0x%02X pid=0x%02X "
                 "dcs=0x%02X udh=%s data=%s" % (
                     modem.msisdn, s.da, ton, npi, sm.dest_addr_ton, sm.dest_addr_npi,
                     sm.esm_class, s.pid, s.dcs, s.udh.hex(), s.data.hex()))
        return None

    # --- SMPP: Kannel submits MT
    def start_smpp(self, port):
        a = self.smpp_args
        self.smpp = smpp.Server(a.smpp_host, port, self.log, self.on_submit_sm,
                                system_id=a.smpp_system_id, password=a.smpp_password,
                                deliver_timeout=MO_TIMEOUT)

    def on_submit_sm(self, session, sm):
        """A submit_sm from Kannel -> (command_status, message_id); the SMS-DELIVER goes to
        the modem of destination_addr."""
        sender = smpp.from_smpp_address(sm.source_addr_ton, sm.source_addr_npi, sm.source_addr)
        receiver = smpp.from_smpp_address(sm.dest_addr_ton, sm.dest_addr_npi,
                                          sm.destination_addr)
        ud = sm.user_data()
        udh, body = b"", ud
        if sm.esm_class & smpp.ESM_UDHI:
            if not ud or 1 + ud[0] > len(ud):
                self.log("submit_sm UDHI with a UDHL beyond the user data: refused")
                return smpp.ESME_RINVESMCLASS, ""
            udh, body = ud[:1 + ud[0]], ud[1 + ud[0]:]
        self.log("KANNEL< %s %s submit_sm ton/npi %d/%d -> %d/%d esm_class=0x%02X pid=0x%02X "
                 "dcs=0x%02X registered_delivery=%d udh=%s data=%s" % (
                     sender, receiver, sm.source_addr_ton, sm.source_addr_npi,
                     sm.dest_addr_ton, sm.dest_addr_npi, sm.esm_class, sm.protocol_id,
                     sm.data_coding, sm.registered_delivery, udh.hex(), body.hex()))
        try:
            dcs, data = smpp_to_tp_dcs(sm.data_coding, body)
            if pdu.dcs_alphabet(dcs) == "7bit":
                size, most = (len(udh) * 8 + 6) // 7 + len(data), pdu.MAX_UD_SEPTETS
            else:
                size, most = len(udh) + len(data), pdu.MAX_UD_OCTETS
            if size > most:
                self.log("submit_sm refused: %d units of user data, one SMS holds %d"
                         % (size, most))
                return smpp.ESME_RINVMSGLEN, ""
            oa_toa = 0x80 | (sm.source_addr_ton & 0x07) << 4 | (sm.source_addr_npi & 0x0F)
            d = pdu.Deliver(oa=sender, data=data, udh=udh, dcs=dcs, pid=sm.protocol_id,
                            oa_toa=oa_toa)
            pdu.encode_deliver(d)           # refuse now what could not reach a modem
        except (ValueError, pdu.PduError) as e:
            self.log("submit_sm refused: %s" % e)
            return smpp.ESME_RSUBMITFAIL, ""
        self.message_id += 1
        modem = self.modems.get(receiver)
        if modem is None:
            # Accepted all the same, as an SMSC would (delivery fails later, unseen).
            self.log("MT for unknown receiver %s dropped" % receiver)
        else:
            modem.mt(d)
        return smpp.ESME_ROK, str(self.message_id)

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
    def run(self, until=None, timeout=None):
        """Serves the modems and the link until SIGTERM/SIGINT, or until until() holds (True)
        or `timeout` seconds pass (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running:
            if until is not None and until():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if (self.smpp is None and self.sock is None
                    and time.monotonic() >= self.next_reconnect):
                if not self.connect(0.0):
                    self.next_reconnect = time.monotonic() + 1.0
            rlist = [m.master for m in self.modems.values() if not m.busy]
            wlist = [m.master for m in self.modems.values() if m.out]
            if self.sock is not None:
                rlist.append(self.sock)
            if self.smpp is not None:
                rlist += self.smpp.rlist()
                wlist += self.smpp.wlist()
            try:
                r, w, _ = select.select(rlist, wlist, [], 0.2)
            except InterruptedError:
                continue
            for m in self.modems.values():
                if m.master in r:
                    m.on_readable()
            if self.sock is not None and self.sock in r:
                self.on_kannel_readable()
            if self.smpp is not None:
                self.smpp.handle(r, w)
                self.smpp.tick()
            for m in self.modems.values():
                m.flush()
        return False

    def close(self):
        for m in self.modems.values():
            m.close()
        if self.sock is not None:
            self.sock.close()
        if self.smpp is not None:
            self.smpp.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    link = ap.add_mutually_exclusive_group(required=True)
    link.add_argument("--smsc-port", type=int, help="Kannel fake SMSC port (we connect)")
    link.add_argument("--smpp-port", type=int,
                      help="be an SMPP 3.4 SMSC on this port instead (Kannel connects)")
    ap.add_argument("--smsc-host", default="127.0.0.1")
    ap.add_argument("--smpp-host", default="127.0.0.1", help="address the SMPP server listens on")
    ap.add_argument("--smpp-system-id", help="system_id a bind must give (default: any)")
    ap.add_argument("--smpp-password", help="password a bind must give (default: any)")
    ap.add_argument("--smpp-pid-tlv", type=lambda v: int(v, 0), default=PID_TLV,
                    help="TLV tag repeating TP-PID in each deliver_sm (0: none; default "
                         "0x%04X)" % PID_TLV)
    ap.add_argument("--smpp-ready", choices=("bound", "listening"), default="bound",
                    help="print the ready line once Kannel has bound (default) or as soon "
                         "as the port listens")
    ap.add_argument("--modem", action="append", required=True, help="an MSISDN, repeatable")
    ap.add_argument("--log", help="log file (default stderr)")
    ap.add_argument("--smsc-address", default="+15550100000",
                    help="service centre address put in front of each +CMT PDU")
    ap.add_argument("--connect-timeout", type=float, default=20.0,
                    help="seconds to reach the fake SMSC, or for Kannel to bind over SMPP")
    args = ap.parse_args()

    sim = Sim(args)

    def on_signal(signum, frame):
        sim.running = False
        sim.log("signal %d, stopping" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if args.smpp_port is not None:
            try:
                sim.start_smpp(args.smpp_port)
            except OSError as e:
                print(json.dumps({"error": "cannot listen on %s:%d: %s" % (
                    args.smpp_host, args.smpp_port, e)}), flush=True)
                return 1
            if args.smpp_ready == "bound" and not sim.run(sim.smpp.ready, args.connect_timeout):
                if sim.running:
                    print(json.dumps({"error": "Kannel did not bind to %s:%d within %.0f s" % (
                        args.smpp_host, args.smpp_port, args.connect_timeout)}), flush=True)
                return 1
        elif not sim.connect(args.connect_timeout):
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

"""The SMSC side of SMPP 3.4 for modem_sim.py, written from the SMPP v3.4 specification (issue
1.2): the PDU layout of its sections 2.2 and 3.2, the bind, unbind, enquire_link,
generic_nack, submit_sm and deliver_sm operations of section 4, the command_status values of
5.1.3 and the message_payload TLV of 5.3.2.32. Standard library only.

Server(host, port, ...) listens (modem_sim: on 127.0.0.1) inside its owner's select() loop
(rlist(), wlist(), handle(readable, writable), tick(now)); it never blocks. What it does:
  * bind_transmitter / bind_receiver / bind_transceiver: checked against system_id and
    password when those are set (ESME_RINVSYSID / ESME_RINVPASWD), ESME_RALYBND when bound;
    the bind_*_resp carries our system_id and the sc_interface_version TLV (0x34);
  * enquire_link -> enquire_link_resp in any state; unbind -> unbind_resp, then the
    connection closes once the answer is written;
  * submit_sm (transmitter or transceiver only, else ESME_RINVBNDSTS) -> on_submit(session,
    ShortMessage) gives (command_status, message_id) for the submit_sm_resp;
  * deliver(ShortMessage, done) sends a deliver_sm to the newest bound receiver or
    transceiver; done(command_status) follows the deliver_sm_resp (a generic_nack counts as
    its command_status), done(TIMEOUT) after deliver_timeout, done(LINK_LOST) if the link
    goes first;
  * any other request: generic_nack ESME_RINVCMDID (ESME_RINVBNDSTS before a bind); a PDU
    whose command_length is below 16 or above MAX_PDU: generic_nack ESME_RINVCMDLEN and the
    connection is closed; a malformed body: the operation's response with ESME_RINVMSGLEN.
Bounds: MAX_SESSIONS connections (more are closed at once), MAX_PDU octets per PDU, MAX_OUT
unsent octets per connection (past it the connection is dropped), MAX_PENDING unanswered
deliver_sm, BIND_TIMEOUT for a connection to bind, CLOSE_TIMEOUT for the last answer to go.

Addresses: SMPP carries digits and a TON/NPI pair. to_smpp_address("+15550001") is
(1, 1, "15550001") (international, E.164); from_smpp_address(1, 1, "15550001") puts the "+"
back. Other numbers go as TON 0 (unknown) NPI 1, names (not only 0-9 * #) as TON 5
(alphanumeric) NPI 0."""
import errno
import socket
import struct
import time
from dataclasses import dataclass, field

# --- command_id (section 5.1.2)
GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
QUERY_SM = 0x00000003
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
REPLACE_SM = 0x00000007
CANCEL_SM = 0x00000008
BIND_TRANSCEIVER = 0x00000009
OUTBIND = 0x0000000B
ENQUIRE_LINK = 0x00000015
SUBMIT_MULTI = 0x00000021
ALERT_NOTIFICATION = 0x00000102
DATA_SM = 0x00000103
RESP = 0x80000000                   # the response bit of command_id

NAMES = {GENERIC_NACK: "generic_nack", BIND_RECEIVER: "bind_receiver",
         BIND_TRANSMITTER: "bind_transmitter", QUERY_SM: "query_sm", SUBMIT_SM: "submit_sm",
         DELIVER_SM: "deliver_sm", UNBIND: "unbind", REPLACE_SM: "replace_sm",
         CANCEL_SM: "cancel_sm", BIND_TRANSCEIVER: "bind_transceiver", OUTBIND: "outbind",
         ENQUIRE_LINK: "enquire_link", SUBMIT_MULTI: "submit_multi",
         ALERT_NOTIFICATION: "alert_notification", DATA_SM: "data_sm"}


def command_name(command_id):
    if command_id == GENERIC_NACK:
        return "generic_nack"
    base = NAMES.get(command_id & ~RESP)
    if base is None:
        return "0x%08X" % command_id
    return base + ("_resp" if command_id & RESP else "")


# --- command_status (section 5.1.3), the ones used here
ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RINVSRCADR = 0x0A
ESME_RINVDSTADR = 0x0B
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RINVESMCLASS = 0x43
ESME_RSUBMITFAIL = 0x45
ESME_RX_T_APPN = 0x64
ESME_RINVOPTPARSTREAM = 0xC0
ESME_RUNKNOWNERR = 0xFF

# done() values that are no command_status (those are 32-bit unsigned)
TIMEOUT = -1
LINK_LOST = -2

# --- TLV tags (section 5.3.2)
TAG_SC_INTERFACE_VERSION = 0x0210
TAG_MESSAGE_PAYLOAD = 0x0424

# --- esm_class bits (5.2.12)
ESM_UDHI = 0x40

# --- TON / NPI (5.2.5, 5.2.6)
TON_UNKNOWN, TON_INTERNATIONAL, TON_NATIONAL, TON_ALPHANUMERIC = 0, 1, 2, 5
NPI_UNKNOWN, NPI_ISDN = 0, 1

HEADER = struct.Struct(">IIII")     # command_length, command_id, command_status, sequence
MAX_PDU = 16 * 1024                 # a submit_sm with a full message_payload is far less
MAX_SESSIONS = 4
MAX_OUT = 256 * 1024
MAX_PENDING = 64
BIND_TIMEOUT = 10.0
CLOSE_TIMEOUT = 5.0


class SmppError(ValueError):
    """A malformed PDU body; `status` is the command_status to answer with."""

    def __init__(self, msg, status=ESME_RINVMSGLEN):
        super().__init__(msg)
        self.status = status


def encode_pdu(command_id, status, seq, body=b""):
    return HEADER.pack(16 + len(body), command_id, status, seq) + bytes(body)


def cstring(text):
    """A C-Octet String: ASCII (latin-1 here) and a NUL."""
    return text.encode("latin-1") + b"\x00"


class _Reader:
    def __init__(self, body):
        self.body, self.off = bytes(body), 0

    def u8(self):
        if self.off >= len(self.body):
            raise SmppError("body truncated")
        self.off += 1
        return self.body[self.off - 1]

    def octets(self, n):
        if self.off + n > len(self.body):
            raise SmppError("body truncated")
        self.off += n
        return self.body[self.off - n:self.off]

    def cstring(self, maxlen, name):
        """A C-Octet String of at most maxlen octets, the NUL included."""
        end = self.body.find(b"\x00", self.off, self.off + maxlen)
        if end < 0:
            raise SmppError("%s: no NUL within %d octets" % (name, maxlen))
        text = self.body[self.off:end].decode("latin-1")
        self.off = end + 1
        return text

    def tlvs(self):
        out = []
        while self.off < len(self.body):
            if self.off + 4 > len(self.body):
                raise SmppError("TLV header truncated", ESME_RINVOPTPARSTREAM)
            tag, length = struct.unpack_from(">HH", self.body, self.off)
            if self.off + 4 + length > len(self.body):
                raise SmppError("TLV 0x%04X overruns the PDU" % tag, ESME_RINVOPTPARSTREAM)
            out.append((tag, self.body[self.off + 4:self.off + 4 + length]))
            self.off += 4 + length
        return out


def encode_tlvs(tlvs):
    return b"".join(struct.pack(">HH", tag, len(v)) + bytes(v) for tag, v in tlvs)


# --- bind (4.1)
@dataclass
class Bind:
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


def decode_bind(body):
    r = _Reader(body)
    b = Bind(system_id=r.cstring(16, "system_id"), password=r.cstring(9, "password"),
             system_type=r.cstring(13, "system_type"), interface_version=r.u8(),
             addr_ton=r.u8(), addr_npi=r.u8(), address_range=r.cstring(41, "address_range"))
    if r.off != len(body):
        raise SmppError("%d octets after address_range" % (len(body) - r.off))
    return b


def encode_bind(b):
    return (cstring(b.system_id) + cstring(b.password) + cstring(b.system_type)
            + bytes([b.interface_version, b.addr_ton, b.addr_npi]) + cstring(b.address_range))


# --- submit_sm (4.4) and deliver_sm (4.6): the same mandatory fields
@dataclass
class ShortMessage:
    source_addr: str = ""
    destination_addr: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    esm_class: int = 0
    protocol_id: int = 0
    data_coding: int = 0
    short_message: bytes = b""
    service_type: str = ""
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    sm_default_msg_id: int = 0
    tlvs: list = field(default_factory=list)

    def tlv(self, tag):
        for t, v in self.tlvs:
            if t == tag:
                return v
        return None

    def user_data(self):
        """short_message, or the message_payload TLV when short_message is empty."""
        payload = self.tlv(TAG_MESSAGE_PAYLOAD)
        if payload is not None and not self.short_message:
            return bytes(payload)
        return bytes(self.short_message)


def decode_sm(body):
    r = _Reader(body)
    sm = ShortMessage()
    sm.service_type = r.cstring(6, "service_type")
    sm.source_addr_ton, sm.source_addr_npi = r.u8(), r.u8()
    sm.source_addr = r.cstring(21, "source_addr")
    sm.dest_addr_ton, sm.dest_addr_npi = r.u8(), r.u8()
    sm.destination_addr = r.cstring(21, "destination_addr")
    sm.esm_class, sm.protocol_id, sm.priority_flag = r.u8(), r.u8(), r.u8()
    sm.schedule_delivery_time = r.cstring(17, "schedule_delivery_time")
    sm.validity_period = r.cstring(17, "validity_period")
    sm.registered_delivery, sm.replace_if_present_flag = r.u8(), r.u8()
    sm.data_coding, sm.sm_default_msg_id = r.u8(), r.u8()
    n = r.u8()
    if n > 254:
        raise SmppError("sm_length %d above 254" % n)
    sm.short_message = r.octets(n)
    sm.tlvs = r.tlvs()
    if sm.short_message and sm.tlv(TAG_MESSAGE_PAYLOAD) is not None:
        raise SmppError("both short_message and message_payload", ESME_RINVOPTPARSTREAM)
    return sm


def encode_sm(sm):
    if len(sm.short_message) > 254:
        raise SmppError("short_message over 254 octets")
    return (cstring(sm.service_type) + bytes([sm.source_addr_ton, sm.source_addr_npi])
            + cstring(sm.source_addr) + bytes([sm.dest_addr_ton, sm.dest_addr_npi])
            + cstring(sm.destination_addr)
            + bytes([sm.esm_class, sm.protocol_id, sm.priority_flag])
            + cstring(sm.schedule_delivery_time) + cstring(sm.validity_period)
            + bytes([sm.registered_delivery, sm.replace_if_present_flag, sm.data_coding,
                     sm.sm_default_msg_id, len(sm.short_message)])
            + bytes(sm.short_message) + encode_tlvs(sm.tlvs))


# --- addresses
def to_smpp_address(number):
    """'+15550001' -> (1, 1, '15550001'); '5550001' -> (0, 1, ...); 'Name' -> (5, 0, 'Name')."""
    if number.startswith("+") and number[1:].isdigit():
        return TON_INTERNATIONAL, NPI_ISDN, number[1:]
    if number and all(c in "0123456789*#" for c in number):
        return TON_UNKNOWN, NPI_ISDN, number
    return TON_ALPHANUMERIC, NPI_UNKNOWN, number


def from_smpp_address(ton, npi, addr):
    """The inverse: an international number gets its '+' (unless it already has one)."""
    if ton == TON_INTERNATIONAL and addr and not addr.startswith("+"):
        return "+" + addr
    return addr


# --- sessions
OPEN, BOUND_TX, BOUND_RX, BOUND_TRX, CLOSING = "open", "tx", "rx", "trx", "closing"
_BIND_STATE = {BIND_TRANSMITTER: BOUND_TX, BIND_RECEIVER: BOUND_RX,
               BIND_TRANSCEIVER: BOUND_TRX}


class Session:
    """One ESME connection (non-blocking socket, bounded buffers)."""

    def __init__(self, server, sock, peer):
        self.server, self.sock, self.peer = server, sock, peer
        self.log = server.log
        self.state = OPEN
        self.rbuf, self.wbuf = bytearray(), bytearray()
        self.opened = time.monotonic()
        self.bound_at = None
        self.closing_since = None
        self.system_id = ""
        self.name = "smpp %s:%d" % peer

    def closing(self):
        """Closes once the answers queued are written (or after CLOSE_TIMEOUT)."""
        self.state, self.closing_since = CLOSING, time.monotonic()

    def can_receive(self):
        return self.state in (BOUND_RX, BOUND_TRX)

    def can_transmit(self):
        return self.state in (BOUND_TX, BOUND_TRX)

    # --- output
    def send(self, command_id, status, seq, body=b""):
        data = encode_pdu(command_id, status, seq, body)
        if len(self.wbuf) + len(data) > MAX_OUT:
            self.server.drop(self, "over %d octets unsent" % MAX_OUT)
            return
        self.log("%s> %s status 0x%02X seq %d (%d octets)"
                 % (self.name, command_name(command_id), status, seq, len(data)))
        self.wbuf += data

    def on_writable(self):
        try:
            n = self.sock.send(self.wbuf)
            del self.wbuf[:n]
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.server.drop(self, "send: %s" % e)
            return
        if not self.wbuf and self.state == CLOSING:
            self.server.drop(self, "unbound")

    # --- input
    def on_readable(self):
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.server.drop(self, "recv: %s" % e)
            return
        if not data:
            self.server.drop(self, "EOF")
            return
        if self.state == CLOSING:
            return                          # unbound or broken: nothing more is read
        self.rbuf += data
        while len(self.rbuf) >= 4 and self.state != CLOSING and self.server.has(self):
            length = struct.unpack_from(">I", self.rbuf)[0]
            if length < 16 or length > MAX_PDU:
                seq = struct.unpack_from(">I", self.rbuf, 12)[0] if len(self.rbuf) >= 16 else 0
                self.log("%s: command_length %d out of range, closing" % (self.name, length))
                self.send(GENERIC_NACK, ESME_RINVCMDLEN, seq)
                self.closing()
                self.rbuf.clear()
                break
            if len(self.rbuf) < length:
                break
            pdu = bytes(self.rbuf[:length])
            del self.rbuf[:length]
            _, command_id, status, seq = HEADER.unpack_from(pdu)
            self.on_pdu(command_id, status, seq, pdu[16:])

    def on_pdu(self, command_id, status, seq, body):
        self.log("%s< %s status 0x%02X seq %d (%d octets)"
                 % (self.name, command_name(command_id), status, seq, 16 + len(body)))
        if command_id & RESP:
            self.server.on_response(self, command_id, status, seq)
            return
        if command_id == ENQUIRE_LINK:
            self.send(ENQUIRE_LINK | RESP, ESME_ROK, seq)
        elif command_id in _BIND_STATE:
            self.on_bind(command_id, seq, body)
        elif command_id == UNBIND:
            if self.state == OPEN:
                self.send(UNBIND | RESP, ESME_RINVBNDSTS, seq)
            else:
                self.send(UNBIND | RESP, ESME_ROK, seq)
                self.server.unbound(self)
                self.closing()
        elif command_id == SUBMIT_SM:
            self.on_submit(seq, body)
        elif self.state == OPEN and command_id in NAMES:
            self.send(command_id | RESP, ESME_RINVBNDSTS, seq)
        else:
            self.send(GENERIC_NACK, ESME_RINVCMDID, seq)

    def on_bind(self, command_id, seq, body):
        resp = command_id | RESP
        if self.state != OPEN:
            self.send(resp, ESME_RALYBND, seq)
            return
        try:
            b = decode_bind(body)
        except SmppError as e:
            self.log("%s: bad %s: %s" % (self.name, command_name(command_id), e))
            self.send(resp, e.status, seq)
            return
        self.log("%s: %s system_id %r system_type %r interface 0x%02X ton %d npi %d range %r"
                 % (self.name, command_name(command_id), b.system_id, b.system_type,
                    b.interface_version, b.addr_ton, b.addr_npi, b.address_range))
        srv = self.server
        if srv.system_id is not None and b.system_id != srv.system_id:
            self.send(resp, ESME_RINVSYSID, seq)
            return
        if srv.password is not None and b.password != srv.password:
            self.send(resp, ESME_RINVPASWD, seq)
            return
        tlvs = b""
        if b.interface_version >= 0x34:
            tlvs = encode_tlvs([(TAG_SC_INTERFACE_VERSION, b"\x34")])
        self.send(resp, ESME_ROK, seq, cstring(srv.own_id) + tlvs)
        self.state, self.system_id = _BIND_STATE[command_id], b.system_id
        self.bound_at = time.monotonic()
        srv.bound(self)

    def on_submit(self, seq, body):
        resp = SUBMIT_SM | RESP
        if not self.can_transmit():
            self.send(resp, ESME_RINVBNDSTS, seq)
            return
        try:
            sm = decode_sm(body)
        except SmppError as e:
            self.log("%s: bad submit_sm: %s" % (self.name, e))
            self.send(resp, e.status, seq)
            return
        status, message_id = self.server.on_submit(self, sm)
        self.send(resp, status, seq, cstring(message_id) if status == ESME_ROK else b"")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Server:
    """Listens on host:port; see the module docstring."""

    def __init__(self, host, port, log, on_submit, system_id=None, password=None,
                 own_id="modem_sim", deliver_timeout=10.0, on_bound=None):
        self.log, self.on_submit = log, on_submit
        self.system_id, self.password, self.own_id = system_id, password, own_id
        self.deliver_timeout = deliver_timeout
        self.on_bound = on_bound or (lambda session: None)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(8)
        self.listener.setblocking(False)
        self.sessions = []
        self.pending = {}           # our deliver_sm sequence -> (session, deadline, done)
        self.seq = 0
        self.log("SMPP server listening on %s:%d" % (host, port))

    def has(self, session):
        return session in self.sessions

    def bound_sessions(self):
        return [s for s in self.sessions if s.state in (BOUND_TX, BOUND_RX, BOUND_TRX)]

    def ready(self):
        """Whether bound sessions can both submit to us and take deliveries."""
        b = self.bound_sessions()
        return any(s.can_receive() for s in b) and any(s.can_transmit() for s in b)

    def next_seq(self):
        self.seq = self.seq % 0x7FFFFFFF + 1
        return self.seq

    # --- select() integration
    def rlist(self):
        return [self.listener] + [s.sock for s in self.sessions]

    def wlist(self):
        return [s.sock for s in self.sessions if s.wbuf]

    def handle(self, readable, writable):
        if self.listener in readable:
            self.accept()
        for s in list(self.sessions):
            if s.sock in readable and self.has(s):
                s.on_readable()
            if s.sock in writable and self.has(s):
                s.on_writable()
        for s in list(self.sessions):      # answers produced above go out without a wait
            if s.wbuf and self.has(s):
                s.on_writable()

    def tick(self, now=None):
        now = time.monotonic() if now is None else now
        for s in list(self.sessions):
            if s.state == OPEN and now - s.opened > BIND_TIMEOUT:
                self.drop(s, "no bind within %.0f s" % BIND_TIMEOUT)
            elif s.state == CLOSING and now - s.closing_since > CLOSE_TIMEOUT:
                self.drop(s, "last answer unread for %.0f s" % CLOSE_TIMEOUT)
        for seq, (s, deadline, done) in list(self.pending.items()):
            if now > deadline:
                del self.pending[seq]
                self.log("%s: no deliver_sm_resp for seq %d in %.0f s"
                         % (s.name, seq, self.deliver_timeout))
                done(TIMEOUT)

    def accept(self):
        try:
            sock, peer = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.log("SMPP accept failed: %s" % e)
            return
        if len(self.sessions) >= MAX_SESSIONS:
            self.log("SMPP connection from %s:%d refused: %d already" % (peer + (MAX_SESSIONS,)))
            sock.close()
            return
        sock.setblocking(False)
        s = Session(self, sock, peer)
        self.sessions.append(s)
        self.log("%s: connected" % s.name)

    def drop(self, session, why):
        if session not in self.sessions:
            return
        self.sessions.remove(session)
        session.close()
        self.log("%s: closed (%s)" % (session.name, why))
        for seq, (s, _, done) in list(self.pending.items()):
            if s is session:
                del self.pending[seq]
                done(LINK_LOST)

    def bound(self, session):
        self.log("%s: bound as %s (system_id %r)" % (session.name, session.state,
                                                     session.system_id))
        self.on_bound(session)

    def unbound(self, session):
        self.log("%s: unbind" % session.name)

    def on_response(self, session, command_id, status, seq):
        entry = self.pending.get(seq)
        if command_id in (DELIVER_SM | RESP, GENERIC_NACK) and entry and entry[0] is session:
            del self.pending[seq]
            entry[2](status)
        elif command_id not in (ENQUIRE_LINK | RESP, UNBIND | RESP):
            self.log("%s: %s seq %d answers nothing we sent, ignored"
                     % (session.name, command_name(command_id), seq))

    def deliver(self, sm, done):
        """Sends a deliver_sm; returns False (and calls nothing) when no session can take it
        or too many are unanswered, else done(status) follows exactly once."""
        receivers = [s for s in self.sessions if s.can_receive()]
        if not receivers:
            self.log("SMPP: no receiver bound, deliver_sm not sent")
            return False
        if len(self.pending) >= MAX_PENDING:
            self.log("SMPP: %d deliver_sm unanswered, not sending more" % MAX_PENDING)
            return False
        session = max(receivers, key=lambda s: s.bound_at)
        seq = self.next_seq()
        session.send(DELIVER_SM, ESME_ROK, seq, encode_sm(sm))
        if not self.has(session):           # dropped: its output was over MAX_OUT
            return False
        # Written by the owner's loop (wlist): done() never runs before we return.
        self.pending[seq] = (session, time.monotonic() + self.deliver_timeout, done)
        return True

    def close(self):
        """Unbinds nobody (the ESME reconnects); just closes everything."""
        for s in list(self.sessions):
            self.drop(s, "shutting down")
        self.listener.close()


# --- a blocking ESME side, small, for tests
def recv_pdu(sock, timeout=10.0):
    """Reads one PDU from a blocking socket: (command_id, status, seq, body); raises OSError
    (socket.timeout) or EOFError."""
    deadline = time.monotonic() + timeout
    buf = b""
    need = 16
    while len(buf) < need:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no PDU within %.0f s" % timeout)
        sock.settimeout(left)
        chunk = sock.recv(need - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d octets" % len(buf))
        buf += chunk
        if len(buf) == 16:
            need = HEADER.unpack(buf)[0]
            if need < 16 or need > MAX_PDU:
                raise OSError(errno.EPROTO, "command_length %d" % need)
    length, command_id, status, seq = HEADER.unpack_from(buf)
    return command_id, status, seq, buf[16:]

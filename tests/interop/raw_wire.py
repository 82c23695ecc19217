"""Raw bytes for the interop scenarios: HTTP requests on a fresh socket, the /api/events
stream read by a thread, and CoAP messages (UDP datagrams, TCP frames) built by hand, so a
test sends what it means to send and not what our own client would."""
import json
import socket
import struct
import threading
import time


# --- raw HTTP ----------------------------------------------------------------------------


def http(port, method, path, body=b"", headers=None, timeout=10):
    """One request on a fresh connection; returns (status, headers, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        if body or method in ("PUT", "POST", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        s.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return parse_response(data)


def parse_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class EventStream:
    """GET /api/events on a raw socket, read by a thread."""

    def __init__(self, port, path="/api/events", headers=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
        self.data = b""
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            self.sock.settimeout(None)
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.data += chunk
        except OSError:
            pass
        self.closed = True

    def wait_for(self, text, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text.encode() in self.data:
                return True
            time.sleep(0.05)
        return False


def sse_events(stream):
    """The (kind, data) of each complete event read so far."""
    out = []
    for block in stream.data.decode(errors="replace").split("\n\n"):
        kind = data = None
        for line in block.split("\n"):
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if kind and data is not None:
            out.append((kind, data))
    return out


# --- raw CoAP ----------------------------------------------------------------------------


def options_bytes(options):
    """[(number, bytes)] sorted by number -> RFC 7252 option encoding."""
    out = b""
    last = 0
    for number, value in sorted(options, key=lambda o: o[0]):
        delta = number - last
        last = number
        parts = []
        for v in (delta, len(value)):
            if v < 13:
                parts.append((v, b""))
            elif v < 269:
                parts.append((13, bytes([v - 13])))
            else:
                parts.append((14, struct.pack("!H", v - 269)))
        out += bytes([(parts[0][0] << 4) | parts[1][0]]) + parts[0][1] + parts[1][1] + value
    return out


def register_options(ep_bytes, extra=()):
    opts = [(11, b"rd"), (12, b"\x28"), (15, b"ep=" + ep_bytes)]
    opts += [(15, q) for q in extra]
    return opts


def udp_message(code, mid, token, options, payload=b""):
    head = bytes([0x40 | len(token), code]) + struct.pack("!H", mid) + token
    return head + options_bytes(options) + ((b"\xff" + payload) if payload else b"")


def tcp_frame(code, token, options, payload=b""):
    body = options_bytes(options) + ((b"\xff" + payload) if payload else b"")
    n = len(body)
    if n < 13:
        first, ext = n, b""
    elif n < 269:
        first, ext = 13, bytes([n - 13])
    else:
        first, ext = 14, struct.pack("!H", n - 269)
    return bytes([(first << 4) | len(token)]) + ext + bytes([code]) + token + body


def read_tcp_frames(sock, want_code_class_not_7=True, timeout=5):
    """Reads frames until one that is not a signal (7.xx); returns (code, payload)."""
    sock.settimeout(timeout)
    buf = b""
    while True:
        while len(buf) < 2:
            buf += sock.recv(4096)
        first = buf[0]
        ln, tkl = first >> 4, first & 0x0F
        ext = {13: 1, 14: 2, 15: 4}.get(ln, 0)
        while len(buf) < 1 + ext + 1:
            buf += sock.recv(4096)
        if ln == 13:
            ln = buf[1] + 13
        elif ln == 14:
            ln = struct.unpack("!H", buf[1:3])[0] + 269
        total = 1 + ext + 1 + tkl + ln
        while len(buf) < total:
            buf += sock.recv(4096)
        code = buf[1 + ext]
        frame_body = buf[1 + ext + 1 + tkl:total]
        buf = buf[total:]
        if code >> 5 != 7:
            payload = frame_body.split(b"\xff", 1)[1] if b"\xff" in frame_body else b""
            return code, payload


def code_text(code):
    return f"{code >> 5}.{code & 31:02d}"


def udp_exchange(port, datagram, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(datagram, ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
        return data
    finally:
        s.close()


def udp_options(datagram):
    """(number, value) of a CoAP/UDP message's options (RFC 7252 3.1), apart from our codec."""
    tkl = datagram[0] & 0x0F
    i, number, out = 4 + tkl, 0, []
    while i < len(datagram) and datagram[i] != 0xFF:
        delta, length = datagram[i] >> 4, datagram[i] & 0x0F
        i += 1
        if delta == 13:
            delta, i = datagram[i] + 13, i + 1
        elif delta == 14:
            delta, i = (datagram[i] << 8 | datagram[i + 1]) + 269, i + 2
        if length == 13:
            length, i = datagram[i] + 13, i + 1
        elif length == 14:
            length, i = (datagram[i] << 8 | datagram[i + 1]) + 269, i + 2
        number += delta
        out.append((number, datagram[i:i + length]))
        i += length
    return out


def udp_code(reply):
    return code_text(reply[1])


class UdpDevice:
    """A device on a UDP socket of its own (with --workers, the kernel sends each source to
    one worker) speaking raw CoAP: Register (lt=600), Update (lt=900), De-register, each
    sent again until answered. `port` gives the server's CoAP port at each exchange."""

    def __init__(self, port, index, fail, name=None):
        self.port, self.index, self.fail = port, index, fail
        self.name = name or "dev-%d" % index
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.location = None

    def exchange(self, datagram):
        mid = datagram[2:4]
        for _ in range(8):
            self.sock.sendto(datagram, ("127.0.0.1", self.port()))
            self.sock.settimeout(0.5)
            try:
                while True:
                    reply = self.sock.recvfrom(4096)[0]
                    if reply[2:4] == mid:
                        return reply
            except socket.timeout:
                pass
        self.fail(self.name + ": no answer")

    def register(self, mid):
        reply = self.exchange(udp_message(0x02, mid, b"\x01", register_options(
            self.name.encode(), [b"lt=600"]), b"</1/0>,</3/0>"))
        self.location = [v for n, v in udp_options(reply) if n == 8]
        return udp_code(reply)

    def location_options(self):
        return [(11, p) for p in self.location]

    def update(self, mid):
        return udp_code(self.exchange(udp_message(0x02, mid, b"\x02", self.location_options() +
                                                  [(15, b"lt=900")])))

    def deregister(self, mid):
        return udp_code(self.exchange(udp_message(0x04, mid, b"\x03", self.location_options())))

    def close(self):
        self.sock.close()

#!/usr/bin/env python3
"""Writes the seed inputs under fuzz/corpus/<target>/. Run from anywhere; rerun after edits.

The messages are built by the tiny encoder below (RFC 7252 / RFC 8323 layouts), not
captured from any other implementation.
"""
import pathlib

HERE = pathlib.Path(__file__).resolve().parent


def ext(v):
    """Nibble and extension bytes for an option delta or length."""
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    return 14, (v - 269).to_bytes(2, "big")


def uint(v):
    return v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""


def options_and_payload(options, payload=b""):
    out = bytearray()
    last = 0
    for number, value in sorted(options, key=lambda o: o[0]):
        if isinstance(value, str):
            value = value.encode()
        dn, dx = ext(number - last)
        ln, lx = ext(len(value))
        out += bytes([dn << 4 | ln]) + dx + lx + value
        last = number
    if payload:
        out += b"\xff" + payload
    return bytes(out)


def udp(mtype, code, mid, token=b"", options=(), payload=b""):
    head = bytes([0x40 | mtype << 4 | len(token), code, mid >> 8, mid & 0xFF])
    return head + token + options_and_payload(options, payload)


def tcp(code, token=b"", options=(), payload=b""):
    body = options_and_payload(options, payload)
    n = len(body)
    if n < 13:
        head = bytes([n << 4 | len(token)])
    elif n < 269:
        head = bytes([13 << 4 | len(token), n - 13])
    elif n < 65805:
        head = bytes([14 << 4 | len(token)]) + (n - 269).to_bytes(2, "big")
    else:
        head = bytes([15 << 4 | len(token)]) + (n - 65805).to_bytes(4, "big")
    return head + bytes([code]) + token + body


CON, NON, ACK, RST = 0, 1, 2, 3
GET, POST, PUT, CONTENT, CHANGED = 0x01, 0x02, 0x03, 0x45, 0x44
CSM, PING, PONG, RELEASE, ABORT = 0xE1, 0xE2, 0xE3, 0xE4, 0xE5
URI_PATH, URI_QUERY, CONTENT_FORMAT, OBSERVE, BLOCK2, BLOCK1, SIZE1 = 11, 15, 12, 6, 23, 27, 60

LINKS = b"</1/0>,</3/0>,</3303/0>;ver=1.1,</5/0>,</1/1>,</4/0>"
REGISTER_OPTS = [(URI_PATH, "rd"), (URI_QUERY, "ep=seed-node"), (URI_QUERY, "lt=300"),
                 (URI_QUERY, "lwm2m=1.2"), (URI_QUERY, "b=U"), (CONTENT_FORMAT, uint(40))]


def path(p):
    return [(URI_PATH, s) for s in p.strip("/").split("/") if s]


UDP = {
    "con_get_temperature": udp(CON, GET, 0x7D34, options=path("/temperature")),
    "ack_content": udp(ACK, CONTENT, 0x7D34, b"\x20", payload=b"22.3 C"),
    "empty_ack": udp(ACK, 0, 0x7D38),
    "rst": udp(RST, 0, 0x7D38),
    "register": udp(CON, POST, 0x0001, b"\x01\x02\x03\x04", REGISTER_OPTS, LINKS),
    "notify": udp(NON, CONTENT, 0x0102, b"\xaa\xbb", [(OBSERVE, uint(5)),
                  (CONTENT_FORMAT, uint(112))], bytes.fromhex("81a200614102182a")),
    "block2": udp(ACK, CONTENT, 0x0203, b"\x07", [(BLOCK2, uint(1 << 4 | 8 | 6))], b"x" * 1024),
    "extended": udp(CON, PUT, 0x0304, b"", [(300, b"v" * 20), (2000, b"w" * 300),
                    (65535, b"")]),
}

TCP_STREAM = b"".join([
    tcp(CSM, options=[(2, uint(4096)), (4, b"")]),
    tcp(GET, b"\x01", path("/3/0/1")),
    tcp(CONTENT, b"\x01", [(CONTENT_FORMAT, uint(0))], b"Tether"),
    tcp(PING), tcp(PONG),
    tcp(POST, b"\x02", REGISTER_OPTS, LINKS),
    tcp(RELEASE, options=[(4, uint(30))]),
    tcp(ABORT, payload=b"bye"),
])
# Two bytes of Max-Message-Size (minus 64) and one chunking seed go first.
TCP = {
    "stream": b"\x10\x00\x07" + TCP_STREAM,
    "csm_only": b"\x04\x00\x00" + tcp(CSM, options=[(2, uint(1152))]),
    "two_byte_length": b"\x01\x00\x03" + tcp(CONTENT, b"\x09", [], b"z" * 400),
    # A Len 15 header whose body never arrives (and is over the limit).
    "four_byte_length": b"\x00\x00\x05" + tcp(CONTENT, b"", [], b"z" * 65900)[:40],
}

URI = {
    "plain": b"coap://example.com/temperature",
    "ipv6": b"coaps://[::1]:5684/rd?ep=abc&lt=300",
    "tcp": b"coap+tcp://leshan.example:5783/rd/abc?b=T",
    "escapes": b"coaps+tcp://h/a%20b/%2F?q=%26x&r",
}


def records(*items):
    """Endpoint input: [len][control] + bytes for each (control, bytes) pair."""
    out = bytearray()
    for control, data in items:
        assert len(data) < 256
        out += bytes([len(data), control]) + data
    return bytes(out)


ENDPOINT = {
    "get_and_acks": records(
        (0x01, udp(CON, GET, 0x1000, b"\x11", path("/3/0/0"))),
        (0x01, udp(ACK, 0, 0x0000)),
        (0x21, udp(NON, GET, 0x1001, b"\x12", path("/1/0/1"))),
        (0x81, udp(CON, GET, 0x1000, b"\x11", path("/3/0/0"))),
        (0x3f, udp(RST, 0, 0x0001))),
    "observe_and_notify": records(
        (0x01, udp(CON, GET, 0x2000, b"\x21", [(OBSERVE, b"")] + path("/3303/0/5700"))),
        (0x45, udp(ACK, 0, 0x0002)),
        (0x50, udp(RST, 0, 0x0003))),
    "block2": records(
        (0x01, udp(CON, GET, 0x3000, b"\x31", path("/big"))),
        (0x01, udp(CON, GET, 0x3001, b"\x32", path("/big") + [(BLOCK2, uint(1 << 4 | 4))])),
        (0x01, udp(CON, GET, 0x3002, b"\x33", path("/big") + [(BLOCK2, uint(2 << 4 | 4))]))),
    "block1_upload": records(
        (0x01, udp(CON, PUT, 0x4000, b"\x41", path("/5/0/0") + [(BLOCK1, uint(0 << 4 | 8 | 0))],
                   b"a" * 16)),
        (0x01, udp(CON, PUT, 0x4001, b"\x41", path("/5/0/0") + [(BLOCK1, uint(1 << 4 | 0))],
                   b"b" * 10))),
    "stream_csm_get": records(
        (0x01, tcp(CSM, options=[(2, uint(1152)), (4, b"")])),
        (0x01, tcp(GET, b"\x01", path("/3/0/1"))),
        (0x02, tcp(PING, b"\x07")),
        (0x81, tcp(CSM)),
        (0x81, tcp(GET, b"\x02", path("/big") + [(BLOCK2, uint(1 << 4 | 6))])),
        (0x3f, tcp(RELEASE))),
}


def write(target, seeds):
    d = HERE / target
    d.mkdir(exist_ok=True)
    for name, data in seeds.items():
        (d / name).write_bytes(data)


write("fuzz_udp_codec", UDP)
write("fuzz_tcp_codec", TCP)
write("fuzz_uri", URI)
write("fuzz_endpoint", ENDPOINT)

"""Command packets of 3GPP TS 31.115 / ETSI TS 102 225 as Transport TS 5.4.2.1.3 uses them
(SMS Secured Packet Structure mode), read and written apart from Tether's C++ codec with
python3-cryptography's AES-CBC and AES-CMAC, for the interop tests' independent checks.

Layout after the SMS user data header (whose first SMS holds the empty element 70):
  CPL(2) CHL(1) SPI(2) KIc(1) KID(1) TAR(3) | CNTR(5) PCNTR(1) CC(8) secured data + padding
everything from CNTR on ciphered with AES-CBC (zero IV); CC = AES-CMAC cut to 8 octets over
02 70 00, CPL..TAR, CNTR, PCNTR and the padded secured data; the secured data is the
BER-TLV 05 <length> <CoAP message>."""
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CPI_HEADER = bytes([0x02, 0x70, 0x00])


def _cbc(key, data, encrypt):
    c = Cipher(algorithms.AES(key), modes.CBC(bytes(16)))
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


def _cc(key, data):
    m = cmac.CMAC(algorithms.AES(key))
    m.update(data)
    return m.finalize()[:8]


def _keys(secret):
    half = len(secret) // 2
    return secret[:half], secret[half:]


def seal(params, secret, counter, coap):
    """params: KIc KID SPI(2) TAR(3) (7 octets); secret: ciphering key + checksum key."""
    kic_key, kid_key = _keys(secret)
    n = len(coap)
    length = bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else \
        bytes([0x82, n >> 8, n & 0xFF])
    sd = bytes([0x05]) + length + coap
    pad = (16 - (14 + len(sd)) % 16) % 16
    sd += bytes(pad)
    cpl = 1 + 21 + len(sd)
    clear = bytes([cpl >> 8, cpl & 0xFF, 21]) + params[2:4] + params[0:2] + params[4:7]
    head = counter.to_bytes(5, "big") + bytes([pad])
    cc = _cc(kid_key, CPI_HEADER + clear + head + sd)
    return clear + _cbc(kic_key, head + cc + sd, True)


def open_packet(params, secret, packet):
    """(counter, CoAP message) of a command packet; ValueError when it does not open."""
    kic_key, kid_key = _keys(secret)
    if len(packet) < 26 or (packet[0] << 8 | packet[1]) != len(packet) - 2 or packet[2] != 21:
        raise ValueError("not a command packet with an 8-octet checksum")
    clear = packet[:10]
    if clear[3:5] != params[2:4] or clear[5:7] != params[0:2] or clear[7:10] != params[4:7]:
        raise ValueError("SPI/KIc/KID/TAR differ: %s" % clear[3:10].hex())
    body = packet[10:]
    if len(body) % 16:
        raise ValueError("ciphered part is not whole AES blocks")
    plain = _cbc(kic_key, body, False)
    counter, pad, cc, sd = int.from_bytes(plain[:5], "big"), plain[5], plain[6:14], plain[14:]
    if pad >= 16 or pad > len(sd) or _cc(kid_key, CPI_HEADER + clear + plain[:6] + sd) != cc:
        raise ValueError("cryptographic checksum does not match")
    sd = sd[:len(sd) - pad]
    if len(sd) < 2 or sd[0] != 0x05:
        raise ValueError("secured data is not tag 05")
    n, at = sd[1], 2
    if n == 0x81:
        n, at = sd[2], 3
    elif n == 0x82:
        n, at = sd[2] << 8 | sd[3], 4
    if len(sd) - at != n:
        raise ValueError("secured data length does not match")
    return counter, sd[at:]

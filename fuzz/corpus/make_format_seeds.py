#!/usr/bin/python3
"""Writes seed inputs for the content-format fuzzers under fuzz/corpus/fuzz_<format>/.

Each seed is one selector byte (see fuzz/format_fuzz.hpp: low 3 bits pick the target path
/3, /3/0, /3/0/7, /3/0/7/1, /3303/0, /, /5/0/0, /3/0/13; bits 3+ pick tree, records or path
list) followed by a payload written here by hand or with python3-cbor2.
"""
import json
import pathlib

import cbor2

HERE = pathlib.Path(__file__).resolve().parent
TREE, RECORDS, PATHS = 0, 8, 16
P3, P30, P307, P3071, P3303, ROOT, P500, P3013 = range(8)


def write(target, seeds):
    folder = HERE / target
    folder.mkdir(exist_ok=True)
    for i, (selector, payload) in enumerate(seeds):
        if isinstance(payload, str):
            payload = payload.encode()
        prefix = b"" if selector is None else bytes([selector])
        (folder / f"seed_{i:02d}").write_bytes(prefix + payload)


def senml_json(records):
    return json.dumps(records, separators=(",", ":"))


SENML_DEVICE = [{"bn": "/3/0/", "n": "0", "vs": "Tether"}, {"n": "6/0", "v": 1},
                {"n": "9", "v": 100}, {"n": "13", "v": 1700000000},
                {"n": "22/0", "vlo": "3303:0"}]
SENML_SERIES = [{"bn": "/3303/0/5700", "bt": 1700000000, "v": 21.5}, {"t": 10, "v": 22.0},
                {"bn": "/5/0/", "n": "0", "vd": "AQID"}]
SENML_PATHS = [{"n": "/3/0/9"}, {"n": "/1"}, {"bn": "/3303/0/", "n": "5700"}]
CBOR_LABELS = {"bn": -2, "bt": -3, "n": 0, "v": 2, "vs": 3, "vb": 4, "t": 6, "vd": 8}


def senml_cbor(records):
    out = []
    for r in records:
        m = {}
        for k, v in r.items():
            if k == "vd":
                m[CBOR_LABELS[k]] = bytes([1, 2, 3])
            else:
                m[CBOR_LABELS.get(k, k)] = v
        out.append(m)
    return cbor2.dumps(out)


write("fuzz_tlv", [
    (P30, bytes.fromhex("C800065465746865728606410001410105C10964C40D6553F100")),
    (P3, bytes.fromhex("0800 03 C10964".replace(" ", ""))),
    (P307, bytes.fromhex("8807084200 0ED842011388".replace(" ", ""))),
    (P3071, bytes.fromhex("420113 88".replace(" ", ""))),
    (P3303, bytes.fromhex("E4164441AC0000")),
    (P500, bytes.fromhex("C300010203")),
])
write("fuzz_senml_json", [
    (P30, senml_json(SENML_DEVICE)), (P3, senml_json(SENML_DEVICE)),
    (RECORDS, senml_json(SENML_SERIES)), (PATHS, senml_json(SENML_PATHS)),
    (P3013, '[{"bn":"/3/0/13","v":1}]'),
])
write("fuzz_senml_cbor", [
    (P30, senml_cbor(SENML_DEVICE)), (P3, senml_cbor(SENML_DEVICE)),
    (RECORDS, senml_cbor(SENML_SERIES)), (PATHS, senml_cbor(SENML_PATHS)),
])
write("fuzz_lwm2m_cbor", [
    (P30, cbor2.dumps({3: {0: {0: "Tether", 6: {0: 1, 1: 5}, 9: 100, 13: 1700000000,
                               22: {0: "3303:0"}}}})),
    (P3303, cbor2.dumps({(3303, 0): {5700: 21.5, 5701: "Cel"}})),
    (RECORDS, cbor2.dumps({3: {0: {9: 87}}, 5: {0: {0: b"\x01\x02"}}})),
    (P3, bytes.fromhex("A1 03 A1 00 A1 0D C1 1A 65 53 F1 00".replace(" ", ""))),
])
write("fuzz_old_json", [
    (P30, json.dumps({"bn": "/3/0/", "e": [{"n": "0", "sv": "Tether"}, {"n": "9", "v": 100},
                                            {"n": "22/0", "ov": "3303:0"}]})),
    (RECORDS, json.dumps({"bn": "/", "bt": 100, "e": [{"n": "5/0/0", "sv": "AQID"},
                                                      {"n": "3303/0/5700", "v": 21.5, "t": -5}]})),
])
write("fuzz_text", [
    (0, "Tether Devices"), (1, "100"), (2, "1700000000"), (3, "3303:0"), (4, "AQID"), (5, "1"),
    (6, "21.5"), (7, "86400"), (0x84, bytes([0, 1, 2, 255])),
])
write("fuzz_link_format", [
    (None, '</>;rt="oma.lwm2m";ct="60 110 112",</1>;ver=1.1,</1/0>,</3/0>,</5>'),
    (None, '</lwm2m>;rt="oma.lwm2m";ct=11543,</lwm2m/1/0>,</lwm2m/3303/0>'),
    (None, '</3>;ver=1.2,</3/0>;pmin=10,</3/0/6>;dim=2,</3/0/9>;gt=45;st=2.5'),
])
write("fuzz_attributes", [
    (P3, "pmin=10&pmax=60"), (P307, "gt=45&st=10"), (P307, "lt=20&gt=85&st=10"),
    (P3071, "pmin&epmin=1&epmax=5&con=1&hqmax=3"), (P30, "pmax"),
])

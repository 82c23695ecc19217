#!/usr/bin/python3
"""Checks Tether's CBOR and JSON formats against independent decoders and encoders:
Python's json module and the cbor2 package (Debian's python3-cbor2).

usage: format_interop.py TETHER_BINARY SCENARIO
Each scenario either has `tether lwm2m encode` produce a payload that the independent
library reads, or has the library produce a payload that `tether lwm2m decode` reads, and
compares the values path by path.
"""
import json
import subprocess
import sys

import cbor2

TETHER = sys.argv[1]

# The Device instance every scenario uses, as `tether lwm2m` JSON (typed by the model).
DEVICE = {
    "/3/0/0": "Tether Devices", "/3/0/1": "TD-100", "/3/0/2": "345000123",
    "/3/0/6/0": 1, "/3/0/6/1": 5, "/3/0/7/0": 3800, "/3/0/7/1": 5000,
    "/3/0/9": 100, "/3/0/10": 15, "/3/0/11/0": 0, "/3/0/13": 1763880000,
    "/3/0/14": "+02:00", "/3/0/16": "UQ",
}
TEMPERATURE = {"/3303/0/5700": 21.5, "/3303/0/5701": "Cel", "/3303/0/5601": -3.25}

SENML_LABELS = {-2: "bn", -3: "bt", 0: "n", 2: "v", 3: "vs", 4: "vb", 6: "t", 8: "vd"}


def tether(*args, data=b""):
    result = subprocess.run([TETHER, "lwm2m", *args], input=data, capture_output=True,
                            timeout=30, check=False)
    if result.returncode != 0:
        raise SystemExit(f"tether {' '.join(args)} failed: {result.stderr.decode()}")
    return result.stdout


def senml_to_values(records, labels=None):
    """Resolves a SenML pack (RFC 8428 base name and base value rules) to {path: value}."""
    out, base_name = {}, ""
    for record in records:
        if labels:
            record = {labels.get(k, k): v for k, v in record.items()}
        base_name = record.get("bn", base_name)
        name = base_name + record.get("n", "")
        for field in ("v", "vs", "vb", "vd", "vlo"):
            if field in record:
                if name in out:
                    raise SystemExit(f"{name} appears twice")
                out[name] = record[field]
    return out


def lwm2m_cbor_to_values(node, prefix=()):
    """Flattens LwM2M CBOR nested maps; a key may be one ID or an array of IDs."""
    if not isinstance(node, dict):
        return {"/" + "/".join(str(i) for i in prefix): node}
    out = {}
    for key, child in node.items():
        ids = tuple(key) if isinstance(key, (list, tuple)) else (key,)  # cbor2 gives tuples
        out.update(lwm2m_cbor_to_values(child, prefix + ids))
    return out


def expect_equal(got, want, what):
    if got != want:
        missing = {k: v for k, v in want.items() if got.get(k) != v}
        extra = {k: v for k, v in got.items() if k not in want}
        raise SystemExit(f"{what}: differs\n  wrong or missing: {missing}\n  unexpected: {extra}")


def encode_with_tether(fmt, values, path=None):
    args = ["encode", "-f", fmt] + (["-p", path] if path else [])
    return tether(*args, data=json.dumps(values).encode())


def decode_with_tether(fmt, payload, path=None):
    args = ["decode", "-f", fmt] + (["-p", path] if path else [])
    return json.loads(tether(*args, data=payload))


def scenario_senml_cbor_out():
    payload = encode_with_tether("senml+cbor", DEVICE, "/3/0")
    records = cbor2.loads(payload)
    expect_equal(senml_to_values(records, SENML_LABELS), DEVICE, "SenML CBOR read by cbor2")
    payload = encode_with_tether("senml+cbor", TEMPERATURE)
    expect_equal(senml_to_values(cbor2.loads(payload), SENML_LABELS), TEMPERATURE,
                 "SenML CBOR records read by cbor2")


def scenario_senml_cbor_in():
    # cbor2 writes floats as doubles and uses base names differently from us.
    pack = [{-2: "/3/0/", 0: "0", 3: "Tether Devices"}, {0: "1", 3: "TD-100"},
            {0: "2", 3: "345000123"}, {0: "6/0", 2: 1}, {0: "6/1", 2: 5}, {0: "7/0", 2: 3800},
            {0: "7/1", 2: 5000}, {0: "9", 2: 100}, {0: "10", 2: 15}, {0: "11/0", 2: 0},
            {0: "13", 2: 1763880000}, {0: "14", 3: "+02:00"}, {0: "16", 3: "UQ"}]
    expect_equal(decode_with_tether("senml+cbor", cbor2.dumps(pack), "/3/0"), DEVICE,
                 "cbor2's SenML CBOR read by tether")
    pack = [{0: "/3303/0/5700", 2: 21.5}, {0: "/3303/0/5701", 3: "Cel"},
            {0: "/3303/0/5601", 2: -3.25}]
    expect_equal(decode_with_tether("senml+cbor", cbor2.dumps(pack)), TEMPERATURE,
                 "cbor2's SenML CBOR records read by tether")


def scenario_senml_json_out():
    payload = encode_with_tether("senml+json", DEVICE, "/3/0")
    expect_equal(senml_to_values(json.loads(payload)), DEVICE, "SenML JSON read by json")


def scenario_senml_json_in():
    pack = [{"bn": "/3/0/", "n": "0", "vs": "Tether Devices"}] + [
        {"n": k[len("/3/0/"):], ("vs" if isinstance(v, str) else "v"): v}
        for k, v in DEVICE.items() if k != "/3/0/0"]
    payload = json.dumps(pack, indent=1).encode()  # whitespace, as people write it
    expect_equal(decode_with_tether("senml+json", payload, "/3/0"), DEVICE,
                 "json's SenML JSON read by tether")


def scenario_lwm2m_cbor_out():
    payload = encode_with_tether("lwm2m+cbor", DEVICE, "/3/0")
    expect_equal(lwm2m_cbor_to_values(cbor2.loads(payload)), DEVICE, "LwM2M CBOR read by cbor2")


def scenario_lwm2m_cbor_in():
    nested = {3: {0: {0: "Tether Devices", 1: "TD-100", 2: "345000123", 6: {0: 1, 1: 5},
                      7: {0: 3800, 1: 5000}, 9: 100, 10: 15, 11: {0: 0}, 13: 1763880000,
                      14: "+02:00", 16: "UQ"}}}
    expect_equal(decode_with_tether("lwm2m+cbor", cbor2.dumps(nested), "/3/0"), DEVICE,
                 "cbor2's LwM2M CBOR (uncompressed keys) read by tether")
    compressed = cbor2.dumps({3303: {0: {5700: 21.5, 5701: "Cel", 5601: -3.25}}})
    expect_equal(decode_with_tether("lwm2m+cbor", compressed), TEMPERATURE,
                 "cbor2's LwM2M CBOR records read by tether")


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items()
             if name.startswith("scenario_")}

if __name__ == "__main__":
    SCENARIOS[sys.argv[2]]()
    print(f"{sys.argv[2]}: ok")

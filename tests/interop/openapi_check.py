#!/usr/bin/python3
"""The REST API against its description: every example in docs/openapi.yaml (and
openapi-bootstrap.yaml) must satisfy its own schema, and the answers of a running
`tether server`, with `tether client` registered, must satisfy the schema the description
gives for that path, method and status. Uses Debian's python3-yaml and python3-jsonschema.

usage: openapi_check.py TETHER_BINARY DOCS_DIR
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import jsonschema
import yaml

tether, docs = sys.argv[1], sys.argv[2]
failures = []


def fail(message):
    failures.append(message)
    print("FAIL:", message, file=sys.stderr)


def to_json_schema(node):
    """OpenAPI 3.0 schema objects are JSON Schema but for `nullable`."""
    if isinstance(node, dict):
        out = {k: to_json_schema(v) for k, v in node.items() if k not in ("nullable", "example")}
        if node.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [to_json_schema(v) for v in node]
    return node


def validator_for(spec, schema):
    root = to_json_schema(spec)
    resolver = jsonschema.RefResolver.from_schema(root)
    return jsonschema.Draft7Validator(to_json_schema(schema), resolver=resolver)


def resolve(spec, node):
    """Follows a local $ref ("#/components/responses/NotFound") to what it names."""
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def response_for(spec, op, status):
    responses = op["responses"]
    found = responses.get(str(status)) or responses.get(str(status)[0] + "XX")
    return resolve(spec, found) if found is not None else None


def check_examples(name, spec):
    count = 0
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, response in op["responses"].items():
                media = resolve(spec, response).get("content", {}).get("application/json", {})
                if "schema" in media and "example" in media:
                    count += 1
                    errors = list(validator_for(spec, media["schema"]).iter_errors(media["example"]))
                    for e in errors[:1]:
                        fail(f"{name} {method.upper()} {path} {status} example: {e.message}")
    return count


def template_for(spec, path):
    """The description's path template that matches a concrete path (most literal wins)."""
    best = None
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path):
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            if best is None or literal > best[1]:
                best = (template, literal)
    return best[0] if best else None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


spec = yaml.safe_load(open(os.path.join(docs, "openapi.yaml")))
bootstrap_spec = yaml.safe_load(open(os.path.join(docs, "openapi-bootstrap.yaml")))
examples = check_examples("openapi.yaml", spec) + check_examples("openapi-bootstrap.yaml",
                                                                   bootstrap_spec)
if examples < 5:
    fail(f"only {examples} response examples found: is the description still read right?")
example_failures = list(failures)

coap_port, http_port = free_port(), free_port()
api = f"http://127.0.0.1:{http_port}"
work = tempfile.mkdtemp()
server = subprocess.Popen([tether, "server", "--coap-port", str(coap_port), "--coaps-port", "0",
                           "--http-port", str(http_port), "--store", "memory", "-q"],
                          stderr=open(os.path.join(work, "server.log"), "w"))
client = subprocess.Popen([tether, "client", "-e", "dev1", "--server",
                           f"coap://127.0.0.1:{coap_port}", "--lifetime", "60", "-q"],
                          stderr=open(os.path.join(work, "client.log"), "w"))


def call(method, path, body=None, checked=0):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(api + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    template = template_for(spec, path.split("?")[0])
    if template is None:
        fail(f"{method} {path}: no such path in openapi.yaml")
        return status, None
    op = spec["paths"][template].get(method.lower())
    if op is None:
        fail(f"{method} {template}: not described")
        return status, None
    response = response_for(spec, op, status)
    if response is None:
        fail(f"{method} {path}: answered {status}, which the description does not list")
        return status, None
    media = response.get("content", {}).get("application/json")
    value = json.loads(text) if text and media is not None else None
    if media is not None and "schema" in media:
        for e in list(validator_for(spec, media["schema"]).iter_errors(value))[:1]:
            fail(f"{method} {path} {status}: {e.message} in {text[:300]!r}")
    if checked and status != checked:
        fail(f"{method} {path}: expected {checked}, got {status}: {text[:200]!r}")
    return status, value


try:
    for _ in range(200):
        try:
            if call("GET", "/api/clients/dev1")[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    failures[:] = example_failures  # the 404s while the client registers are not the point
    call("GET", "/api/health", checked=200)
    call("GET", "/api/clients", checked=200)
    call("GET", "/api/clients?limit=1&counts=true", checked=200)
    call("GET", "/api/clients?q=dev&state=online", checked=200)
    call("GET", "/api/clients?limit=5000", checked=400)
    call("GET", "/api/me", checked=200)
    call("GET", "/api/models", checked=200)
    call("GET", "/api/models/3?lwm2m=1.1", checked=200)
    call("GET", "/api/models/x", checked=400)
    call("GET", "/api/models/40000", checked=404)
    call("GET", "/api/clients/dev1", checked=200)
    call("GET", "/api/clients/ghost", checked=404)
    call("GET", "/api/clients/dev1/3", checked=200)
    call("GET", "/api/clients/dev1/3/0", checked=200)
    call("GET", "/api/clients/dev1/3/0/0", checked=200)
    call("GET", "/api/clients/dev1/3/0/11/0", checked=200)
    call("GET", "/api/clients/dev1/3/0?format=senml-cbor", checked=200)
    call("GET", "/api/clients/dev1/3/7", checked=404)
    call("GET", "/api/clients/dev1/3/discover", checked=200)
    call("GET", "/api/clients/dev1/3/0/discover", checked=200)
    call("PUT", "/api/clients/dev1/3/0/14", "+02:00", checked=200)
    call("PATCH", "/api/clients/dev1/3/0", {"15": "Europe/Paris"}, checked=200)
    call("PUT", "/api/clients/dev1/3303/0/5700/attributes?pmin=1", b"", checked=200)
    call("POST", "/api/clients/dev1/3/0/12", b"0='x'", checked=200)
    call("POST", "/api/clients/dev1/3/0/4", b"zz", checked=400)
    status, observed = call("POST", "/api/clients/dev1/3303/0/5700/observe", b"", checked=200)
    call("GET", "/api/clients/dev1/observations", checked=200)
    call("GET", "/api/clients/dev1/requests?limit=3", checked=200)
    call("GET", "/api/events?events=nope", checked=400)
    if observed and "observation" in observed:
        call("DELETE", f"/api/clients/dev1/observations/{observed['observation']}?active=true",
             checked=200)
    call("POST", "/api/clients/dev1/3303/0/5700/observe", b"", checked=200)
    call("DELETE", "/api/clients/dev1/3303/0/5700/observe?active=true", checked=200)
    call("POST", "/api/clients/dev1/composite/read", {"paths": ["/3/0/0", "/3303/0/5700"]},
         checked=200)
    call("POST", "/api/clients/dev1/composite/observe?pmin=2", {"paths": ["/3/0/13"]},
         checked=200)
    call("POST", "/api/clients/dev1/composite/write", {"/3/0/14": "+03:00"}, checked=200)
    call("PUT", "/api/security/clients/dev9", {"mode": "psk", "identity": "dev9", "key": "0011"},
         checked=200)
    call("GET", "/api/security/clients/dev9", checked=200)
    call("GET", "/api/security/clients", checked=200)
    call("GET", "/api/security/clients?limit=1&mode=psk", checked=200)
    call("PUT", "/api/security/clients/dev9", {"mode": "psk"}, checked=400)
    call("DELETE", "/api/security/clients/dev9", checked=204)
    call("DELETE", "/api/clients/dev1", checked=204)
finally:
    client.terminate()
    server.terminate()
    client.wait(10)
    server.wait(10)

if failures:
    print(open(os.path.join(work, "server.log")).read()[-2000:], file=sys.stderr)
    sys.exit(1)
print(f"PASS: {examples} examples and every answer match the description")

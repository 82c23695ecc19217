#!/usr/bin/env bash
# Server Update throughput with OSCORE next to plain CoAP (issue 17): `tether server`
# (memory store) pinned to core 0, `tether bench register` on core 1, N clients, M Updates,
# the same run twice: plain, then each client under an OSCORE context of its own (the server
# holds N credentials in mode oscore, put through the REST API first). WORKERS event loops
# in the server (default 1; with more, they share core 0: the figure is CPU per Update).
# Usage: bench/register_oscore.sh [BUILD_DIR] [CLIENTS] [UPDATES] [WORKERS]
set -euo pipefail
build="${1:-build/release}"
clients="${2:-10000}"
updates="${3:-200000}"
workers="${4:-1}"
tether="$build/bin/tether"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
secret=0102030405060708090a0b0c0d0e0f10

run() {
  local name="$1" port http
  shift
  port=$(python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  http=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  taskset -c 0 "$tether" server --workers "$workers" --store memory --bind 127.0.0.1 --coap-port "$port" \
    --coaps-port 0 --http-port "$http" --quiet >"$work/server.log" 2>&1 &
  local server=$!
  for _ in $(seq 1 100); do grep -q "event=started" "$work/server.log" && break; sleep 0.1; done
  if [ "$name" = oscore ]; then
    "$tether" bench register --clients "$clients" --oscore "$secret" \
      --oscore-credentials "$work/creds"
    python3 - "$http" "$work/creds" <<'PY'
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for line in open(sys.argv[2]):
    ep, body = line.split(" ", 1)
    conn.request("PUT", "/api/security/clients/" + ep, body, {"content-type": "application/json"})
    r = conn.getresponse(); r.read()
    if r.status != 200: sys.exit("PUT %s: %d" % (ep, r.status))
PY
  fi
  echo "== $name, $workers worker(s): load average $(cut -d' ' -f1-3 /proc/loadavg)"
  taskset -c 1 "$tether" bench register --port "$port" --clients "$clients" \
    --updates "$updates" --pid "$server" "$@" 2>/dev/null
  kill "$server"
  wait "$server" 2>/dev/null || true
}
run plain
run oscore --oscore "$secret"

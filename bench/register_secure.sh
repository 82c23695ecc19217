#!/usr/bin/env bash
# Server Update throughput and memory per registration with OSCORE (issue 17) and DTLS
# (issue 22) next to plain CoAP: `tether server` (memory store) pinned to core 0,
# `tether bench register` on core 1, N clients, M Updates, one run per mode: plain; oscore
# (each client under an OSCORE context of its own); dtls (each client over a DTLS session
# of its own, PSK with AES-128-CCM-8). The server holds N credentials, put through the REST
# API first. WORKERS event loops in the server (default 1; with more, they share core 0:
# the figure is CPU per Update).
# Usage: bench/register_secure.sh [BUILD_DIR] [CLIENTS] [UPDATES] [WORKERS] [MODES]
#        (MODES default "plain oscore dtls")
set -euo pipefail
build="${1:-build/release}"
clients="${2:-10000}"
updates="${3:-200000}"
workers="${4:-1}"
modes="${5:-plain oscore dtls}"
tether="$build/bin/tether"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
secret=0102030405060708090a0b0c0d0e0f10

run() {
  local name="$1" port http
  shift
  port=$(python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  http=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  local coap=(--coap-port "$port" --coaps-port 0)
  [ "$name" = dtls ] && coap=(--coap-port 0 --coaps-port "$port")
  taskset -c 0 "$tether" server --workers "$workers" --store memory --bind 127.0.0.1 "${coap[@]}" \
    --http-port "$http" --quiet >"$work/server.log" 2>&1 &
  local server=$!
  for _ in $(seq 1 100); do grep -q "event=started" "$work/server.log" && break; sleep 0.1; done
  if [ "$name" != plain ]; then
    local creds=--oscore-credentials
    [ "$name" = dtls ] && creds=--psk-credentials
    "$tether" bench register --clients "$clients" "$@" "$creds" "$work/creds"
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
for mode in $modes; do
  case "$mode" in
    plain) run plain ;;
    oscore) run oscore --oscore "$secret" ;;
    dtls) run dtls --psk "$secret" ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
done

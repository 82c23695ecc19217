#!/usr/bin/env bash
# Register+Update round trips over the HTTP binding (Transport TS 7) with HTTPS keep-alive,
# next to a bare HTTPS request loop on the same HTTP stack, in one run on one machine: the
# measured side (tether server --http-binding-port, or tether bench http-echo) pinned to
# core 0, the load generator to core 1. Certificates from openssl. Usage:
#   bench/http_bench.sh [TETHER_BINARY] [CLIENTS...]     (default: build/release/bin/tether 100 10000)
# Prints one line per measurement; docs/performance.md reports the medians.
set -euo pipefail
tether="${1:-build/release/bin/tether}"
shift || true
counts=("${@:-100 10000}")
# shellcheck disable=SC2206
counts=(${counts[@]})
seconds="${BENCH_SECONDS:-10}"
window="${BENCH_WINDOW:-32}"
scheme="${BENCH_SCHEME:-https}"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
(
  cd "$work"
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key
  openssl req -x509 -new -key ca.key -subj "/CN=bench CA" -days 2 -out ca.pem
  openssl ecparam -name prime256v1 -genkey -noout -out server.key
  openssl req -new -key server.key -subj "/CN=127.0.0.1" -out server.csr
  echo "subjectAltName=IP:127.0.0.1" >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem
) >/dev/null 2>&1
tls=()
client_tls=()
if [ "$scheme" = https ]; then
  tls=(--cert "$work/server.pem" --key "$work/server.key")
  client_tls=(--ca "$work/ca.pem")
fi
echo "load $(cut -d' ' -f1-3 /proc/loadavg) scheme=$scheme"
for n in "${counts[@]}"; do
  w=$(( n < window ? n : window ))
  # The baseline: the same HTTP(S) stack answering 204 to everything.
  port=$(free_port)
  taskset -c 0 "$tether" bench http-echo --port "$port" "${tls[@]}" &
  echo_pid=$!
  wait_port "$port"
  taskset -c 1 "$tether" bench http --target "$scheme://127.0.0.1:$port" "${client_tls[@]}" \
    --bare --clients "$n" --window "$w" --seconds "$seconds" --pid "$echo_pid" | sed "s/^/n=$n /"
  kill -TERM "$echo_pid"; wait "$echo_pid" 2>/dev/null || true
  # The LwM2M server's HTTP binding.
  port=$(free_port)
  binding_tls=()
  if [ "$scheme" = https ]; then
    binding_tls=(--http-binding-cert "$work/server.pem" --http-binding-key "$work/server.key")
  fi
  taskset -c 0 "$tether" server --workers 1 --bind 127.0.0.1 --coap-port "$(free_port)" --coaps-port 0 \
    --http-port "$(free_port)" --store memory --http-binding-port "$port" "${binding_tls[@]}" \
    -q 2>"$work/server.log" &
  server_pid=$!
  wait_port "$port"
  taskset -c 1 "$tether" bench http --target "$scheme://127.0.0.1:$port" "${client_tls[@]}" \
    --clients "$n" --window "$w" --seconds "$seconds" --pid "$server_pid" | sed "s/^/n=$n /"
  kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"

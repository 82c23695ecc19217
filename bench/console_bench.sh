#!/usr/bin/env bash
# The web console with a large fleet (issue 21): `tether server` (memory store, console
# embedded) pinned to core 0, filled by `tether bench register --keep` on core 1, then
# console/bench/devices_bench.mjs on core 1 times the REST API's paging calls and the
# Devices page in headless Chromium: first render, filters, next page. Usage:
#   bench/console_bench.sh [TETHER_BINARY] [CLIENTS] [RUNS]   (default: build/release/bin/tether 1000000 5)
# Prints what it measured; docs/performance.md reports it. Asserts nothing.
set -euo pipefail
tether="$(realpath "${1:-build/release/bin/tether}")"
clients="${2:-1000000}"
runs="${3:-5}"
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
coap=$(free_port)
http=$(free_port)
taskset -c 0 "$tether" server --workers 1 --bind 127.0.0.1 --coap-port "$coap" --coaps-port 0 \
  --http-port "$http" --store memory --data-dir "$work/data" -q 2>"$work/server.log" &
server=$!
pids+=("$server")
wait_port "$http"
echo "load $(cut -d' ' -f1-3 /proc/loadavg); $clients clients"
# Lifetime of two hours: nothing expires while the page is measured.
taskset -c 1 "$tether" bench register --port "$coap" --clients "$clients" --lifetime 7200 \
  --keep --pid "$server" 2>/dev/null
echo "server RSS $(awk '/VmRSS/ {print $2, $3}' "/proc/$server/status") with $clients registrations"
(cd "$root/console" && taskset -c 1 node bench/devices_bench.mjs "http://127.0.0.1:$http/" "$runs")
# The unpaged list (GET /api/clients without parameters: whole up to 10,000 registrations,
# refused beyond) once, and how long /api/health waits meanwhile.
taskset -c 1 curl -s -o /dev/null -w 'whole list: HTTP %{http_code} in %{time_total} s, %{size_download} bytes\n' \
  "http://127.0.0.1:$http/api/clients" &
list=$!
sleep 0.2
taskset -c 1 curl -s -o /dev/null -w '/api/health meanwhile: %{time_total} s\n' "http://127.0.0.1:$http/api/health"
wait "$list"
echo "load $(cut -d' ' -f1-3 /proc/loadavg) after"

#!/usr/bin/env bash
# Update round trips over MQTT (Transport TS 8) next to the bare broker round trip, in one
# run on one machine: mosquitto and the load generator pinned to core 1, the measured side
# (tether server --mqtt, or tether bench mqtt-echo) pinned to core 0. Usage:
#   bench/mqtt_bench.sh [TETHER_BINARY] [CLIENTS...]     (default: build/release/bin/tether 1 100 10000)
# Prints one line per measurement; docs/performance.md reports the medians.
set -euo pipefail
tether="${1:-build/release/bin/tether}"
shift || true
counts=("${@:-1 100 10000}")
# shellcheck disable=SC2206
counts=(${counts[@]})
seconds="${BENCH_SECONDS:-10}"
window="${BENCH_WINDOW:-32}"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
measured_server() {
  taskset -c 0 "$tether" server --workers 1 --bind 127.0.0.1 --coap-port "$(free_port)" \
    --coaps-port 0 --http-port "$(free_port)" --store memory --mqtt "$broker" \
    --mqtt-prefix "lw$1" -q 2>"$work/server.log" &
}
load_generator() {
  taskset -c 1 "$tether" bench mqtt --broker "$broker" --prefix "lw$1" --clients "$1" \
    --window "$2" --seconds "$seconds" --pid "$3"
}
broker_bench "${counts[@]}"

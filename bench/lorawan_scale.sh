#!/usr/bin/env bash
# LoRaWAN devices per server (Transport TS 6.8.4): N simulated devices register and Update
# through ChirpStack v4 integration events on Mosquitto (tether bench lorawan stands in for
# the network server and acknowledges every downlink as one would), next to the broker's bare
# round trip (tether bench mqtt --bare against bench mqtt-echo), in one run on one machine:
# mosquitto and the load generators pinned to core 1, the measured side (tether server
# --lorawan, or the echo) pinned to core 0. Usage:
#   bench/lorawan_scale.sh [TETHER_BINARY] [DEVICES...]   (default: build/release/bin/tether 1000 100000)
# Prints one line per measurement; docs/performance.md reports the medians.
set -euo pipefail
tether="${1:-build/release/bin/tether}"
shift || true
counts=("${@:-1000 100000}")
# shellcheck disable=SC2206
counts=(${counts[@]})
seconds="${BENCH_SECONDS:-10}"
window="${BENCH_WINDOW:-32}"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
measured_server() {
  taskset -c 0 "$tether" server --workers 1 --bind 127.0.0.1 --coap-port "$(free_port)" \
    --coaps-port 0 --http-port "$(free_port)" --store memory --lorawan "$broker" \
    --lorawan-application "lw$1" -q 2>"$work/server.log" &
}
load_generator() {
  taskset -c 1 "$tether" bench lorawan --broker "$broker" --application "lw$1" --clients "$1" \
    --window "$2" --seconds "$seconds" --pid "$3"
}
broker_bench "${counts[@]}"

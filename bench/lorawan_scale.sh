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
port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nmax_queued_messages 100000\n' "$port" >"$work/m.conf"
taskset -c 1 mosquitto -c "$work/m.conf" >"$work/mosquitto.log" 2>&1 &
pids+=("$!")
sleep 0.5
broker="mqtt://127.0.0.1:$port"
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${counts[@]}"; do
  w=$(( n < window ? n : window ))
  # The baseline: the broker's own round trip through a bare echo.
  taskset -c 0 "$tether" bench mqtt-echo --broker "$broker" --prefix "bare$n" &
  echo_pid=$!
  sleep 0.5
  taskset -c 1 "$tether" bench mqtt --broker "$broker" --prefix "bare$n" --bare --clients "$n" \
    --window "$w" --seconds "$seconds" | sed "s/^/n=$n /"
  kill -TERM "$echo_pid"; wait "$echo_pid" 2>/dev/null || true
  # The LwM2M server as the application server of those devices.
  taskset -c 0 "$tether" server --workers 1 --bind 127.0.0.1 --coap-port "$(free_port)" --coaps-port 0 \
    --http-port "$(free_port)" --store memory --lorawan "$broker" --lorawan-application "lw$n" -q \
    2>"$work/server.log" &
  server_pid=$!
  sleep 1
  taskset -c 1 "$tether" bench lorawan --broker "$broker" --application "lw$n" --clients "$n" \
    --window "$w" --seconds "$seconds" --pid "$server_pid" | sed "s/^/n=$n /"
  kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"

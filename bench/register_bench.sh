#!/usr/bin/env bash
# Registration Updates per second on one core, side by side in one run (issue 22): the
# baseline `tether bench coap-echo` (one recvfrom/sendto per datagram, and --mmsg batched),
# then `tether server` with the memory store, SQLite and Redis (a redis-server of its own,
# on the load generator's core, emptied before each run). The measured side is pinned to
# core 0, `tether bench register` to core 1; each is run RUNS times and the medians printed
# with the server's CPU per Update and its memory per registration and per Update. Usage:
#   bench/register_bench.sh [TETHER_BINARY] [CLIENTS] [UPDATES] [RUNS]
#   (default: build/release/bin/tether 100000 500000 3)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_arguments "$@"
echo "load $(cut -d' ' -f1-3 /proc/loadavg); $clients clients, $updates updates, $runs runs"
measure() { # NAME PORT_FLAG COMMAND...: one run against the target COMMAND starts
  local name="$1" flag="$2"
  shift 2
  local port
  port=$(free_port)
  taskset -c 0 "$@" "$flag" "$port" 2>/dev/null &
  local target=$!
  wait_udp_bound "$port"
  taskset -c 1 "$tether" bench register --port "$port" --clients "$clients" --updates "$updates" \
    --lifetime 3600 --pid "$target" 2>/dev/null | sed "s/^/$name: /" >>"$work/results"
  kill "$target"
  wait "$target" 2>/dev/null || true
}
start_redis 1
for run in $(seq 1 "$runs"); do
  measure echo --port "$tether" bench coap-echo
  measure echo-mmsg --port "$tether" bench coap-echo --mmsg
  measure memory --coap-port "$tether" server --workers 1 --bind 127.0.0.1 --coaps-port 0 \
    --http-port "$(free_port)" --store memory --data-dir "$work/m$run" -q
  measure sqlite --coap-port "$tether" server --workers 1 --bind 127.0.0.1 --coaps-port 0 \
    --http-port "$(free_port)" --store sqlite --data-dir "$work/s$run" -q
  redis-cli -p "$redis_port" FLUSHALL >/dev/null
  measure redis --coap-port "$tether" server --workers 1 --bind 127.0.0.1 --coaps-port 0 \
    --http-port "$(free_port)" --store "redis://127.0.0.1:$redis_port" --data-dir "$work/r$run" -q
  echo "run $run done, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
cat "$work/results"
python3 "$(dirname "$0")/register_summary.py" "$work/results"

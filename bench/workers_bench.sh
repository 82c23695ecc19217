#!/usr/bin/env bash
# `tether server --workers N` side by side in one run (issue 22): the memory store with one
# worker and with two, next to the bare CoAP echo (`tether bench coap-echo --mmsg`), each
# run RUNS times, medians printed. On a 2-core machine the load
# generator shares the cores with the server, so the wall rate is bounded by both; the
# figures that carry to a larger machine are the server's CPU per Update (all threads, from
# /proc) and each thread's share of it (every worker busy, none a bottleneck). Usage:
#   bench/workers_bench.sh [TETHER_BINARY] [CLIENTS] [UPDATES] [RUNS] [STORE]
#   (default: build/release/bin/tether 100000 500000 3 memory; STORE redis: a scratch
#   redis-server, emptied before each run, where each worker is a node of its own)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_arguments "$@"
store="${5:-memory}"
if [ "$store" = redis ]; then
  start_redis 1
  store="redis://127.0.0.1:$redis_port"
fi
echo "store $store; load $(cut -d' ' -f1-3 /proc/loadavg); $clients clients," \
  "$updates updates, $runs runs, $(nproc) cores"
# The CPU ticks of each thread of process $1 named tether (the workers), one line each.
thread_ticks() {
  for stat in /proc/"$1"/task/*/stat; do
    awk '{ print $14 + $15 }' "$stat" 2>/dev/null || true
  done
}
measure() { # NAME COMMAND...: one run against the target COMMAND starts (its port last)
  local name="$1" port
  shift
  port=$(free_port)
  "$@" "$port" 2>>"$work/targets.log" &
  local target=$!
  wait_udp_bound "$port"
  if ! kill -0 "$target" 2>/dev/null; then
    echo "$name did not start:" && tail -3 "$work/targets.log" && return 0
  fi
  timeout 600 "$tether" bench register --port "$port" --clients "$clients" --updates "$updates" \
    --lifetime 3600 --pid "$target" 2>/dev/null | sed "s/^/$name: /" >>"$work/results"
  # Each thread's share of the server's CPU (threads with under 1 % are left out: the
  # start-up and signal threads).
  thread_ticks "$target" | sort -rn | awk -v w="$name" '
    { t[NR] = $1; sum += $1 }
    END { s = w ": threads"; for (i = 1; i <= NR; i++) if (sum > 0 && t[i] / sum >= 0.01) s = s sprintf(" %.0f%%", 100 * t[i] / sum); print s }' >>"$work/results"
  kill "$target"
  wait "$target" 2>/dev/null || true
}
server() { # WORKERS PORT
  exec "$tether" server --bind 127.0.0.1 --coaps-port 0 --udp-only --http-port "$(free_port)" \
    --store "$store" -q --workers "$1" --coap-port "$2" --data-dir "$work/data"
}
for run in $(seq 1 "$runs"); do
  measure echo "$tether" bench coap-echo --mmsg --port
  [ -z "${redis_port:-}" ] || redis-cli -p "$redis_port" FLUSHALL >/dev/null
  measure w1 server 1
  [ -z "${redis_port:-}" ] || redis-cli -p "$redis_port" FLUSHALL >/dev/null
  measure w2 server 2
  echo "run $run done, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
cat "$work/results"
python3 "$(dirname "$0")/register_summary.py" "$work/results"

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
server() { # WORKERS PORT
  exec "$tether" server --bind 127.0.0.1 --coaps-port 0 --udp-only --http-port "$(free_port)" \
    --store "$store" -q --workers "$1" --coap-port "$2" --data-dir "$work/data"
}
for run in $(seq 1 "$runs"); do
  measure_threads echo "$tether" bench coap-echo --mmsg --port
  [ -z "${redis_port:-}" ] || redis-cli -p "$redis_port" FLUSHALL >/dev/null
  measure_threads w1 server 1
  [ -z "${redis_port:-}" ] || redis-cli -p "$redis_port" FLUSHALL >/dev/null
  measure_threads w2 server 2
  echo "run $run done, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
cat "$work/results"
python3 "$(dirname "$0")/register_summary.py" "$work/results"

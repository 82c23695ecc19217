#!/usr/bin/env bash
# Takeover time after a node dies (issue 22): node A on a Redis store holds CLIENTS
# registrations (`tether bench register --keep`), node B runs on the same Redis as a
# standby; A is killed with SIGKILL and the time until B has taken every registration
# (its tether_takeovers_total) is measured. It includes the heartbeat's expiry (5 s) and
# B's orphan check (every 5 s). Meanwhile B's /metrics is asked every 0.1 s: the longest
# wait for its answer says how long B's event loop stalled. Both nodes are pinned to core
# 0, Redis and the load generator to core 1. Each count is run RUNS times and the medians
# printed. Usage:
#   bench/takeover_bench.sh [TETHER_BINARY] [RUNS] [CLIENTS...]
#   (default: build/release/bin/tether 3 10000 100000)
set -euo pipefail
tether="$(realpath "${1:-build/release/bin/tether}")"
runs="${2:-3}"
shift 2 || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(10000 100000)
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
echo "load $(cut -d' ' -f1-3 /proc/loadavg); counts ${counts[*]}, $runs runs"
start_redis 1
store="redis://127.0.0.1:$redis_port"
metric() { # HTTP_PORT NAME: the value, or nothing (while the node is busy claiming)
  { curl -s --max-time 2 "http://127.0.0.1:$1/metrics" || true; } |
    awk -v n="$2" '$1 == n {print $2}'
}
node() { # NAME COAP_PORT HTTP_PORT: starts a node, prints its pid
  taskset -c 0 "$tether" server --workers 1 --bind 127.0.0.1 --coap-port "$2" --coaps-port 0 \
    --udp-only --http-port "$3" --store "$store" --node-id "$1" --data-dir "$work/$1" -q \
    >"$work/$1.log" 2>&1 &
  echo $!
}
for clients in "${counts[@]}"; do
  for run in $(seq 1 "$runs"); do
    redis-cli -p "$redis_port" FLUSHALL >/dev/null
    a_coap=$(free_port) a_http=$(free_port) b_coap=$(free_port) b_http=$(free_port)
    a=$(node "a$run" "$a_coap" "$a_http")
    b=$(node "b$run" "$b_coap" "$b_http")
    wait_port "$a_http"
    wait_port "$b_http"
    taskset -c 1 "$tether" bench register --port "$a_coap" --clients "$clients" --updates 0 \
      --lifetime 3600 --keep >/dev/null 2>&1
    # Every registration in Redis (A writes behind, once a second).
    for _ in $(seq 1 600); do
      [ "$(redis-cli -p "$redis_port" HLEN tether:ids)" -ge "$clients" ] && break
      sleep 0.1
    done
    # B has flushed without a failure for 10 s before it may claim (RedisStore::claim_after).
    sleep 11
    start=$(date +%s.%N)
    kill -KILL "$a"
    wait "$a" 2>/dev/null || true
    taken=""
    longest=0
    for _ in $(seq 1 1200); do
      asked=$(date +%s%N)
      taken=$(metric "$b_http" tether_takeovers_total)
      longest=$(((($(date +%s%N) - asked) / 1000000) > longest ? ($(date +%s%N) - asked) / 1000000 : longest))
      [ "${taken:-0}" = "$clients" ] && break
      sleep 0.1
    done
    end=$(date +%s.%N)
    echo "$clients $run $(python3 -c "print(round($end - $start, 2))") taken=${taken:-none} $longest" |
      tee -a "$work/results"
    kill "$b"
    wait "$b" 2>/dev/null || true
  done
done
python3 - "$work/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    clients, _, seconds, taken, longest = line.split()
    if taken == "taken=" + clients:
        rows.setdefault(int(clients), []).append((float(seconds), int(longest)))
print(f"{'clients':>8} {'takeover s':>11} {'longest /metrics wait ms':>25} {'runs':>5}")
for clients, r in sorted(rows.items()):
    print(f"{clients:8d} {statistics.median(t for t, _ in r):11.2f}"
          f" {statistics.median(w for _, w in r):25.0f} {len(r):5d}")
PY

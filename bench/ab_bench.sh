#!/usr/bin/env bash
# Two builds of `tether server` side by side (issue 22): RUNS alternating runs of each
# against the memory store, server pinned to core 0 and `tether bench register` to core 1,
# then the medians of the server's CPU per Update and of the Updates per second. A change's
# own cost, where single runs on a noisy machine vary more than the change. Usage:
#   bench/ab_bench.sh BINARY_BEFORE BINARY_AFTER [CLIENTS] [UPDATES] [RUNS]
#   (default: 100000 1000000 3)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
before="$(realpath "$1")"
after="$(realpath "$2")"
clients="${3:-100000}"
updates="${4:-1000000}"
runs="${5:-3}"
echo "load $(cut -d' ' -f1-3 /proc/loadavg); $clients clients, $updates updates, $runs runs"
for run in $(seq 1 "$runs"); do
  for side in before after; do
    bin="${!side}"
    port=$(free_port)
    taskset -c 0 "$bin" server --workers 1 --bind 127.0.0.1 --coap-port "$port" --coaps-port 0 \
      --http-port "$(free_port)" --store memory --data-dir "$work/d" -q 2>/dev/null &
    target=$!
    wait_udp_bound "$port"
    taskset -c 1 "$bin" bench register --port "$port" --clients "$clients" \
      --updates "$updates" --lifetime 3600 --pid "$target" 2>/dev/null |
      sed "s/^/$side: /" >>"$work/results"
    kill "$target"
    wait "$target" 2>/dev/null || true
  done
  echo "run $run done, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
python3 - "$work/results" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, _, rest = line.partition(": ")
    r = rows.setdefault(side, {"rate": [], "cpu": []})
    if rest.startswith("update "):
        r["rate"].append(float(re.search(r"([0-9.]+) /s", rest).group(1)))
    elif rest.startswith("server CPU") and "updates:" in rest:
        r["cpu"].append(float(re.search(r"([0-9.]+) us each", rest).group(1)))
for side in ("before", "after"):
    r = rows.get(side, {"rate": [], "cpu": []})
    if not r["rate"] or not r["cpu"]:
        sys.exit(f"{side}: no Update phase measured")
    print(f"{side:7} Updates/s {statistics.median(r['rate']):9.0f}  "
          f"CPU per Update {statistics.median(r['cpu']):6.2f} us  "
          f"(runs: {', '.join(f'{c:.2f}' for c in r['cpu'])})")
PY

#!/usr/bin/env bash
# Two ways to spread one port's datagrams over N threads (issue 22: "SO_REUSEPORT ... or a
# dispatcher — measure both, keep the faster"), side by side on the same work: the bare
# CoAP echo with --work-us W of CPU per request (standing in for the server's handling),
# with one thread, with two threads each on a socket of its own (SO_REUSEPORT), and with a
# dispatcher thread handing each datagram to one of two threads by its source. All of the
# target's threads are pinned to core 0 and the load generator to core 1, so the figure
# that carries to a larger machine is the target's CPU per request (all threads, from
# /proc): what each way of spreading adds per request. Usage:
#   bench/dispatch_bench.sh [TETHER_BINARY] [CLIENTS] [UPDATES] [RUNS] [WORK_US]
#   (default: build/release/bin/tether 100000 500000 3 8)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_arguments "$@"
work_us="${5:-8}"
target_cpus=0
generator_cpus=1
echo "load $(cut -d' ' -f1-3 /proc/loadavg); $clients clients, $updates updates, $runs runs," \
  "$work_us us of work per request, $(nproc) cores"
echo_target=("$tether" bench coap-echo --work-us "$work_us")
for run in $(seq 1 "$runs"); do
  measure_threads echo "${echo_target[@]}" --mmsg --port
  measure_threads reuseport "${echo_target[@]}" --mmsg --threads 2 --port
  measure_threads dispatch "${echo_target[@]}" --threads 2 --dispatch --port
  echo "run $run done, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
cat "$work/results"
python3 "$(dirname "$0")/register_summary.py" "$work/results"

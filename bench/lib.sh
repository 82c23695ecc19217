# What the bench scripts share (sourced): a scratch directory and the processes they start,
# both cleaned up on exit; free ports; waiting for a port to accept.
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits (at most 30 s) until something accepts on 127.0.0.1:$1.
wait_port() {
  python3 - "$1" <<'PY'
import socket, sys, time
end = time.time() + 30
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}
# Waits (at most 10 s) until something has bound UDP port $1 on 127.0.0.1.
wait_udp_bound() {
  for _ in $(seq 1 100); do
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1])))' "$1" 2>/dev/null || return 0
    sleep 0.1
  done
}
# The register benches' arguments: [TETHER_BINARY] [CLIENTS] [UPDATES] [RUNS].
bench_arguments() {
  tether="$(realpath "${1:-build/release/bin/tether}")"
  clients="${2:-100000}"
  updates="${3:-500000}"
  runs="${4:-3}"
}
# Starts a scratch redis-server on CPU $1 (nothing kept on disk), stopped on exit; sets
# redis_port.
start_redis() {
  redis_port=$(free_port)
  taskset -c "$1" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$work" >"$work/redis.log" 2>&1 &
  pids+=($!)
  wait_port "$redis_port"
}
# The CPU ticks of each thread of process $1 named tether (the workers), one line each.
thread_ticks() {
  for stat in /proc/"$1"/task/*/stat; do
    awk '{ print $14 + $15 }' "$stat" 2>/dev/null || true
  done
}
# One run of `tether bench register` ($clients, $updates) against the target COMMAND
# starts (its port last); appends its figures and each thread's share of the target's CPU
# to $work/results. Nothing is pinned unless $target_cpus and $generator_cpus are set.
measure_threads() { # NAME COMMAND...
  local name="$1" port
  shift
  port=$(free_port)
  local pin_target=() pin_generator=()
  [ -z "${target_cpus:-}" ] || pin_target=(taskset -c "$target_cpus")
  [ -z "${generator_cpus:-}" ] || pin_generator=(taskset -c "$generator_cpus")
  "${pin_target[@]}" "$@" "$port" 2>>"$work/targets.log" &
  local target=$!
  wait_udp_bound "$port"
  if ! kill -0 "$target" 2>/dev/null; then
    echo "$name did not start:" && tail -3 "$work/targets.log" && return 0
  fi
  timeout 600 "${pin_generator[@]}" "$tether" bench register --port "$port" --clients "$clients" \
    --updates "$updates" --lifetime 3600 --pid "$target" 2>/dev/null |
    sed "s/^/$name: /" >>"$work/results"
  # Each thread's share of the server's CPU (threads with under 1 % are left out: the
  # start-up and signal threads).
  thread_ticks "$target" | sort -rn | awk -v w="$name" '
    { t[NR] = $1; sum += $1 }
    END { s = w ": threads"; for (i = 1; i <= NR; i++) if (sum > 0 && t[i] / sum >= 0.01) s = s sprintf(" %.0f%%", 100 * t[i] / sum); print s }' >>"$work/results"
  kill "$target"
  wait "$target" 2>/dev/null || true
}

# The broker benches (mqtt_bench.sh, lorawan_scale.sh): mosquitto and the load generators on
# core 1, the measured side on core 0; for each client count N, the broker's bare round trip
# (bench mqtt --bare against bench mqtt-echo) and then the caller's server and generator:
#   measured_server N           starts tether server on core 0 in the background (-> $!)
#   load_generator N W PID      runs the generator on core 1 against it
# Uses $tether, $seconds and $window; prints one line per measurement, and the load average.
broker_bench() {
  local port broker n w echo_pid server_pid
  port=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nmax_queued_messages 100000\n' "$port" >"$work/m.conf"
  taskset -c 1 mosquitto -c "$work/m.conf" >"$work/mosquitto.log" 2>&1 &
  pids+=("$!")
  sleep 0.5
  broker="mqtt://127.0.0.1:$port"
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
  for n in "$@"; do
    w=$(( n < window ? n : window ))
    taskset -c 0 "$tether" bench mqtt-echo --broker "$broker" --prefix "bare$n" &
    echo_pid=$!
    sleep 0.5
    taskset -c 1 "$tether" bench mqtt --broker "$broker" --prefix "bare$n" --bare --clients "$n" \
      --window "$w" --seconds "$seconds" | sed "s/^/n=$n /"
    kill -TERM "$echo_pid"; wait "$echo_pid" 2>/dev/null || true
    measured_server "$n"
    server_pid=$!
    sleep 1
    load_generator "$n" "$w" "$server_pid" | sed "s/^/n=$n /"
    kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
  done
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
}

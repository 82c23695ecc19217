#!/usr/bin/env bash
# The operator's first contact: every command answers --help on stdout with exit 0, and
# --version names the release. Usage: cli_test.sh TETHER_BINARY
set -euo pipefail
tether="$1"
fail() { echo "FAIL: $*" >&2; exit 1; }

for cmd in "" server bootstrap client bench "bench register" "bench coap-echo" coap "coap serve" lwm2m \
           "lwm2m models" "lwm2m decode"; do
  # shellcheck disable=SC2086
  out=$("$tether" $cmd --help 2>/tmp/cli_err.$$) || fail "'tether $cmd --help' exited $?"
  [ -n "$out" ] || fail "'tether $cmd --help' printed nothing on stdout"
  [ ! -s /tmp/cli_err.$$ ] || fail "'tether $cmd --help' wrote to stderr: $(cat /tmp/cli_err.$$)"
done
rm -f /tmp/cli_err.$$
"$tether" --version | grep -Eq '^tether [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
# Misuse is not help: no command at all is an error.
if "$tether" >/dev/null 2>&1; then fail "no command should exit non-zero"; fi
# --log-format json: one JSON object per line, the same fields; --log-level warn drops info.
log=$(mktemp)
run_server() {
  "$tether" server --coap-port 0 --coaps-port 0 --http-port 0 --store memory "$@" 2>"$log" &
  local pid=$!
  for _ in $(seq 1 100); do grep -q started "$log" && break; sleep 0.05; done
  sleep 0.2
  kill "$pid"; wait "$pid" || true
}
run_server --log-format json
/usr/bin/python3 - "$log" <<'PY' || fail "json log: $(cat "$log")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert lines[0]["event"] == "started" and lines[0]["level"] == "info" and "ts" in lines[0]
assert any(l["event"] == "stopped" for l in lines)
PY
run_server --log-level warn
[ ! -s "$log" ] || fail "--log-level warn still wrote: $(cat "$log")"
if "$tether" server --log-level loud 2>/dev/null; then fail "a bad --log-level was accepted"; fi
# Config keys are the flags in camelCase; a renamed one says what to write instead.
echo '{"renewSessions": false}' >"$log.json"
if "$tether" server --config "$log.json" 2>"$log"; then fail "an old config key was accepted"; fi
grep -q 'is now keepSessions' "$log" || fail "old key: $(cat "$log")"
rm -f "$log.json"
rm -f "$log"

# bench register cleans up after itself: every client de-registers unless --keep.
source "$(dirname "$0")/common.sh"
coap_port=$(free_port)
http_port=$(free_port)
"$tether" server --coap-port "$coap_port" --coaps-port 0 --http-port "$http_port" --store memory \
  -q 2>/dev/null &
pids+=("$!")
count() { curl -s "http://127.0.0.1:$http_port/api/clients" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$http_port/api/clients" >/dev/null && break; sleep 0.1; done
"$tether" bench register --port "$coap_port" --clients 50 --sockets 5 --keep >"$work/bench.out" 2>&1 ||
  fail "bench: $(cat "$work/bench.out")"
[ "$(count)" = 50 ] || fail "--keep: $(count) registrations"
"$tether" bench register --port "$coap_port" --clients 50 --sockets 5 >"$work/bench.out" 2>&1 ||
  fail "bench: $(cat "$work/bench.out")"
grep -q '^deregister' "$work/bench.out" || fail "no de-registration: $(cat "$work/bench.out")"
[ "$(count)" = 0 ] || fail "after bench: $(count) registrations left"

# bench coap-echo, the baseline of docs/performance.md, answers what bench register asks
# (Register 2.01 with a location, Update 2.04, De-register 2.02), one datagram per call or
# batched (--mmsg), on two threads with a socket each or behind a dispatcher; with --pid
# bench register reports the server's CPU per Update.
for mode in "" --mmsg "--threads 2 --mmsg" "--threads 2 --dispatch --work-us 1"; do
  echo_port=$(free_port)
  # shellcheck disable=SC2086
  "$tether" bench coap-echo --port "$echo_port" $mode &
  echo_pid=$!
  pids+=("$echo_pid")
  "$tether" bench register --port "$echo_port" --clients 50 --sockets 5 --updates 200 \
    --pid "$echo_pid" >"$work/bench.out" 2>&1 || fail "bench against coap-echo $mode: $(cat "$work/bench.out")"
  grep -Eq '^update +200 ok +0 errors' "$work/bench.out" || fail "echo $mode updates: $(cat "$work/bench.out")"
  grep -Eq '^deregister +50 ok +0 errors' "$work/bench.out" || fail "echo $mode: $(cat "$work/bench.out")"
  grep -q '^server CPU .* updates per CPU second' "$work/bench.out" || fail "no CPU line: $(cat "$work/bench.out")"
  "$tether" coap post "coap://127.0.0.1:$echo_port/rd?ep=e&lt=60" -v 2>"$work/coap.err" >/dev/null ||
    fail "coap post to the echo: $(cat "$work/coap.err")"
  grep -q 'Location-Path (8): "rd"' "$work/coap.err" || fail "echo location: $(cat "$work/coap.err")"
  kill "$echo_pid"
done

# tether coap -v prints every option, Location-Path included; -O adds any option.
"$tether" coap post "coap://127.0.0.1:$coap_port/rd?ep=cli&lt=60" -t link -e '</3/0>' -v \
  -O 2048,0xabcd >"$work/coap.out" 2>"$work/coap.err" || fail "coap post: $(cat "$work/coap.err")"
grep -q 'Location-Path (8): "rd"' "$work/coap.err" || fail "-v: $(cat "$work/coap.err")"
# An unknown critical option (odd number) is refused by the server: 4.02 Bad Option.
if "$tether" coap get "coap://127.0.0.1:$coap_port/rd" -O 2049,x 2>"$work/coap.err"; then
  fail "a critical unknown option was accepted"
fi
grep -q '4.02' "$work/coap.err" || fail "-O 2049: $(cat "$work/coap.err")"
# A port nobody listens on answers with ICMP port unreachable: the request ends with that,
# not with a timeout after the retransmissions.
closed_port=$(free_port)
if "$tether" coap get "coap://127.0.0.1:$closed_port/x" -T 60 2>"$work/icmp.err"; then
  fail "a closed port answered"
fi
grep -q '(ICMP)' "$work/icmp.err" || fail "no ICMP error: $(cat "$work/icmp.err")"

# --state keeps the endpoint name: started again with --state alone, it is the same device.
"$tether" client -e kept-name --server "coap://127.0.0.1:$coap_port" --state "$work/state.json" \
  -q 2>"$work/client1.log" &
c1=$!
for _ in $(seq 1 100); do
  curl -s "http://127.0.0.1:$http_port/api/clients" | grep -q '"endpoint":"kept-name"' && break
  sleep 0.1
done
kill "$c1"; wait "$c1" || true
curl -s -X DELETE "http://127.0.0.1:$http_port/api/clients/kept-name" >/dev/null
"$tether" client --state "$work/state.json" -q 2>"$work/client2.log" &
pids+=("$!")
for _ in $(seq 1 100); do
  curl -s "http://127.0.0.1:$http_port/api/clients" | grep -q '"endpoint":"kept-name"' && break
  sleep 0.1
done
curl -s "http://127.0.0.1:$http_port/api/clients" | grep -q '"endpoint":"kept-name"' ||
  fail "--state alone: $(curl -s "http://127.0.0.1:$http_port/api/clients") $(cat "$work/client2.log")"
echo "PASS: cli"

#!/usr/bin/env bash
# Interoperability with libcoap's command-line tools (Debian package libcoap3-bin), both
# directions, over UDP and TCP, on 127.0.0.1 only. Usage:
#   libcoap_interop.sh TETHER_BINARY SCENARIO
# Each scenario starts the peer it needs on a free port and stops it on exit.
set -euo pipefail

tether="$1"
scenario="$2"
client=$(command -v coap-client-notls || command -v coap-client)
server=$(command -v coap-server-notls || command -v coap-server)
source "$(dirname "$0")/common.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Waits (bounded) until a UDP CoAP server answers on the port. coap-client exits 0 when
# nothing answers too, so only an answer with a payload counts (both servers' resources
# here have one).
wait_ready() {
  local url="$1"
  for _ in $(seq 1 100); do
    if [ -n "$(timeout 2 "$client" -B 1 -m get "$url" 2>/dev/null)" ]; then return 0; fi
    sleep 0.1
  done
  fail "server at $url did not come up"
}

start_tether_server() {
  port=$(free_port)
  "$tether" coap serve --bind 127.0.0.1 --port "$port" --interval-ms 300 >"$work/server.log" 2>&1 &
  pids+=($!)
  wait_ready "coap://127.0.0.1:$port/hello"
}

start_libcoap_server() {
  port=$(free_port)
  "$server" -A 127.0.0.1 -p "$port" -d 20 >"$work/server.log" 2>&1 &
  pids+=($!)
  wait_ready "coap://127.0.0.1:$port/"
}

payload() { head -c 102400 /dev/urandom >"$work/payload.bin"; }

same_prefix() {
  # coap-client may append a newline to what it prints; compare the payload bytes.
  local expected="$1" got="$2"
  local n
  n=$(stat -c %s "$expected")
  [ "$(stat -c %s "$got")" -ge "$n" ] || fail "got $(stat -c %s "$got") bytes, expected $n"
  cmp -n "$n" "$expected" "$got" >/dev/null || fail "payload differs"
}

case "$scenario" in
  # ---- libcoap client against tether server ---------------------------------------
  libcoap-client-basic-udp|libcoap-client-basic-tcp)
    start_tether_server
    scheme=coap; [ "${scenario##*-}" = tcp ] && scheme=coap+tcp
    base="$scheme://127.0.0.1:$port"
    [ "$(timeout 20 "$client" -B 10 -m get "$base/hello")" = "Hello from Tether" ] || fail "GET /hello"
    timeout 20 "$client" -B 10 -m put -e "first" "$base/store" || fail "PUT"
    [ "$(timeout 20 "$client" -B 10 -m get "$base/store")" = "first" ] || fail "GET after PUT"
    timeout 20 "$client" -B 10 -m post -e "second" "$base/store" || fail "POST"
    [ "$(timeout 20 "$client" -B 10 -m get "$base/store")" = "second" ] || fail "GET after POST"
    timeout 20 "$client" -B 10 -m delete "$base/store" || fail "DELETE"
    [ -z "$(timeout 20 "$client" -B 10 -m get "$base/store")" ] || fail "GET after DELETE"
    out=$(timeout 20 "$client" -B 10 -m get "$base/missing" 2>&1 || true)
    echo "$out" | grep -q "4.04" || fail "4.04 for a missing resource, got: $out"
    ;;
  libcoap-client-block-udp|libcoap-client-block-tcp)
    start_tether_server
    scheme=coap; [ "${scenario##*-}" = tcp ] && scheme=coap+tcp
    base="$scheme://127.0.0.1:$port"
    payload
    # Block1: 100 KiB PUT in 512-byte blocks, then Block2 back in 256-byte blocks.
    timeout 60 "$client" -B 50 -b 512 -m put -f "$work/payload.bin" "$base/store" || fail "Block1 PUT"
    timeout 60 "$client" -B 50 -b 256 -m get -o "$work/got.bin" "$base/store" || fail "Block2 GET"
    same_prefix "$work/payload.bin" "$work/got.bin"
    # Block2 of the server's own 100 KiB resource, checked against our client's copy.
    timeout 60 "$client" -B 50 -m get -o "$work/large-libcoap.bin" "$base/large" || fail "GET /large"
    "$tether" coap get "$base/large" -o "$work/large-tether.bin" || fail "tether GET /large"
    [ "$(stat -c %s "$work/large-tether.bin")" = 102400 ] || fail "/large is not 100 KiB"
    same_prefix "$work/large-tether.bin" "$work/large-libcoap.bin"
    ;;
  libcoap-client-observe-udp|libcoap-client-observe-tcp)
    start_tether_server
    scheme=coap; [ "${scenario##*-}" = tcp ] && scheme=coap+tcp
    timeout 20 "$client" -B 10 -s 2 -w "$scheme://127.0.0.1:$port/counter" >"$work/obs.txt" || true
    lines=$(grep -c '^[0-9]\+$' "$work/obs.txt" || true)
    [ "$lines" -ge 3 ] || fail "expected at least 3 notifications in 2 s, got: $(cat "$work/obs.txt")"
    # Values must increase strictly: notifications in order, none repeated.
    sort -n -c -u <(grep '^[0-9]\+$' "$work/obs.txt") || fail "notifications out of order"
    ;;

  # ---- tether client against libcoap server ---------------------------------------
  tether-client-basic-udp|tether-client-basic-tcp)
    start_libcoap_server
    scheme=coap; [ "${scenario##*-}" = tcp ] && scheme=coap+tcp
    base="$scheme://127.0.0.1:$port"
    "$tether" coap get "$base/" | grep -q libcoap || fail "GET /"
    "$tether" coap put "$base/res" -e "hello" -t text || fail "PUT creates"
    [ "$("$tether" coap get "$base/res")" = "hello" ] || fail "GET after PUT"
    "$tether" coap post "$base/res" -e "ignored" >/dev/null 2>&1 || true  # libcoap answers 4.05 or 2.04
    "$tether" coap delete "$base/res" || fail "DELETE"
    if "$tether" coap get "$base/res" >/dev/null 2>&1; then fail "GET after DELETE succeeded"; fi
    ;;
  tether-client-block-udp|tether-client-block-tcp)
    start_libcoap_server
    scheme=coap; [ "${scenario##*-}" = tcp ] && scheme=coap+tcp
    base="$scheme://127.0.0.1:$port"
    payload
    "$tether" coap put "$base/big" -f "$work/payload.bin" -b 512 || fail "Block1 PUT"
    "$tether" coap get "$base/big" -o "$work/got.bin" || fail "Block2 GET"
    cmp "$work/payload.bin" "$work/got.bin" || fail "payload differs"
    "$tether" coap get "$base/big" -b 128 -o "$work/got-small.bin" || fail "Block2 GET, 128-byte blocks"
    cmp "$work/payload.bin" "$work/got-small.bin" || fail "payload differs (128-byte blocks)"
    ;;
  tether-client-observe-udp|tether-client-observe-tcp)
    start_libcoap_server
    scheme=coap; [ "${scenario##*-}" = tcp ] && scheme=coap+tcp
    "$tether" coap get "$scheme://127.0.0.1:$port/time" --observe --count 3 --timeout 20 >"$work/obs.txt" \
      || fail "observe /time"
    [ "$(grep -c . "$work/obs.txt")" -ge 3 ] || fail "expected 3 notifications, got: $(cat "$work/obs.txt")"
    ;;
  *)
    fail "unknown scenario $scenario"
    ;;
esac
echo "PASS: $scenario"

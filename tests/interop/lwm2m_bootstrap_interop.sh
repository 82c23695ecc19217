#!/usr/bin/env bash
# `tether bootstrap` on 127.0.0.1 against independent peers and our own, checked through its
# REST API with curl. Usage: lwm2m_bootstrap_interop.sh TETHER_BINARY SCENARIO
#   codes            libcoap's coap-client as a raw client: Bootstrap-Request and Bootstrap-
#                    Pack-Request answers of Table 6.7-1; the pack decoded by python3-cbor2
#   server-initiated libcoap's coap-server (dynamic resources) stands in for a device's CoAP
#                    stack; a server-initiated session writes into it, read back with
#                    coap-client and decoded as TLV by `tether lwm2m decode`
#   end-to-end-udp / end-to-end-tcp
#                    `tether client --bootstrap` bootstraps, registers with `tether
#                    server` as configured, and /3/0 reads through the server's API
set -euo pipefail

tether="$1"
scenario="$2"
client=$(command -v coap-client-notls || command -v coap-client)
coap_server=$(command -v coap-server-notls || command -v coap-server)
source "$(dirname "$0")/common.sh"

fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/*.log; do
    echo "--- $log" >&2
    cat "$log" >&2 || true
  done
  exit 1
}

bs_port=$(free_port)
bs_http=$(free_port)
api="http://127.0.0.1:$bs_http/api"

wait_health() {
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$1/api/health" >/dev/null; then return 0; fi
    sleep 0.1
  done
  fail "nothing answers on HTTP port $1"
}

start_bootstrap() {
  "$tether" bootstrap --bind 127.0.0.1 --coap-port "$bs_port" --coaps-port 0 --http-host 127.0.0.1 \
    --http-port "$bs_http" --data-dir "$work/bs-data" --step-timeout-ms 5000 "$@" \
    >>"$work/bootstrap.log" 2>&1 &
  pids+=("$!")
  wait_health "$bs_http"
}

# Waits until the endpoint's session has ended; leaves it in $work/api.json.
wait_session() {
  for _ in $(seq 1 150); do
    if [ "$(api_status "$api/bootstrap/$1/session")" = 200 ] &&
      ! grep -q '"state":"running"' "$work/api.json"; then
      return 0
    fi
    sleep 0.1
  done
  fail "the session of $1 did not end: $(cat "$work/api.json")"
}

# coap METHOD URI [args]: prints the response code.
coap() {
  local method="$1" uri="$2"
  shift 2
  coap_request "$method" "$uri" "$@"
}

config() {
  cat <<JSON
{"security": {"1": {"uri": "$1", "bootstrap": false, "mode": "nosec", "shortServerId": 101}},
 "servers": {"0": {"shortServerId": 101, "lifetime": 60, "binding": "$2"}},
 "acl": {"0": {"objectId": 3, "instanceId": 0, "acl": {"101": 15}, "owner": 101}}}
JSON
}

case "$scenario" in
  codes)
    start_bootstrap
    call 200 -X PUT "$api/bootstrap/dev1" -d "$(config coap://127.0.0.1:5683 U)"
    call 400 -X PUT "$api/bootstrap/bad" -d '{"read": ["/3"]}'
    jcheck 'j["code"] == "4.00" and "/3" in j["message"]'
    base="coap://127.0.0.1:$bs_port"
    expect_code 2.04 "Bootstrap-Request" post "$base/bs?ep=dev1"
    expect_code 2.04 "Bootstrap-Request with pct" post "$base/bs?ep=dev1&pct=112"
    expect_code 4.00 "no endpoint name" post "$base/bs"
    expect_code 4.00 "unknown endpoint" post "$base/bs?ep=stranger"
    expect_code 4.00 "unknown parameter" post "$base/bs?ep=dev1&lt=60"
    expect_code 4.15 "pct not a write format" post "$base/bs?ep=dev1&pct=0"
    expect_code 4.05 "GET /bs" get "$base/bs?ep=dev1"
    expect_code 4.05 "POST /bspack" post "$base/bspack?ep=dev1"
    expect_code 4.04 "another path" post "$base/rd?ep=dev1"
    expect_code 4.06 "pack in TLV" get "$base/bspack?ep=dev1" -A 11542
    expect_code 4.00 "pack for a stranger" get "$base/bspack?ep=stranger"
    timeout 20 "$client" -B 10 -m get -A 112 -o "$work/pack.cbor" "$base/bspack?ep=dev1" ||
      fail "Bootstrap-Pack-Request"
    /usr/bin/python3 - "$work/pack.cbor" <<'PY' || fail "the pack does not hold the configuration"
import cbor2, sys
records = cbor2.loads(open(sys.argv[1], "rb").read())
base, values = "", {}
for r in records:
    base = r.get(-2, base)
    name = base + r.get(0, "")
    values[name] = r.get(3, r.get(4, r.get(2)))
assert values["/0/1/0"] == "coap://127.0.0.1:5683", values
assert values["/0/1/10"] == 101 and values["/1/0/1"] == 60 and values["/2/0/2/101"] == 15, values
PY
    call 200 "http://127.0.0.1:$bs_http/metrics"
    grep -q '^tether_bootstrap_packs_total 1$' "$work/api.json" || fail "metrics: $(cat "$work/api.json")"
    ;;

  server-initiated)
    start_bootstrap
    device_port=$(free_port)
    "$coap_server" -A 127.0.0.1 -p "$device_port" -d 50 >>"$work/coap-server.log" 2>&1 &
    pids+=("$!")
    device="coap://127.0.0.1:$device_port"
    for _ in $(seq 1 50); do
      [ "$(coap get "$device/.well-known/core")" = 2.05 ] && break
      sleep 0.1
    done
    # The stand-in device takes Bootstrap-Finish once /bs exists as a resource.
    expect_code 2.01 "prepare /bs on the device" put "$device/bs" -e x
    call 200 -X PUT "$api/bootstrap/dev1" -d "$(config coap://127.0.0.1:5683 U)"
    call 400 -X POST "$api/bootstrap/dev1/start" -d ''
    call 404 -X POST "$api/bootstrap/nobody/start" -d "{\"address\": \"127.0.0.1:$device_port\"}"
    call 202 -X POST "$api/bootstrap/dev1/start" -d "{\"address\": \"127.0.0.1:$device_port\"}"
    wait_session dev1
    jcheck 'j["state"] == "finished" and j["serverInitiated"]'
    jcheck '[s["operation"] for s in j["steps"]] == ["bootstrap-delete"] * 2 + ["bootstrap-write"] * 3 + ["bootstrap-finish"]'
    jcheck 'all(s["result"].startswith("2.") or s["result"] == "4.04" for s in j["steps"])'
    timeout 20 "$client" -B 10 -m get -o "$work/security.tlv" "$device/0/1" || fail "read /0/1"
    "$tether" lwm2m decode -f tlv -p /0/1 "$work/security.tlv" >"$work/security.json" ||
      fail "the written Security instance is not TLV"
    grep -q 'coap://127.0.0.1:5683' "$work/security.json" || fail "/0/1: $(cat "$work/security.json")"
    timeout 20 "$client" -B 10 -m get -o "$work/server.tlv" "$device/1/0" || fail "read /1/0"
    "$tether" lwm2m decode -f tlv -p /1/0 "$work/server.tlv" | grep -q '"/1/0/1": *60' ||
      fail "/1/0 was not written as configured"
    # Without an address the session goes where the device was last reached.
    call 202 -X POST "$api/bootstrap/dev1/start" -d ''
    wait_session dev1
    jcheck 'j["state"] == "finished"'
    ;;

  end-to-end-udp | end-to-end-tcp)
    scheme=coap
    [ "$scenario" = end-to-end-tcp ] && scheme=coap+tcp
    lwm2m_port=$(free_port)
    lwm2m_http=$(free_port)
    "$tether" server --bind 127.0.0.1 --coap-port "$lwm2m_port" --coaps-port 0 --http-host 127.0.0.1 \
      --http-port "$lwm2m_http" --store memory >>"$work/server.log" 2>&1 &
    pids+=("$!")
    wait_health "$lwm2m_http"
    printf '{"dev1": %s}\n' "$(config "$scheme://127.0.0.1:$lwm2m_port" "$([ "$scheme" = coap ] && echo U || echo T)")" \
      >"$work/configs.json"
    start_bootstrap --configs "$work/configs.json"
    "$tether" client --bootstrap "$scheme://127.0.0.1:$bs_port" --endpoint dev1 \
      --state "$work/client-state.json" >>"$work/device.log" 2>&1 &
    client_pid=$!
    pids+=("$client_pid")
    wait_session dev1
    jcheck 'j["state"] == "finished" and not j["serverInitiated"]'
    jcheck 'j["transport"] == ("tcp" if "'"$scheme"'" == "coap+tcp" else "udp")'
    for _ in $(seq 1 100); do
      [ "$(api_status "http://127.0.0.1:$lwm2m_http/api/clients/dev1")" = 200 ] && break
      sleep 0.1
    done
    call 200 "http://127.0.0.1:$lwm2m_http/api/clients/dev1"
    jcheck 'j["lifetime"] == 60'
    call 200 "http://127.0.0.1:$lwm2m_http/api/clients/dev1/3/0"
    jcheck 'j["values"]["/3/0/0"] == "Tether"'
    # The configuration came from the file and is kept in the store.
    grep -q '"dev1"' "$work/bs-data/bootstrap.json" || fail "the store file lacks dev1"
    # The client kept its new accounts: restarted from its state file alone, it registers
    # without bootstrapping again.
    kill -TERM "$client_pid"
    wait "$client_pid" || true
    for _ in $(seq 1 50); do
      [ "$(api_status "http://127.0.0.1:$lwm2m_http/api/clients/dev1")" = 404 ] && break
      sleep 0.1
    done
    [ "$(api_status "http://127.0.0.1:$lwm2m_http/api/clients/dev1")" = 404 ] || fail "no De-register at stop"
    grep -q '"servers"' "$work/client-state.json" || fail "state: $(cat "$work/client-state.json")"
    "$tether" client --endpoint dev1 --state "$work/client-state.json" >"$work/device2.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 1 100); do
      [ "$(api_status "http://127.0.0.1:$lwm2m_http/api/clients/dev1")" = 200 ] && break
      sleep 0.1
    done
    [ "$(api_status "http://127.0.0.1:$lwm2m_http/api/clients/dev1")" = 200 ] ||
      fail "no registration after restart: $(cat "$work/device2.log")"
    if grep -q 'event=bootstrap-started' "$work/device2.log"; then fail "bootstrapped again"; fi
    ;;

  *)
    echo "unknown scenario $scenario" >&2
    exit 2
    ;;
esac
echo "PASS: $scenario"

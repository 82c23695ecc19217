#!/usr/bin/env bash
# `tether client` against libcoap's coap-client standing in for an LwM2M server: the client
# is configured with a server at 127.0.0.1:$server_port, and coap-client sends its requests
# from that very port (-p), so the client takes them for its server's (NoSec identifies a
# server by address). Usage: lwm2m_client_interop.sh TETHER_BINARY SCENARIO
# Scenarios: operations (Read, Write, Discover, Execute, Write-Attributes, the codes of
# Table 6.7-3 and an object defined in XML by --models), observe (notifications of the moving temperature), stranger (4.01 for a
# peer that is no server of the client), firmware-pull (a Package URI served by libcoap's
# coap-server, fetched block-wise, then installed by Execute Update), current-time (a
# Current Time write is asked for CoAP Echo, and set).
set -euo pipefail

tether="$1"
scenario="$2"
client=$(command -v coap-client-notls || command -v coap-client)
coap_server=$(command -v coap-server-notls || command -v coap-server)
source "$(dirname "$0")/common.sh"

fail() {
  echo "FAIL: $*" >&2
  echo "--- client log" >&2
  cat "$work/client.log" >&2 || true
  exit 1
}

server_port=$(free_port)
device_port=$(free_port)
device="coap://127.0.0.1:$device_port"

# coap [-p PORT] METHOD PATH [coap-client args...]: sent from the server's port (or PORT);
# prints the code, the payload lands in $work/out.
coap() {
  local from="$server_port"
  if [ "$1" = "-p" ]; then from="$2"; shift 2; fi
  local method="$1" path="$2"
  shift 2
  coap_request "$method" "$device$path" -p "$from" -o "$work/out" "$@"
}

# A device maker's own object, defined in OMA XML and filled by the factory configuration.
write_model 33000 Valve 1 Label RW String
echo '{"objects": {"/33000/0/1": "garden"}}' >"$work/factory.json"
"$tether" client --endpoint interop --server "coap://127.0.0.1:$server_port" --port "$device_port" \
  --state "$work/state.json" --models "$work/models" --config "$work/factory.json" \
  >"$work/client.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 50); do grep -q 'event=start' "$work/client.log" && break; sleep 0.1; done

case "$scenario" in
  operations)
    expect_code 2.05 "read the manufacturer" get /3/0/0
    [ "$(cat "$work/out")" = "Tether" ] || fail "manufacturer: $(cat "$work/out")"
    expect_code 2.05 "read /3/0 as TLV" get /3/0 -A 11542
    "$tether" lwm2m decode -f tlv -p /3/0 "$work/out" | grep -q '"/3/0/0": *"Tether"' ||
      fail "the Device instance is not TLV"
    expect_code 2.05 "read /3/0 as SenML JSON" get /3/0 -A 110
    grep -q '"vs":"tether-client"' "$work/out" || fail "SenML: $(cat "$work/out")"
    expect_code 2.04 "write the UTC offset" put /3/0/14 -t 0 -e "+05:00"
    expect_code 2.05 "read it back" get /3/0/14
    [ "$(cat "$work/out")" = "+05:00" ] || fail "UTC offset: $(cat "$work/out")"
    expect_code 2.05 "discover /3303/0" get /3303/0 -A 40
    grep -q '</3303/0/5700>' "$work/out" || fail "discover: $(cat "$work/out")"
    expect_code 2.04 "write attributes" put "/3303/0/5700?pmin=2&pmax=20"
    expect_code 2.05 "discover shows them" get /3303/0/5700 -A 40
    grep -q 'pmin=2;pmax=20' "$work/out" || fail "attributes: $(cat "$work/out")"
    expect_code 2.04 "reset min/max" post /3303/0/5605
    expect_code 2.01 "create a light" post /3311 -t 110 -e '[{"n":"/3311/3/5850","vb":true}]'
    grep -q 'Location-Path:3311' "$work/coap.out" || fail "no location: $(cat "$work/coap.out")"
    expect_code 2.02 "delete it" delete /3311/3
    expect_code 4.05 "write a read-only resource" put /3/0/0 -t 0 -e "x"
    expect_code 4.04 "read a missing instance" get /3/9
    expect_code 4.01 "read the Security object" get /0
    expect_code 4.06 "an Accept the client cannot produce" get /3/0 -A 9999
    expect_code 4.15 "a body format the client cannot read" put /3/0/14 -t 9999 -e "x"
    expect_code 4.00 "inconsistent attributes" put "/3303/0/5700?pmin=30&pmax=10"
    # Core TS 5.4.5: a malformed argument list executes nothing (no reboot).
    expect_code 4.00 "malformed Execute arguments" post /3/0/4 -e "zz"
    # Transport TS Table 6.4.4-1: POST with a body to a multiple-instance resource.
    expect_code 2.04 "partial update of /1/0/25" post /1/0/25 -t 110 -e '[{"n":"/1/0/25/3","vs":"1.1"}]'
    expect_code 2.05 "read it back" get /1/0/25/3
    [ "$(cat "$work/out")" = "1.1" ] || fail "/1/0/25/3: $(cat "$work/out")"
    # Core TS E.2: the account built from --server holds every mandatory resource, and
    # Discover lists the executable ones.
    expect_code 2.05 "Notification Storing" get /1/0/6
    [ "$(cat "$work/out")" = "1" ] || fail "/1/0/6: $(cat "$work/out")"
    expect_code 2.05 "discover /1/0" get /1/0 -A 40
    grep -q '</1/0/8>' "$work/out" || fail "discover /1/0: $(cat "$work/out")"
    expect_code 2.05 "read the custom object" get /33000/0/1
    [ "$(cat "$work/out")" = "garden" ] || fail "custom object: $(cat "$work/out")"
    expect_code 2.04 "write it" put /33000/0/1 -t 0 -e "pond"
    ;;
  observe)
    # The temperature moves every 5 s; observe it for 12 s.
    timeout 20 "$client" -B 12 -s 12 -v 7 -p "$server_port" -m get "$device/3303/0/5700" \
      >"$work/observe.out" 2>&1 || true
    count=$(grep -oE 'c:2\.05.*Observe:[0-9]+' "$work/observe.out" | wc -l)
    [ "$count" -ge 2 ] || fail "expected the first answer and a notification, got: $(cat "$work/observe.out")"
    ;;
  stranger)
    expect_code 4.01 "a request from a peer that is no server" -p "$(free_port)" get /3/0/0
    ;;
  firmware-pull)
    files_port=$(free_port)
    "$coap_server" -A 127.0.0.1 -p "$files_port" -d 10 >"$work/coap-server.log" 2>&1 &
    pids+=("$!")
    head -c 20000 /dev/urandom >"$work/image.bin"
    for _ in $(seq 1 50); do
      timeout 20 "$client" -B 5 -m put -b 512 -f "$work/image.bin" \
        "coap://127.0.0.1:$files_port/fw.bin" >/dev/null 2>&1 && break
      sleep 0.1
    done
    expect_code 2.04 "set the Package URI" put /5/0/1 -t 0 -e "coap://127.0.0.1:$files_port/fw.bin"
    for _ in $(seq 1 100); do
      coap get /5/0/3 >/dev/null
      [ "$(cat "$work/out")" = 2 ] && break
      sleep 0.1
    done
    [ "$(cat "$work/out")" = 2 ] || fail "state is not Downloaded: $(cat "$work/out")"
    expect_code 2.04 "execute Update" post /5/0/2
    cmp "$work/image.bin" "$work/state.json.firmware.bin" || fail "the installed image differs"
    expect_code 2.05 "read the result" get /5/0/5
    [ "$(cat "$work/out")" = 1 ] || fail "Update Result is not 1: $(cat "$work/out")"
    ;;
  current-time)
    # Transport TS 5.2.9.5: a Current Time write proves itself fresh with CoAP Echo; libcoap
    # repeats the PUT with the client's Echo value on its own. A GET needs no proof.
    expect_code 2.04 "write Current Time" put /3/0/13 -t 0 -e 1900000000
    grep -qE 'c:4\.01 .*Echo:0x[0-9a-f]+' "$work/coap.out" || fail "no 4.01 with Echo: $(cat "$work/coap.out")"
    expect_code 2.05 "read Current Time" get /3/0/13
    grep -q 'Echo' "$work/coap.out" && fail "a read was asked for an Echo"
    time_now=$(cat "$work/out")
    [ "$time_now" -ge 1900000000 ] && [ "$time_now" -lt 1900000600 ] || fail "Current Time $time_now"
    ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
echo "PASS: $scenario"

#!/usr/bin/env bash
# `tether server` against libcoap's coap-client (libcoap3-bin) acting as a raw LwM2M client,
# over UDP and TCP on 127.0.0.1, with the REST API checked by curl. Usage:
#   lwm2m_server_interop.sh TETHER_BINARY SCENARIO
# Scenarios: registration-udp, registration-tcp, bad-requests, send, restart, and
# api-udp / api-tcp / api-restart, where `tether client` (our LwM2M client) answers while
# every REST route is exercised over real HTTP and UDP or TCP, and echo (freshness checks
# with CoAP Echo on both sides).
set -euo pipefail

tether="$1"
scenario="$2"
client=$(command -v coap-client-notls || command -v coap-client)
source "$(dirname "$0")/common.sh"

fail() {
  echo "FAIL: $*" >&2
  echo "--- server log" >&2
  cat "$work/server.log" >&2 || true
  exit 1
}

start_server() {
  "$tether" server --bind 127.0.0.1 --coap-port "$coap_port" --coaps-port 0 --http-host 127.0.0.1 \
    --http-port "$http_port" "$@" >>"$work/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$http_port/api/health" >/dev/null; then return 0; fi
    sleep 0.1
  done
  fail "server did not come up"
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || fail "server exited with an error on SIGTERM"
}

coap_port=$(free_port)
http_port=$(free_port)
base="coap://127.0.0.1:$coap_port"
api="http://127.0.0.1:$http_port/api"

# coap() METHOD PATH?QUERY [payload args...]: prints the response code (2.01, 4.00, ...).
coap() {
  local method="$1" target="$2"
  shift 2
  coap_request "$method" "$scheme://127.0.0.1:$coap_port$target" "$@"
}
location() { grep -oE 'Location-Path:[^] ,]+' "$work/coap.out" | cut -d: -f2 | paste -sd/; }
start_device() {
  local uri="$1"
  shift
  "$tether" client --server "$uri" --endpoint dev1 --lifetime 60 "$@" >>"$work/device.log" 2>&1 &
  device_pid=$!
  pids+=("$device_pid")
  for _ in $(seq 1 100); do
    [ "$(api_status "$api/clients/dev1")" = 200 ] && return 0
    sleep 0.1
  done
  fail "the client did not register: $(cat "$work/device.log")"
}
wait_for_event() {
  for _ in $(seq 1 150); do grep -q "$1" "$work/events.txt" && return 0; sleep 0.1; done
  fail "no event matching '$1' in: $(cat "$work/events.txt")"
}
links='</1/0>,</3/0>,</3303/0>'

scheme=coap
case "$scenario" in
  registration-udp|registration-tcp)
    [ "$scenario" = registration-tcp ] && scheme=coap+tcp
    start_server --store memory
    expect_code 2.01 "register" post "/rd?ep=cc1&lt=60&lwm2m=1.1&b=U" -t 40 -e "$links"
    loc=$(location)
    [[ "$loc" == rd/* ]] || fail "location '$loc' is not under /rd"
    [ "$(api_status "$api/clients/cc1")" = 200 ] || fail "GET /api/clients/cc1"
    grep -q '"lifetime":60' "$work/api.json" || fail "lifetime not 60: $(cat "$work/api.json")"
    transport=udp
    [ "$scheme" = coap+tcp ] && transport=tcp
    grep -q "\"transport\":\"$transport\"" "$work/api.json" || fail "transport is not $transport"
    grep -q '"address":"127.0.0.1:' "$work/api.json" || fail "address missing: $(cat "$work/api.json")"
    expect_code 2.04 "update" post "/$loc?lt=120"
    [ "$(api_status "$api/clients/cc1")" = 200 ] && grep -q '"lifetime":120' "$work/api.json" \
      || fail "update did not change the lifetime"
    expect_code 2.04 "update with objects" post "/$loc" -t 40 -e '</3/0>'
    grep -q '"objectLinks":"</3/0>"' <(curl -s "$api/clients/cc1") || fail "objects not replaced"
    expect_code 2.02 "de-register" delete "/$loc"
    [ "$(api_status "$api/clients/cc1")" = 404 ] || fail "cc1 still registered"
    grep -q '"code":"4.04"' "$work/api.json" || fail "404 body lacks the code"
    expect_code 4.04 "update after de-register" post "/$loc"
    ;;

  bad-requests)
    start_server --store memory
    expect_code 4.00 "no endpoint name" post "/rd?lt=60" -t 40 -e "$links"
    expect_code 4.00 "unknown parameter" post "/rd?ep=x&colour=blue" -t 40 -e "$links"
    expect_code 4.00 "bad lifetime" post "/rd?ep=x&lt=soon" -t 40 -e "$links"
    expect_code 4.00 "bad binding" post "/rd?ep=x&b=Z" -t 40 -e "$links"
    expect_code 4.00 "bad object list" post "/rd?ep=x" -t 40 -e "</3/0"
    expect_code 4.12 "unsupported version" post "/rd?ep=x&lwm2m=2.0" -t 40 -e "$links"
    expect_code 4.05 "GET on /rd" get "/rd"
    expect_code 4.04 "update of an unknown location" post "/rd/nosuchid?lt=60"
    expect_code 4.04 "de-register of an unknown location" delete "/rd/nosuchid"
    expect_code 4.00 "send without registering" post "/dp" -t 110 -e '[{"n":"/3/0/0","vs":"x"}]'
    # Endpoints with credentials on file must come over DTLS: plain UDP gets 4.03.
    [ "$(api_status -X PUT -d '{"mode":"psk","identity":"locked","key":"0102"}' \
      "$api/security/clients/locked")" = 200 ] || fail "PUT credentials"
    expect_code 4.03 "endpoint not allowed" post "/rd?ep=locked" -t 40 -e "$links"
    # Each supported version registers.
    for v in 1.0 1.1 1.2; do
      expect_code 2.01 "register LwM2M $v" post "/rd?ep=v$v&lwm2m=$v" -t 40 -e "$links"
    done
    [ "$(curl -s "$api/clients" | grep -o '"endpoint"' | wc -l)" = 3 ] || fail "expected 3 clients"
    ;;

  send)
    start_server --store memory
    local_port=$(free_port)
    # Send must come from the registered client's address: one local port throughout.
    expect_code 2.01 "register" post "/rd?ep=sender&lt=60" -p "$local_port" -t 40 -e "$links"
    curl -sN --max-time 5 "$api/events?endpoint=sender" >"$work/events.txt" &
    pids+=($!)
    sleep 0.5
    expect_code 2.04 "send" post "/dp" -p "$local_port" -t 110 -e '[{"n":"/3303/0/5700","v":21.5}]'
    expect_code 4.04 "send of an unregistered object" post "/dp" -p "$local_port" -t 110 \
      -e '[{"n":"/4/0/0","v":1}]'
    expect_code 4.00 "send of bad SenML" post "/dp" -p "$local_port" -t 110 -e '[{"n":'
    for _ in $(seq 1 50); do grep -q 'event: send' "$work/events.txt" && break; sleep 0.1; done
    grep -q '"/3303/0/5700":21.5' "$work/events.txt" || fail "send event missing: $(cat "$work/events.txt")"
    ;;

  restart)
    start_server --data-dir "$work/data"
    expect_code 2.01 "register" post "/rd?ep=keep&lt=300&lwm2m=1.2" -t 40 -e "$links"
    loc=$(location)
    expect_code 2.01 "register short-lived" post "/rd?ep=brief&lt=1" -t 40 -e "$links"
    stop_server
    grep -q 'event=stopped' "$work/server.log" || fail "no graceful stop"
    sleep 1.2
    start_server --data-dir "$work/data"
    [ "$(api_status "$api/clients/keep")" = 200 ] || fail "registration lost over the restart"
    grep -q "\"location\":\"/$loc\"" "$work/api.json" || fail "location changed: $(cat "$work/api.json")"
    [ "$(api_status "$api/clients/brief")" = 404 ] || fail "expired registration came back"
    expect_code 2.04 "update after restart" post "/$loc"
    ;;

  api-udp|api-tcp)
    device_uri="coap://127.0.0.1:$coap_port"
    [ "$scenario" = api-tcp ] && device_uri="coap+tcp://127.0.0.1:$coap_port"
    start_server --store memory
    curl -sN --max-time 60 "$api/events" >"$work/events.txt" &
    pids+=($!)
    # The device has an object this server has no model for (a private humidity sensor).
    write_model 33001 Humidity 5700 Value R Float
    echo '{"objects": {"/33001/0/5700": 55.5}}' >"$work/factory.json"
    start_device "$device_uri" --models "$work/models" --config "$work/factory.json"
    wait_for_event 'event: registered'
    # Unknown to the server: typed where the format carries types, hex where it does not.
    call 200 "$api/clients/dev1/33001/0?format=senml-json"
    jcheck 'j["values"]["/33001/0/5700"] == 55.5'
    call 200 "$api/clients/dev1/33001/0?format=tlv"
    jcheck 'j["values"]["/33001/0/5700"]["hex"] in ("425e0000", "404bc00000000000")'
    call 200 "$api/clients"
    jcheck 'len(j) == 1 and j[0]["endpoint"] == "dev1"'
    call 200 "$api/clients/dev1"
    jcheck 'j["transport"] == "'"${scenario#api-}"'" and j["lifetime"] == 60 and j["awake"]'
    # Read in the default format and in each one asked for.
    call 200 "$api/clients/dev1/3/0"
    jcheck 'j["code"] == "2.05" and j["values"]["/3/0/0"] == "Tether" and j["values"]["/3/0/1"] == "tether-client"'
    for f in tlv senml-json senml-cbor lwm2m-cbor; do
      call 200 "$api/clients/dev1/3/0?format=$f"
      jcheck 'j["values"]["/3/0/2"] == "dev1"'
    done
    call 200 "$api/clients/dev1/3/0/2"
    jcheck 'j["format"] == "text/plain" and j["values"] == {"/3/0/2": "dev1"}'
    # Write (replace a resource, partial update of an instance), and read back.
    call 200 -X PUT -d '"+02:00"' "$api/clients/dev1/3/0/14"
    call 200 "$api/clients/dev1/3/0/14" && jcheck 'j["values"]["/3/0/14"] == "+02:00"'
    call 200 -X PATCH -d '{"14": "+01:00", "/3/0/15": "Europe/Paris"}' "$api/clients/dev1/3/0"
    call 200 "$api/clients/dev1/3/0" && jcheck 'j["values"]["/3/0/14"] == "+01:00" and j["values"]["/3/0/15"] == "Europe/Paris"'
    call 400 -X PUT -d '{"/4/0/0": 1}' "$api/clients/dev1/3/0"   # not under the target
    call 400 -X PUT -d 'not json' "$api/clients/dev1/3/0/16"
    # Execute, Create, Delete.
    call 200 -X POST -d "0='test',1" "$api/clients/dev1/3/0/12" && jcheck 'j["code"] == "2.04"'
    call 400 -X POST -d 'zz' "$api/clients/dev1/3/0/4"  # Core TS 5.4.5 syntax: nothing is sent
    # Registration Update Trigger (Execute /1/0/8): the device answers, then sends an Update.
    call 200 "$api/clients/dev1"
    before=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lastUpdate"])' "$work/api.json")
    sleep 0.01
    call 200 -X POST -d '' "$api/clients/dev1/1/0/8" && jcheck 'j["code"] == "2.04"'
    for _ in $(seq 1 50); do
      call 200 "$api/clients/dev1"
      grep -q "\"lastUpdate\":\"$before\"" "$work/api.json" || break
      sleep 0.1
    done
    jcheck 'j["lastUpdate"] != "'"$before"'"'
    call 201 -X POST -d '{"5850": true, "5851": 40}' "$api/clients/dev1/3311"
    jcheck 'j["location"] == "/3311/0"'
    call 200 "$api/clients/dev1/3311/0/5851" && jcheck 'j["values"]["/3311/0/5851"] == 40'
    call 200 -X DELETE "$api/clients/dev1/3311/0" && jcheck 'j["code"] == "2.02"'
    call 404 "$api/clients/dev1/3311/0"
    # Discover and Write-Attributes.
    call 200 "$api/clients/dev1/3/discover?depth=3"
    jcheck 'any(e["path"] == "/3/0/1" for e in j["discovered"])'
    call 200 -X PUT -d '' "$api/clients/dev1/3303/0/5700/attributes?pmin=1&pmax=30"
    call 200 "$api/clients/dev1/3303/0/discover"
    jcheck 'any(e["path"] == "/3303/0/5700" and e.get("attributes") == "pmin=1&pmax=30" for e in j["discovered"])'
    call 400 -X PUT -d "" "$api/clients/dev1/3/0/9/attributes?pmin=soon"
    call 400 -X PUT -d "" "$api/clients/dev1/3/0/9/attributes?colour=blue"
    # Observe, its notifications on the event stream, and cancellation.
    call 200 -X POST -d '' "$api/clients/dev1/3303/0/5700/observe"
    jcheck 'j["code"] == "2.05" and len(j["observation"]) == 16'
    call 200 "$api/clients/dev1/observations" && jcheck 'len(j) == 1 and j[0]["paths"] == ["/3303/0/5700"]'
    wait_for_event 'event: notification'
    call 200 -X DELETE "$api/clients/dev1/3303/0/5700/observe?active=true"
    jcheck 'j["cancelled"] == 1'
    call 200 "$api/clients/dev1/observations" && jcheck 'j == []'
    # Composite operations.
    call 200 -X POST -d '{"paths": ["/3/0/0", "/3303/0/5701"]}' "$api/clients/dev1/composite/read"
    jcheck 'j["values"] == {"/3/0/0": "Tether", "/3303/0/5701": "Cel"}'
    call 200 -X POST -d '{"/3/0/14": "+03:00"}' "$api/clients/dev1/composite/write"
    call 200 "$api/clients/dev1/3/0/14" && jcheck 'j["values"]["/3/0/14"] == "+03:00"'
    call 200 -X POST -d '{"paths": ["/3/0/13"]}' "$api/clients/dev1/composite/observe?pmin=2&pmax=40"
    jcheck '"observation" in j'
    call 200 "$api/clients/dev1/observations"
    jcheck 'any(o["composite"] and o["attributes"] == ["pmin=2", "pmax=40"] for o in j)'
    call 400 -X POST -d '{"paths": ["/3/0/13"]}' "$api/clients/dev1/composite/observe?pmin=soon"
    # Errors: unknown client 404, unknown path from the device 404, bad paths 400/404.
    call 404 "$api/clients/ghost/3/0" && jcheck 'j["code"] == "4.04"'
    call 404 "$api/clients/dev1/3/7"
    call 400 "$api/clients/dev1/3/0?format=yaml"
    # Credentials.
    call 200 -X PUT -d '{"mode":"psk","identity":"dev9","key":"00112233"}' "$api/security/clients/dev9"
    # Keys go in, never out: the answer says one is set.
    call 200 "$api/security/clients/dev9" && jcheck 'j["identity"] == "dev9" and j["keySet"] and "key" not in j'
    call 200 "$api/security/clients" && jcheck 'len(j) == 1 and "key" not in j[0]'
    call 400 -X PUT -d '{"mode":"psk"}' "$api/security/clients/dev9"
    call 204 -X DELETE "$api/security/clients/dev9"
    call 404 "$api/security/clients/dev9"
    # Metrics count what happened.
    curl -s "http://127.0.0.1:$http_port/metrics" >"$work/metrics.txt"
    grep -q '^tether_registrations 1$' "$work/metrics.txt" || fail "metrics: $(cat "$work/metrics.txt")"
    grep -q 'tether_requests_total{operation="read",result="2.05"}' "$work/metrics.txt" || fail "no read metric"
    # A device that stops answering: the API says 504 after the caller's timeout.
    kill -STOP "$device_pid"
    call 504 "$api/clients/dev1/3/0?timeout=1"
    kill -CONT "$device_pid"
    # Evicting the client ends its registration.
    call 204 -X DELETE "$api/clients/dev1"
    call 404 "$api/clients/dev1"
    wait_for_event 'event: deregistered'
    ;;

  api-restart)
    start_server --data-dir "$work/data"
    start_device "coap://127.0.0.1:$coap_port"
    call 200 -X POST -d '' "$api/clients/dev1/3303/0/5700/observe"
    observation=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["observation"])' "$work/api.json")
    stop_server
    start_server --data-dir "$work/data"
    call 200 "$api/clients/dev1/observations" && jcheck 'len(j) == 1 and j[0]["id"] == "'"$observation"'"'
    curl -sN --max-time 20 "$api/events" >"$work/events.txt" &
    pids+=($!)
    # The device keeps notifying the same token; the restarted server recognises it.
    wait_for_event "\"observation\":\"$observation\""
    call 200 "$api/clients/dev1/3/0/0"
    ;;

  echo)
    # Transport TS 5.7: with --echo-after-silence a client never heard proves its address
    # with CoAP Echo (RFC 9175) before its Register counts; libcoap answers on its own.
    start_server --store memory --echo-after-silence 300
    expect_code 2.01 "register with an Echo round trip" post "/rd?ep=cc-echo&lt=60&lwm2m=1.2" \
      -t 40 -e "$links"
    grep -qE 'c:4\.01 .*Echo:0x[0-9a-f]+' "$work/coap.out" || fail "no 4.01 with Echo: $(cat "$work/coap.out")"
    grep -qE 'c:POST .*Echo:0x' "$work/coap.out" || fail "the Register was not repeated with the Echo"
    [ "$(api_status "$api/clients/cc-echo")" = 200 ] || fail "cc-echo is not registered"
    # Our client answers the server's challenge too; then the server writes Current Time,
    # which our client accepts only with a fresh Echo (Transport TS 5.2.9.5): one API call.
    start_device "$base"
    call 200 -X PUT -d '1900000000' "$api/clients/dev1/3/0/13"
    jcheck 'j["code"] == "2.04"'
    call 200 "$api/clients/dev1/3/0/13"
    jcheck '1900000000 <= j["values"]["/3/0/13"] < 1900000600'
    ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
echo "PASS: $scenario"

#!/usr/bin/env bash
# OSCORE (RFC 8613) against an independent implementation: libcoap 4.3.5 built with OSCORE
# from ../shared/peers (Debian's libcoap3-bin has none). Usage:
#   oscore_interop.sh TETHER_BINARY SCENARIO
# Scenarios: tether-coap-libcoap-server (`tether coap` with the --oscore-* flags reads a
# resource of libcoap's OSCORE coap-server, which asks for an Echo first; the same sequence
# number again is refused as a replay, a wrong secret as a decryption failure) and
# libcoap-client-tether-serve (libcoap's OSCORE coap-client against `tether coap serve` with
# the same flags: a wrong secret gets 4.00, the right one the resource, a replay 4.01),
# libcoap-client-lwm2m-server (libcoap's OSCORE coap-client registers with `tether server`
# holding credentials in mode oscore; a wrong secret, another endpoint name and a replay are
# refused and nothing is registered), and lwm2m-client-server-kill (`tether client` and
# `tether server` over OSCORE on UDP and TCP: the API reads the device; the client killed
# with SIGKILL and restarted from its state file goes on past the numbers it used, RFC 8613
# B.1.1, so its new Register is not a replay), lwm2m-client-without-state (the same kills of a
# client that keeps no state: each start re-derives its context with the server under a new ID
# Context, RFC 8613 B.2), libcoap-client-rederive (libcoap's coap-client with rfc8613_b_2 and
# no sequence file registers twice: B.2 with our server each time), oscore-inside-dtls (`tether
# client` with a PSK for DTLS and an OSCORE context inside it, against credentials holding
# both: it registers; the PSK without the context, or with a wrong secret, does not; and the
# same over TLS as oscore-inside-tls), and
# through-libcoap-proxy (seed 003: libcoap's
# coap-server as a forward proxy, -P, between OSCORE peers of ours, the client on CoAP/TCP to
# the proxy and the proxy on CoAP/UDP to the server: `tether client` registers and
# de-registers, `tether coap` writes 4 KiB block-wise (inner Request-Tag) and reads it back; the
# proxy's trace never shows the endpoint name or a payload), and libcoap-client-workers
# (`tether server --workers 2`: libcoap's coap-client Updates from a new port each run, so
# from either worker, always 2.04 and never a replay; `tether client` read through the API).
# tether-coap-libcoap-server, libcoap-client-tether-serve and libcoap-client-lwm2m-server also
# run over CoAP/TCP with a "-tcp" suffix.
# The libcoap scenarios exit 77 (skipped) when the peers folder is not on this machine.
set -euo pipefail

tether="$1"
scenario="$2"
# A "-tcp" suffix runs a libcoap scenario over CoAP/TCP (RFC 8323) instead of UDP.
scheme=coap
case "$scenario" in
  *-tcp) scenario="${scenario%-tcp}"; scheme=coap+tcp ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/common.sh"

# libcoap with OSCORE into $bin, for the scenarios that talk to it.
need_libcoap() {
  peers=""
  for candidate in "${TETHER_PEERS_DIR:-}" "$root/../shared/peers" /work/shared/peers; do
    if [ -n "$candidate" ] && [ -x "$candidate/build-libcoap.sh" ]; then peers="$candidate"; break; fi
  done
  if [ -z "$peers" ]; then
    echo "SKIP: no shared/peers folder with build-libcoap.sh (set TETHER_PEERS_DIR)" >&2
    exit 77
  fi
  # One build at a time: ctest runs the scenarios in parallel, and a second build copying over
  # a binary the first scenario already runs fails ("Text file busy").
  mkdir -p "$root/build/peers"
  bin=$(flock "$root/build/peers/.libcoap.lock" "$peers/build-libcoap.sh" "$root/build/peers/libcoap" |
    tail -1)
}

fail() {
  echo "FAIL: $*" >&2
  echo "--- libcoap log" >&2
  tail -40 "$work/peer.log" >&2 || true
  exit 1
}

# wait_for FILE PATTERN: until a line matching PATTERN is in FILE (at most 10 s).
wait_for() {
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# `tether server` on $port (CoAP) and a free $http (REST API), the store and flags given.
start_server() {
  http=$(free_port)
  "$tether" server --bind 127.0.0.1 --coap-port "$port" --coaps-port 0 --http-port "$http" "$@" \
    >"$work/server.log" 2>&1 &
  pids+=("$!")
  wait_for "$work/server.log" "event=started" || fail "the server did not start"
}
# put_oscore EP SENDER RECIPIENT: the server's credentials for EP in mode oscore (the
# client's IDs, as in its object 21), with our secret and salt.
put_oscore() {
  call 200 -X PUT "http://127.0.0.1:$http/api/security/clients/$1" \
    -H 'content-type: application/json' \
    -d "{\"mode\":\"oscore\",\"masterSecret\":\"$secret\",\"masterSalt\":\"$salt\",\"senderId\":\"$2\",\"recipientId\":\"$3\"}"
}
# start_client EP SENDER RECIPIENT FLAGS...: `tether client` over OSCORE in the background
# ($client), until it registered.
start_client() {
  local ep="$1" sender="$2" recipient="$3"
  shift 3
  "$tether" client -e "$ep" --oscore-secret "$secret" --oscore-salt "$salt" \
    --oscore-sender-id "$sender" --oscore-recipient-id "$recipient" "$@" >"$work/client.log" 2>&1 &
  client=$!
  pids+=("$client")
  wait_for "$work/client.log" "event=registered" ||
    fail "$ep did not register: $(cat "$work/client.log")"
}
# kill_runs PREFIX "UDP_IDS" "TCP_IDS" [--state]: for each of CoAP/UDP and CoAP/TCP an
# endpoint with OSCORE credentials of its own (IDs and Master Secret: a shared one is refused,
# 409) whose `tether client` registers, is read through the API and is SIGKILLed (no
# De-register, nothing saved on the way out), three times; with --state each run starts from
# the state file, else each re-derives its context with the server (RFC 8613 B.2).
kill_runs() {
  local prefix="$1" udp_ids="$2" tcp_ids="$3" with_state="${4:-}" ep run
  local -a ids state
  local scheme
  start_server --store sqlite --data-dir "$work/data"
  for scheme in coap coap+tcp; do
    ep="$prefix-${scheme/+/-}"
    read -r -a ids <<<"$udp_ids"
    [ "$scheme" = coap ] || { read -r -a ids <<<"$tcp_ids"; secret=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf; }
    put_oscore "$ep" "${ids[0]}" "${ids[1]}"
    state=()
    [ -z "$with_state" ] || state=(--state "$work/$ep.json")
    for run in 1 2 3; do
      start_client "$ep" "${ids[0]}" "${ids[1]}" --server "$scheme://127.0.0.1:$port" "${state[@]}"
      [ -n "$with_state" ] || grep -q "event=oscore-without-state" "$work/client.log" ||
        fail "no word of B.2 at start"
      call 200 "http://127.0.0.1:$http/api/clients/$ep/3/0/0"
      jcheck "j['values']['/3/0/0'] == 'Tether'"
      call 200 "http://127.0.0.1:$http/api/clients/$ep"
      jcheck "j['security'] == 'oscore'"
      kill -9 "$client"
      wait "$client" 2>/dev/null || true
    done
    [ -z "$with_state" ] || [ -s "$work/$ep.json.oscore" ] ||
      fail "no sequence bounds beside the state file"
  done
}
# start_proxy PORT NEXT_HOP_PORT LOG: libcoap's coap-server as a forward proxy. libcoap 4.3.5
# passes OSCORE on only when -P names the next hop (it rebuilds requests, dropping the OSCORE
# option, when it connects by the request's own Uri-Host/Uri-Port).
start_proxy() {
  "$bin/coap-server" -A 127.0.0.1 -p "$1" -P "coap://127.0.0.1:$2,proxy.test" -v 7 >"$3" 2>&1 &
  pids+=("$!")
  wait_for "$3" "created TCP *endpoint" || fail "the proxy did not start"
}

secret=0102030405060708090a0b0c0d0e0f10
salt=9e7ca92223786340
port=$(free_port)
only=--udp-only transport=udp
[ "$scheme" = coap ] || only=--tcp-only transport=tcp

case "$scenario" in
  tether-coap-libcoap-server)
    need_libcoap
    cat >"$work/server.conf" <<CONF
master_secret,hex,"$secret"
master_salt,hex,"$salt"
sender_id,hex,"5e"
recipient_id,hex,"c1"
CONF
    "$bin/coap-server" -A 127.0.0.1 -p "$port" -E "$work/server.conf" -v 7 >"$work/peer.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 1 50); do grep -q "" "$work/peer.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.5
    get() {
      "$tether" coap get "$scheme://127.0.0.1:$port/time" -T 20 --oscore-secret "$1" \
        --oscore-salt "$salt" --oscore-sender-id c1 --oscore-recipient-id 5e --oscore-seq "$2" \
        >"$work/out" 2>"$work/err"
    }
    get "$secret" 0 || fail "protected GET /time: $(cat "$work/err")"
    [ -s "$work/out" ] || fail "no time in the answer"
    grep -q 'Oscore:pIV=0x00,kid=0xc1' "$work/peer.log" || fail "the request was not OSCORE"
    grep -q 'c:4.01.*Echo' "$work/peer.log" || fail "libcoap did not ask for an Echo"
    if get "$secret" 0; then fail "a replayed sequence number was accepted"; fi
    grep -q "Replay detected" "$work/out" || fail "replay: $(cat "$work/err" "$work/out")"
    if get "ff${secret:2}" 9; then fail "a wrong secret was accepted"; fi
    grep -q "Decryption failed" "$work/out" || fail "wrong secret: $(cat "$work/err" "$work/out")"
    get "$secret" 10 || fail "a fresh sequence number after the refusals: $(cat "$work/err")"
    # RFC 8613 B.1.1: with --oscore-state each run starts past what any earlier run (even a
    # killed one) may have used, so runs in a row are never replays.
    for run in 1 2 3; do
      "$tether" coap get "$scheme://127.0.0.1:$port/time" -T 20 --oscore-secret "$secret" \
        --oscore-salt "$salt" --oscore-sender-id c1 --oscore-recipient-id 5e --oscore-seq 20 \
        --oscore-state "$work/seq" >"$work/out" 2>"$work/err" ||
        fail "run $run with --oscore-state: $(cat "$work/err" "$work/out")"
    done
    [ "$(cat "$work/seq")" = 68 ] || fail "stored bound $(cat "$work/seq"), expected 20 + 3 x 16"
    ;;
  libcoap-client-tether-serve)
    need_libcoap
    "$tether" coap serve --bind 127.0.0.1 --port "$port" $only --oscore-secret "$secret" \
      --oscore-salt "$salt" --oscore-sender-id 5e --oscore-recipient-id c1 >"$work/serve.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 1 100); do grep -q "coap://" "$work/serve.log" && break; sleep 0.1; done
    conf() {
      printf 'master_secret,hex,"%s"\nmaster_salt,hex,"%s"\nsender_id,hex,"c1"\nrecipient_id,hex,"5e"\n' \
        "$1" "$salt" >"$work/client.conf"
    }
    ask() { timeout 20 "$bin/coap-client" -v 7 -E "$work/client.conf" "$scheme://127.0.0.1:$port/hello" \
      >"$work/peer.log" 2>&1 || true; }
    conf "ff${secret:2}"
    ask
    grep -qE "c:4.00.*Decryption failed" "$work/peer.log" || fail "a wrong secret was not refused with 4.00"
    conf "$secret"
    ask
    grep -q "Hello from Tether" "$work/peer.log" || fail "no answer under OSCORE"
    grep -q 'Oscore:pIV=0x00,kid=0xc1' "$work/peer.log" || fail "the request was not OSCORE"
    ask  # libcoap starts again at sequence number 0
    grep -qE "c:4.01.*Replay detected" "$work/peer.log" || fail "a replay was not refused with 4.01"
    [ "$(grep -c 'GET /hello' "$work/serve.log")" = 1 ] || fail "the handler ran for a refused request"
    ;;
  libcoap-client-lwm2m-server)
    need_libcoap
    # One worker: each coap-client run leaves from a new port, and a replay reaching the
    # other worker gets an Echo challenge rather than "Replay detected" (both refuse to act
    # on it; libcoap-client-workers covers two).
    start_server --store memory --workers 1
    put_oscore lc-dev c1 5e  # the client sends as c1, hears as 5e
    call 200 "http://127.0.0.1:$http/api/security/clients/lc-dev"
    jcheck "j['mode'] == 'oscore' and 'masterSecret' not in j and j['masterSecretSet']"
    conf() {
      printf 'master_secret,hex,"%s"\nmaster_salt,hex,"%s"\nsender_id,hex,"c1"\nrecipient_id,hex,"5e"\n' \
        "$1" "$salt" >"$work/client.conf"
    }
    register() {
      timeout 20 "$bin/coap-client" -v 7 -E "$work/client.conf,$work/seq" -m post -t 40 \
        -e '</3/0>' "$scheme://127.0.0.1:$port/rd?ep=$1&lt=60&lwm2m=1.2" >"$work/peer.log" 2>&1 || true
    }
    conf "ff${secret:2}"
    register lc-dev
    grep -qE "c:4.00.*Decryption failed" "$work/peer.log" || fail "a wrong secret was not refused with 4.00"
    conf "$secret"
    register other-dev
    grep -qE "c:4.00" "$work/peer.log" || fail "lc-dev's context registered another endpoint"
    cp "$work/seq" "$work/seq.before" 2>/dev/null || rm -f "$work/seq.before"
    register lc-dev
    grep -qE "c:2.01" "$work/peer.log" || fail "no 2.01 for the protected Register"
    grep -q 'Oscore:pIV=' "$work/peer.log" || fail "the Register was not OSCORE"
    call 200 "http://127.0.0.1:$http/api/clients/lc-dev"
    call 404 "http://127.0.0.1:$http/api/clients/other-dev"
    # The same sequence number as the accepted Register again: a replay.
    rm -f "$work/seq"
    [ -f "$work/seq.before" ] && cp "$work/seq.before" "$work/seq"
    register lc-dev
    grep -qE "c:4.01.*Replay detected" "$work/peer.log" || fail "a replay was not refused with 4.01"
    [ "$(grep -c 'event=registered' "$work/server.log")" = 1 ] || fail "a refused Register registered"
    # The operator sees each refusal, with the address it came from.
    grep -q "event=oscore-refused transport=$transport addr=127.0.0.1:[0-9]* code=4.00 detail=\"Decryption failed\"" \
      "$work/server.log" || fail "no log line for the wrong secret: $(cat "$work/server.log")"
    grep -q 'event=oscore-refused .*code=4.01 detail="Replay detected"' "$work/server.log" ||
      fail "no log line for the replay"
    ;;
  lwm2m-client-server-kill)
    kill_runs os "a1 a2" "b1 b2" --state
    ;;
  lwm2m-client-without-state)
    # No --state: every run starts its sequence numbers at 0 again, under new keys (B.2).
    kill_runs st "c1 c2" "d1 d2"
    ! grep -q "Replay detected" "$work/server.log" || fail "a restarted client was taken for a replay"
    [ "$(grep -c 'event=registered' "$work/server.log")" = 6 ] || fail "not every run registered"
    ;;
  oscore-inside-dtls | oscore-inside-tls)
    # The same account over DTLS (coaps://) and over TLS (coaps+tcp://, RFC 8323): one port.
    secure=coaps carrier=dtls
    if [ "$scenario" = oscore-inside-tls ]; then secure=coaps+tcp carrier=tls; fi
    dport=$(free_port)
    start_server --store sqlite --data-dir "$work/data" --coaps-port "$dport"
    psk=00112233445566778899aabbccddeeff
    call 200 -X PUT "http://127.0.0.1:$http/api/security/clients/in-dtls" \
      -H 'content-type: application/json' \
      -d "{\"mode\":\"psk\",\"identity\":\"in-dtls-psk\",\"key\":\"$psk\",\"oscore\":{\"masterSecret\":\"$secret\",\"masterSalt\":\"$salt\",\"senderId\":\"e1\",\"recipientId\":\"e2\"}}"
    call 200 "http://127.0.0.1:$http/api/security/clients/in-dtls"
    jcheck "j['mode'] == 'psk' and 'key' not in j and j['oscore']['masterSecretSet'] and 'masterSecret' not in j['oscore']"
    start_client in-dtls e1 e2 --server "$secure://127.0.0.1:$dport" --psk-identity in-dtls-psk \
      --psk-key "$psk"
    call 200 "http://127.0.0.1:$http/api/clients/in-dtls/3/0/0"
    jcheck "j['values']['/3/0/0'] == 'Tether'"
    kill "$client"
    wait "$client" 2>/dev/null || true
    # The PSK alone: the (D)TLS session is the endpoint's, but not the end-to-end context.
    "$tether" client -e in-dtls --server "$secure://127.0.0.1:$dport" --psk-identity in-dtls-psk \
      --psk-key "$psk" >"$work/plain.log" 2>&1 &
    pids+=("$!")
    wait_for "$work/plain.log" "event=register-failed\|event=registration-failed\|4.03" ||
      fail "a $carrier client without the OSCORE context was not refused: $(cat "$work/plain.log")"
    kill "$!" 2>/dev/null || true
    # The same PSK with a wrong OSCORE secret.
    secret=ff${secret:2}
    "$tether" client -e in-dtls --server "$secure://127.0.0.1:$dport" --psk-identity in-dtls-psk \
      --psk-key "$psk" --oscore-secret "$secret" --oscore-salt "$salt" --oscore-sender-id e1 \
      --oscore-recipient-id e2 >"$work/wrong.log" 2>&1 &
    pids+=("$!")
    wait_for "$work/server.log" "event=oscore-refused transport=$carrier.*code=4.00" ||
      fail "a wrong OSCORE secret inside $carrier was not refused: $(cat "$work/wrong.log")"
    kill "$!" 2>/dev/null || true
    [ "$(grep -c 'event=registered' "$work/server.log")" = 1 ] || fail "a refused client registered"
    ;;
  libcoap-client-workers)
    # `tether server --workers 2` (issue 22): every worker holds a copy of each context. Each
    # coap-client run leaves from a new port, so its Update reaches either worker: the other
    # one asks for Echo (it did not act under the context last), then takes the registration
    # over. Sequence numbers continue through the seq file, so none of this is a replay.
    need_libcoap
    start_server --store sqlite --data-dir "$work/data" --workers 2
    put_oscore lc-dev c1 5e
    printf 'master_secret,hex,"%s"\nmaster_salt,hex,"%s"\nsender_id,hex,"c1"\nrecipient_id,hex,"5e"\n' \
      "$secret" "$salt" >"$work/client.conf"
    timeout 20 "$bin/coap-client" -v 7 -E "$work/client.conf,$work/seq" -m post -t 40 -e '</3/0>' \
      "coap://127.0.0.1:$port/rd?ep=lc-dev&lt=300&lwm2m=1.2" >"$work/peer.log" 2>&1 || true
    grep -qE "c:2.01" "$work/peer.log" || fail "no 2.01 for the protected Register"
    call 200 "http://127.0.0.1:$http/api/clients/lc-dev"
    location=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["location"])' <"$work/api.json")
    for run in $(seq 1 20); do
      timeout 20 "$bin/coap-client" -v 7 -E "$work/client.conf,$work/seq" -m post \
        "coap://127.0.0.1:$port$location" >"$work/peer.log" 2>&1 || true
      grep -qE "c:2.04" "$work/peer.log" || fail "Update $run was not answered 2.04"
    done
    call 200 "http://127.0.0.1:$http/metrics"
    taken=$(grep -E '^tether_takeovers_total' "$work/api.json" | awk '{print $2}')
    [ "${taken:-0}" -ge 1 ] || fail "20 Updates from new ports never reached the other worker"
    grep -q "Replay detected" "$work/server.log" && fail "an Update was taken for a replay"
    [ "$(grep -c 'event=registered' "$work/server.log")" = 1 ] || fail "the device registered again"
    # Our own client over OSCORE: each read is a request under the server's context, from
    # sequence numbers its worker reserved from the shared bound.
    secret=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf  # each endpoint its own
    put_oscore os-dev e1 e2
    start_client os-dev e1 e2 --server "coap://127.0.0.1:$port"
    for _ in 1 2 3; do
      call 200 "http://127.0.0.1:$http/api/clients/os-dev/3/0/0"
      jcheck "j['values']['/3/0/0'] == 'Tether'"
    done
    ;;
  libcoap-client-rederive)
    need_libcoap
    start_server --store memory
    put_oscore lc-dev c1 5e
    printf 'master_secret,hex,"%s"\nmaster_salt,hex,"%s"\nsender_id,hex,"c1"\nrecipient_id,hex,"5e"\nrfc8613_b_2,bool,true\n' \
      "$secret" "$salt" >"$work/client.conf"
    for run in 1 2; do
      # No sequence file: libcoap starts at 0 each time, so only B.2 keeps this from a replay.
      timeout 20 "$bin/coap-client" -v 7 -E "$work/client.conf" -m post -t 40 -e '</3/0>' \
        "coap://127.0.0.1:$port/rd?ep=lc-dev&lt=60&lwm2m=1.2" >"$work/peer.log" 2>&1 || true
      # Request #1 names R1 (a CBOR bstr of 8 bytes, 0x48...), Response #1 our R2, and the
      # request again R2 || R3 (16 bytes, 0x50...).
      grep -qE "c:POST .*Oscore:pIV=0x00,kc=0x48[0-9a-f]{16},kid=0xc1" "$work/peer.log" ||
        fail "Request #1 did not name an R1 (run $run)"
      grep -qE "c:2.04 .*Oscore:pIV=0x[0-9a-f]+,kc=0x48[0-9a-f]{16} " "$work/peer.log" ||
        fail "no Response #1 with our R2 (run $run)"
      grep -qE "c:POST .*kc=0x50[0-9a-f]{32},kid=0xc1" "$work/peer.log" ||
        fail "the request did not come again under R2 || R3 (run $run)"
      grep -qE "c:2.01" "$work/peer.log" || fail "no 2.01 after the re-derivation (run $run)"
    done
    [ "$(grep -c 'event=registered' "$work/server.log")" = 2 ] || fail "not both runs registered"
    call 200 "http://127.0.0.1:$http/api/clients/lc-dev"
    jcheck "j['security'] == 'oscore'"
    ;;
  through-libcoap-proxy)
    need_libcoap
    start_server --store memory
    proxy_port=$(free_port)
    start_proxy "$proxy_port" "$port" "$work/peer.log"
    put_oscore px-dev c1 5e
    start_client px-dev c1 5e --server "coap://127.0.0.1:$port" \
      --proxy "coap+tcp://127.0.0.1:$proxy_port" --state "$work/px.json"
    call 200 "http://127.0.0.1:$http/api/clients/px-dev"
    jcheck "j['security'] == 'oscore'"
    grep -q "Proxy-Scheme:coap" "$work/peer.log" || fail "the Register did not go through the proxy"
    kill -TERM "$client"
    wait_for "$work/server.log" "event=deregistered ep=px-dev" || fail "no De-register through the proxy"

    # `tether coap` through a second proxy to `tether coap serve`: block-wise under OSCORE.
    serve_port=$(free_port)
    proxy2=$(free_port)
    "$tether" coap serve --bind 127.0.0.1 --port "$serve_port" --udp-only --oscore-secret "$secret" \
      --oscore-salt "$salt" --oscore-sender-id 5e --oscore-recipient-id c1 >"$work/serve.log" 2>&1 &
    pids+=("$!")
    wait_for "$work/serve.log" "coap://" || fail "tether coap serve did not start"
    start_proxy "$proxy2" "$serve_port" "$work/peer2.log"
    python3 -c 'import sys; sys.stdout.write("secret-body-" * 350)' >"$work/body"
    poke() {
      "$tether" coap "$1" "coap://127.0.0.1:$serve_port/store" --proxy "coap+tcp://127.0.0.1:$proxy2" \
        --oscore-secret "$secret" --oscore-salt "$salt" --oscore-sender-id c1 \
        --oscore-recipient-id 5e --oscore-state "$work/coap-seq" -T 20 "${@:2}"
    }
    poke put -f "$work/body" >"$work/out" 2>"$work/err" || fail "PUT through the proxy: $(cat "$work/err")"
    poke get >"$work/got" 2>"$work/err" || fail "GET through the proxy: $(cat "$work/err")"
    cmp -s "$work/body" "$work/got" || fail "the body read back differs"
    # Block-wise and Request-Tag are inner (RFC 8613 4.1.3.4, RFC 9175 3.2): the proxy sees
    # one OSCORE message per block and no block options of ours.
    [ "$(grep -c 'Oscore:pIV' "$work/peer2.log")" -ge 10 ] || fail "the body did not go block by block"
    for log in "$work/peer.log" "$work/peer2.log"; do
      if grep -q -e "px-dev" -e "secret-body" -e "Tether" "$log"; then
        fail "the proxy saw protected content in $log"
      fi
    done
    ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
echo "PASS: $2"

#!/usr/bin/env bash
# DTLS 1.2 and TLS 1.2 (CoAP over coaps:// and coaps+tcp://) against independent
# implementations, on 127.0.0.1: libcoap's coap-client-gnutls / coap-server-gnutls and
# gnutls-cli (GnuTLS), with keys and certificates made by openssl. Usage:
#   dtls_interop.sh TETHER_BINARY SCENARIO
# Scenarios:
#   psk-libcoap-client      coap-client registers with `tether server` in PSK mode over DTLS;
#                           the identity must match the endpoint (4.00 otherwise), ep may be
#                           left out, an unknown identity fails the handshake
#   psk-openssl-blockwise   coap-client-openssl (OpenSSL's DTLS) registers in 64-byte blocks
#                           over one PSK session: every block after the first is opened and
#                           answered by the server's compacted session (its keys alone)
#   psk-tls-libcoap-client  the same over TLS (coaps+tcp)
#   rpk-libcoap-client      raw public keys (RFC 7250): a key on file registers, another not
#   x509-libcoap-client     certificates from a test CA, both ways verified
#   tether-client-libcoap-server
#                           `tether client` completes PSK, RPK and X.509 handshakes with
#                           coap-server (which has no /rd, so Register gets an error code),
#                           and refuses a wrong key, an unknown CA, an expired certificate
#                           and a certificate not for the SNI name
#   gnutls-cli              the suites offered (PSK and ECDHE-ECDSA with AES-128-CCM-8 and
#                           AES-128-CBC-SHA256, secp256r1) complete, others are refused
#   tether-end-to-end       `tether client` with `tether server`: PSK, RPK and X.509 each
#                           over DTLS and TLS; a wrong PSK key over DTLS and TLS and an
#                           expired client certificate never register
#   bootstrap-psk           `tether client` bootstraps from `tether bootstrap` over DTLS with
#                           PSK, is given PSK credentials for the server, and registers there
#                           over DTLS; another identity is refused the configuration
#   bootstrap-rpk-x509      bootstrap with a raw public key over TLS, then X.509 to the server
#                           over DTLS; bootstrap with X.509 over DTLS, then a raw public key
#                           over TLS; a certificate from another CA is refused
set -euo pipefail

tether="$1"
scenario="$2"
for tool in coap-client-gnutls coap-server-gnutls gnutls-cli openssl curl python3; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed" >&2; exit 1; }
done
client=$(command -v coap-client-gnutls)   # used by common.sh's coap_request
coap_server=$(command -v coap-server-gnutls)
source "$(dirname "$0")/common.sh"

fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/*.log; do
    [ -e "$log" ] || continue
    echo "--- $(basename "$log")" >&2
    cat "$log" >&2
  done
  exit 1
}

# Two consecutive ports free for UDP and TCP (coap-server listens on P and, secured, P+1).
free_port_pair() {
  python3 - <<'PY'
import socket
def free(p):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            return False
        finally:
            s.close()
    return True
for _ in range(100):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    p = u.getsockname()[1]; u.close()
    if p < 65535 and free(p) and free(p + 1):
        print(p); break
PY
}

to_hex() { python3 -c 'import sys; print(sys.stdin.buffer.read().hex())'; }
spki_hex() { openssl pkey -in "$1" -pubout -outform DER | to_hex; }
new_key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }

# A test PKI in $work: ca.crt (P-256), server.crt for localhost / 127.0.0.1 (chain in
# server-chain.pem), dev1.crt and dev2.crt issued by it, rogue.crt, CN=dev1 from another CA
# (other-ca.crt), and the expired server-expired.crt and dev3.crt.
make_pki() {
  local d="$work"
  cd "$d"
  new_key ca.key
  openssl req -x509 -new -key ca.key -subj /CN=Tether-Interop-CA -days 2 -out ca.crt \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null
  new_key other-ca.key
  openssl req -x509 -new -key other-ca.key -subj /CN=Other-CA -days 2 -out other-ca.crt \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >server.ext
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' >client.ext
  issue() { # NAME CN CA EXT
    new_key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 2 \
      -extfile "$4" -out "$1.crt" 2>/dev/null
  }
  issue server localhost ca server.ext
  issue dev1 dev1 ca client.ext
  issue dev2 dev2 ca client.ext
  issue rogue dev1 other-ca client.ext
  # Certificates that expired in 2020 (certtool takes fixed dates).
  expired() { # NAME CN PURPOSE
    new_key "$1.key"
    printf 'cn = "%s"\ndns_name = "%s"\nip_address = "127.0.0.1"\n%s\nsigning_key\n' "$2" "$2" "$3" >"$1.tmpl"
    printf 'activation_date = "2020-01-01 00:00:00"\nexpiration_date = "2020-12-31 00:00:00"\n' >>"$1.tmpl"
    certtool --generate-certificate --load-privkey "$1.key" --load-ca-certificate ca.crt \
      --load-ca-privkey ca.key --template "$1.tmpl" --outfile "$1.crt" >/dev/null 2>&1 ||
      fail "certtool could not issue $1"
  }
  expired server-expired localhost tls_www_server
  expired dev3 dev3 tls_www_client
  cat server.crt ca.crt >server-chain.pem
  openssl verify -CAfile ca.crt server.crt dev1.crt dev2.crt >/dev/null || fail "test PKI"
  cd - >/dev/null
}

pick_ports() {
  coap_port=$(free_port)
  coaps_port=$(free_port)
  http_port=$(free_port)
  for _ in 1 2 3 4 5; do   # three distinct ports
    [ "$coaps_port" != "$coap_port" ] || coaps_port=$(free_port)
    [ "$http_port" != "$coap_port" ] && [ "$http_port" != "$coaps_port" ] || http_port=$(free_port)
  done
  api="http://127.0.0.1:$http_port/api"
  dtls="coaps://127.0.0.1:$coaps_port"
  tls="coaps+tcp://127.0.0.1:$coaps_port"
}
pick_ports
links='</1/0>,</3/0>'

start_server() {
  for _ in 1 2 3; do
    local logged
    logged=$(wc -l 2>/dev/null <"$work/server.log" || echo 0)
    "$tether" server --store memory --bind 127.0.0.1 --coap-port "$coap_port" \
      --coaps-port "$coaps_port" --http-host 127.0.0.1 --http-port "$http_port" "$@" \
      >>"$work/server.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    wait_server && return 0
    # A port picked free was taken by another process before the server bound it (the
    # kernel hands the same range to outgoing sockets): pick others and start again.
    tail -n +"$((logged + 1))" "$work/server.log" | grep -q "Address already in use" ||
      fail "server exited"
    pick_ports
  done
  fail "server exited: its ports were taken three times"
}
wait_server() {
  for _ in $(seq 1 100); do
    kill -0 "$server_pid" 2>/dev/null || return 1
    # Our own server (not whatever else holds a port): its start line names our ports.
    if grep -q "event=started.* dtls=$coaps_port tls=$coaps_port" "$work/server.log" &&
      curl -sf "$api/health" >/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  fail "server did not come up"
}
put_creds() { call 200 -X PUT -d "$2" "$api/security/clients/$1"; }
registration_id() { # EP: its registration id, or nothing
  [ "$(api_status "$api/clients/$1")" = 200 ] || return 0
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registrationId"])' "$work/api.json"
}
client_count() { curl -s "$api/clients" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
expect_registered() { # EP TRANSPORT
  call 200 "$api/clients/$1"
  jcheck 'j["endpoint"] == "'"$1"'" and j["transport"] == "'"$2"'"'
}
expect_not_registered() { # EP
  [ "$(api_status "$api/clients/$1")" = 404 ] || fail "$1 is registered: $(cat "$work/api.json")"
}
# A request that must fail in the handshake: no CoAP response at all, and (PATTERN, unless
# empty) the (D)TLS layer of coap-client says why (an alert, a verification failure).
expect_no_response() { # WHAT PATTERN URI ARGS...
  local what="$1" pattern="$2" code
  shift 2
  code=$(coap post "$@")
  [ -z "$code" ] || fail "$what: expected no CoAP response, got $code: $(cat "$work/coap.out")"
  [ -z "$pattern" ] || grep -qE "$pattern" "$work/coap.out" ||
    fail "$what: no '$pattern' in: $(cat "$work/coap.out")"
}
location() { grep -oE 'Location-Path:[^] ,]+' "$work/coap.out" | cut -d: -f2 | paste -sd/; }

# coap METHOD URI ARGS...: the response code, or nothing when none came (coap_request's
# grep finds no code then, which pipefail would turn into a silent exit).
coap() { coap_request "$@" || true; }

secret="tether-interop-secret"   # coap-client -k takes the string's bytes as the key
secret_hex=$(printf %s "$secret" | to_hex)

# `tether client` in the background (log in $work/NAME.log); wait_log NAME PATTERN SECONDS.
start_client() { # NAME ARGS...
  local name="$1"
  shift
  "$tether" client --lifetime 60 -q "$@" >"$work/$name.log" 2>&1 &
  pids+=("$!")
}
wait_log() {
  local deadline=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$deadline" ]; do
    grep -qE "$2" "$work/$1.log" && return 0
    sleep 0.1
  done
  fail "$1: no '$2' within $3 s"
}
wait_registered() { # EP TRANSPORT SECONDS
  local deadline=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(api_status "$api/clients/$1")" = 200 ] && { expect_registered "$1" "$2"; return 0; }
    sleep 0.1
  done
  fail "$1 did not register within $3 s"
}

# `tether bootstrap` with coaps on $bs_port (plain CoAP on any port: only coaps is used).
start_bootstrap() { # ARGS...
  bs_port=$(free_port)
  bs_http=$(free_port)
  "$tether" bootstrap --store memory --bind 127.0.0.1 --coap-port 0 \
    --coaps-port "$bs_port" --http-host 127.0.0.1 --http-port "$bs_http" "$@" \
    >>"$work/bootstrap.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do
    grep -q "event=started.* dtls=$bs_port" "$work/bootstrap.log" && return 0
    sleep 0.1
  done
  fail "bootstrap server did not come up: $(cat "$work/bootstrap.log")"
}
put_bootstrap() { call 200 -X PUT "http://127.0.0.1:$bs_http/api/bootstrap/$1" -d "$2"; }

case "$scenario" in
  psk-libcoap-client)
    start_server
    put_creds dev1 '{"mode":"psk","identity":"dev-psk","key":"'"$secret_hex"'"}'
    psk=(-u dev-psk -k "$secret")
    # One identity, one endpoint: the handshake could not tell two apart.
    call 409 -X PUT -d '{"mode":"psk","identity":"dev-psk","key":"00"}' "$api/security/clients/dev7"
    jcheck 'j["code"] == "4.09" and "dev1" in j["message"]'
    expect_code 2.01 "PSK register over DTLS" post "$dtls/rd?ep=dev1&lt=60" "${psk[@]}" -t 40 -e "$links"
    grep -q 'DTLS: session connected' "$work/coap.out" || fail "not a DTLS session: $(cat "$work/coap.out")"
    expect_registered dev1 dtls
    first=$(registration_id dev1)
    [ "/rd/$first" = "/$(location)" ] || fail "location $(location) is not /rd/$first"
    # The identity proves dev1, not dev2.
    expect_code 4.00 "identity of dev1 registering dev2" post "$dtls/rd?ep=dev2&lt=60" "${psk[@]}" -t 40 -e "$links"
    grep -q 'does not match endpoint dev2' "$work/coap.out" || fail "4.00 reason: $(cat "$work/coap.out")"
    expect_not_registered dev2
    # No ep: the endpoint is the one the identity proves.
    expect_code 2.01 "register without ep" post "$dtls/rd?lt=60" "${psk[@]}" -t 40 -e "$links"
    expect_registered dev1 dtls
    second=$(registration_id dev1)
    [ "$second" != "$first" ] || fail "no new registration without ep"
    # An identity that is not on file fails the handshake (alert unknown_psk_identity).
    expect_no_response "unknown PSK identity" "Alert '115'|unknown|not known" \
      "$dtls/rd?ep=nobody&lt=60" -u nobody -k "$secret" -t 40 -e "$links"
    expect_not_registered nobody
    [ "$(client_count)" = 1 ] && [ "$(registration_id dev1)" = "$second" ] ||
      fail "registrations changed: $(curl -s "$api/clients")"
    # The right identity with a wrong key registers nothing either.
    # (Our server drops the Finished it cannot decrypt, RFC 6347 4.1.2.7: no alert to match.)
    expect_no_response "wrong PSK" "" "$dtls/rd?ep=dev1&lt=60" -B 4 -u dev-psk -k "wrong-$secret" \
      -t 40 -e "$links"
    [ "$(registration_id dev1)" = "$second" ] || fail "a wrong key replaced the registration"
    ;;

  psk-openssl-blockwise)
    # OpenSSL's DTLS (another record layer than GnuTLS's) registering with a payload sent in
    # 64-byte blocks (RFC 7959): one session carries every block and its answer, so all but
    # the first are opened and answered by the server's session on its keys alone.
    client=$(command -v coap-client-openssl) ||
      fail "coap-client-openssl is not installed"
    start_server
    put_creds dev1 '{"mode":"psk","identity":"dev-psk","key":"'"$secret_hex"'"}'
    many=$(for i in $(seq 0 39); do printf '</3303/%d>,' "$i"; done)
    many="${many}</3/0>"
    expect_code 2.01 "PSK register in blocks over DTLS" post "$dtls/rd?ep=dev1&lt=60" \
      -u dev-psk -k "$secret" -t 40 -b 64 -e "$many"
    blocks=$(grep -cE 'Block1' "$work/coap.out" || true)
    [ "$blocks" -ge 10 ] || fail "not sent in blocks ($blocks): $(cat "$work/coap.out")"
    expect_registered dev1 dtls
    jcheck '[o["instances"] for o in j["objects"] if o["id"] == 3303] == [list(range(40))]'
    # The server's side of that session went on on its keys alone.
    compacted=$(curl -s "http://127.0.0.1:$http_port/metrics" |
      grep -oE '^tether_secure_sessions_compacted_total\{transport="dtls"\} [0-9]+' | cut -d' ' -f2)
    [ "${compacted:-0}" -ge 1 ] || fail "no session compacted: '$compacted'"
    ;;

  psk-tls-libcoap-client)
    start_server
    put_creds dev1 '{"mode":"psk","identity":"dev-psk","key":"'"$secret_hex"'"}'
    psk=(-u dev-psk -k "$secret")
    expect_code 2.01 "PSK register over TLS" post "$tls/rd?ep=dev1&lt=60" "${psk[@]}" -t 40 -e "$links"
    grep -qE 'TLS ?: session connected' "$work/coap.out" || fail "not a TLS session: $(cat "$work/coap.out")"
    expect_registered dev1 tls
    expect_code 4.00 "identity of dev1 registering dev2" post "$tls/rd?ep=dev2&lt=60" "${psk[@]}" -t 40 -e "$links"
    expect_not_registered dev2
    expect_code 2.01 "register without ep" post "$tls/rd?lt=60" "${psk[@]}" -t 40 -e "$links"
    expect_registered dev1 tls
    expect_no_response "unknown PSK identity" "Alert '115'|unknown|not known" \
      "$tls/rd?ep=nobody&lt=60" -u nobody -k "$secret" -t 40 -e "$links"
    expect_not_registered nobody
    ;;

  rpk-libcoap-client)
    new_key "$work/server.key"
    new_key "$work/client.key"   # EC PRIVATE KEY pem, what coap-client -M wants
    new_key "$work/stranger.key"
    start_server --key "$work/server.key"
    put_creds dev1 '{"mode":"rpk","publicKey":"'"$(spki_hex "$work/client.key")"'"}'
    call 200 "$api/security/clients/dev1" && jcheck 'j["mode"] == "rpk"'
    expect_code 2.01 "RPK register over DTLS" post "$dtls/rd?ep=dev1&lt=60" -M "$work/client.key" \
      -t 40 -e "$links"
    expect_registered dev1 dtls
    expect_code 4.00 "key of dev1 registering dev2" post "$dtls/rd?ep=dev2&lt=60" -M "$work/client.key" \
      -t 40 -e "$links"
    expect_not_registered dev2
    expect_code 2.01 "RPK register over TLS without ep" post "$tls/rd?lt=60" -M "$work/client.key" \
      -t 40 -e "$links"
    expect_registered dev1 tls
    # A key that is not on file: access_denied (49) in the handshake.
    expect_no_response "unknown public key" "Alert '49'|denied" "$dtls/rd?ep=dev3&lt=60" \
      -M "$work/stranger.key" -t 40 -e "$links"
    expect_not_registered dev3
    [ "$(client_count)" = 1 ] || fail "registrations: $(curl -s "$api/clients")"
    ;;

  x509-libcoap-client)
    make_pki
    start_server --key "$work/server.key" --cert "$work/server-chain.pem" --client-ca "$work/ca.crt"
    put_creds dev1 '{"mode":"x509","commonName":"dev1"}'
    # -C: coap-client verifies our chain against the CA, and 127.0.0.1 against the
    # certificate's subjectAltName (IP:127.0.0.1), so no -n is needed.
    pki=(-c "$work/dev1.crt" -j "$work/dev1.key" -C "$work/ca.crt")
    expect_code 2.01 "X.509 register over DTLS" post "$dtls/rd?ep=dev1&lt=60" "${pki[@]}" -t 40 -e "$links"
    expect_registered dev1 dtls
    expect_code 2.01 "X.509 register over TLS without ep" post "$tls/rd?lt=60" "${pki[@]}" -t 40 -e "$links"
    expect_registered dev1 tls
    # dev2's certificate (same CA) does not prove dev1.
    expect_code 4.00 "CN=dev2 registering dev1" post "$dtls/rd?ep=dev1&lt=60" \
      -c "$work/dev2.crt" -j "$work/dev2.key" -C "$work/ca.crt" -t 40 -e "$links"
    grep -q 'does not match endpoint dev1' "$work/coap.out" || fail "4.00 reason: $(cat "$work/coap.out")"
    before=$(registration_id dev1)
    # CN=dev1 from a CA the server does not trust: bad_certificate (42).
    expect_no_response "certificate from another CA" "Alert '42'|[Cc]ertificate" \
      "$dtls/rd?ep=dev1&lt=60" -c "$work/rogue.crt" -j "$work/rogue.key" -C "$work/ca.crt" -t 40 -e "$links"
    # coap-client does check our certificate: with the wrong CA it gives up.
    expect_no_response "server checked against another CA" "CA is unknown|unknown|not trusted" \
      "$dtls/rd?ep=dev1&lt=60" -c "$work/dev1.crt" -j "$work/dev1.key" -C "$work/other-ca.crt" -t 40 -e "$links"
    [ "$(registration_id dev1)" = "$before" ] || fail "a refused handshake changed the registration"
    ;;

  tether-client-libcoap-server)
    make_pki
    openssl pkey -in "$work/server.key" -pubout -out "$work/server-pub.pem" 2>/dev/null
    new_key "$work/other.key"
    openssl pkey -in "$work/other.key" -pubout -out "$work/other-pub.pem" 2>/dev/null
    n=0
    # run_against NAME SERVER_ARGS -- URI_SCHEME CLIENT_ARGS...: a fresh coap-server with
    # SERVER_ARGS, and our client against it until it logs how its Register went.
    run_against() {
      local name="$1" sargs=() p
      shift
      while [ "$1" != -- ]; do sargs+=("$1"); shift; done
      shift
      local scheme="$1"
      shift
      p=$(free_port_pair)
      "$coap_server" -A 127.0.0.1 -p "$p" -v 6 "${sargs[@]}" >"$work/coap-server-$name.log" 2>&1 &
      pids+=("$!")
      local cs_pid=$!
      for _ in $(seq 1 50); do
        [ "$(coap get "coap://127.0.0.1:$p/")" = 2.05 ] && break
        sleep 0.1
      done
      "$tether" client -e dev1 --server "$scheme://127.0.0.1:$((p + 1))" -q "$@" >"$work/$name.log" 2>&1 &
      pids+=("$!")
      local c_pid=$!
      wait_log "$name" 'event=(registered|registration-failed)' 70
      kill "$c_pid" "$cs_pid" 2>/dev/null || true
    }
    # The handshake worked when coap-server answers Register (no /rd: 4.04) with a code.
    expect_answered() {
      grep -qE 'event=registration-failed .*Register answered [45]\.[0-9]{2}' "$work/$1.log" &&
        ! grep -q '(D)TLS:' "$work/$1.log" || fail "$1: Register was not answered over (D)TLS"
    }
    expect_handshake_failure() { # NAME PATTERN
      grep -qE "event=registration-failed .*\(D\)TLS: .*$2" "$work/$1.log" ||
        fail "$1: no (D)TLS failure matching '$2'"
    }
    psk=(--psk-identity dev-psk --psk-key "$secret_hex")
    run_against psk-dtls -k "$secret" -- coaps "${psk[@]}"
    expect_answered psk-dtls
    run_against psk-tls -k "$secret" -- coaps+tcp "${psk[@]}"
    expect_answered psk-tls
    # A wrong key: coap-server drops what it cannot decrypt; our client reports the failure.
    run_against psk-wrong -k "$secret" -- coaps --psk-identity dev-psk --psk-key "${secret_hex}00"
    expect_handshake_failure psk-wrong ''
    # RPK: coap-server -M with our server.key, our client pins its public key.
    run_against rpk-dtls -M "$work/server.key" -- coaps --rpk-key "$work/dev1.key" \
      --rpk-server-key "$work/server-pub.pem"
    expect_answered rpk-dtls
    run_against rpk-tls -M "$work/server.key" -- coaps+tcp --rpk-key "$work/dev1.key" \
      --rpk-server-key "$work/server-pub.pem"
    expect_answered rpk-tls
    run_against rpk-wrong-server -M "$work/server.key" -- coaps --rpk-key "$work/dev1.key" \
      --rpk-server-key "$work/other-pub.pem"
    expect_handshake_failure rpk-wrong-server "public key"
    # X.509 both ways: coap-server -C checks our client certificate, we check its chain.
    x509_server=(-c "$work/server.crt" -j "$work/server.key" -C "$work/ca.crt")
    run_against x509-dtls "${x509_server[@]}" -- coaps --cert "$work/dev1.crt" --key "$work/dev1.key" \
      --ca "$work/ca.crt"
    expect_answered x509-dtls
    run_against x509-tls "${x509_server[@]}" -- coaps+tcp --cert "$work/dev1.crt" --key "$work/dev1.key" \
      --ca "$work/ca.crt"
    expect_answered x509-tls
    run_against x509-wrong-ca "${x509_server[@]}" -- coaps --cert "$work/dev1.crt" --key "$work/dev1.key" \
      --ca "$work/other-ca.crt"
    expect_handshake_failure x509-wrong-ca "NOT trusted|issuer"
    # An expired server certificate, and a server name (SNI) the certificate is not for.
    run_against x509-expired -c "$work/server-expired.crt" -j "$work/server-expired.key" \
      -C "$work/ca.crt" -- coaps --cert "$work/dev1.crt" --key "$work/dev1.key" --ca "$work/ca.crt"
    expect_handshake_failure x509-expired "expired"
    run_against x509-sni "${x509_server[@]}" -- coaps+tcp --cert "$work/dev1.crt" \
      --key "$work/dev1.key" --ca "$work/ca.crt" --sni lwm2m.example
    # Log values are logfmt-escaped: the quotes around the name appear as \".
    expect_handshake_failure x509-sni 'not for \\"lwm2m.example\\"'
    # Certificate usage 1 (service certificate constraint): the Server Public Key is the
    # server's certificate, and its path must be valid to a PKIX trust anchor: --trust, else
    # the system's store, which does not know our test CA.
    run_against x509-usage1 "${x509_server[@]}" -- coaps --cert "$work/dev1.crt" --key "$work/dev1.key" \
      --server-cert "$work/server.crt" --cert-usage 1 --trust "$work/ca.crt"
    expect_answered x509-usage1
    run_against x509-usage1-system "${x509_server[@]}" -- coaps --cert "$work/dev1.crt" \
      --key "$work/dev1.key" --server-cert "$work/server.crt" --cert-usage 1
    expect_handshake_failure x509-usage1-system "NOT trusted|issuer"
    # `tether coap` over coaps:// and coaps+tcp:// with the client's credential flags.
    p=$(free_port_pair)
    "$coap_server" -A 127.0.0.1 -p "$p" -k "$secret" -c "$work/server.crt" -j "$work/server.key" \
      -C "$work/ca.crt" >"$work/coap-server-tool.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 1 50); do [ "$(coap get "coap://127.0.0.1:$p/")" = 2.05 ] && break; sleep 0.1; done
    for scheme in coaps coaps+tcp; do
      "$tether" coap get "$scheme://127.0.0.1:$((p + 1))/" -T 20 --psk-identity dev-psk \
        --psk-key "$secret_hex" -o "$work/tool.out" 2>"$work/tool.err" ||
        fail "tether coap $scheme with PSK: $(cat "$work/tool.err")"
      grep -q "libcoap" "$work/tool.out" || fail "tether coap $scheme: $(cat "$work/tool.out")"
    done
    "$tether" coap get "coaps://127.0.0.1:$((p + 1))/" -T 20 --cert "$work/dev1.crt" \
      --key "$work/dev1.key" --ca "$work/ca.crt" -o "$work/tool.out" 2>"$work/tool.err" ||
      fail "tether coap coaps with X.509: $(cat "$work/tool.err")"
    ;;

  gnutls-cli)
    make_pki
    start_server --key "$work/server.key" --cert "$work/server-chain.pem" --client-ca "$work/ca.crt"
    put_creds dev1 '{"mode":"psk","identity":"dev-psk","key":"'"$secret_hex"'"}'
    put_creds dev2 '{"mode":"rpk","publicKey":"'"$(spki_hex "$work/dev2.key")"'"}'
    openssl pkey -in "$work/dev2.key" -pubout -out "$work/dev2-pub.pem" 2>/dev/null
    openssl pkey -in "$work/dev1.key" -pubout -out "$work/dev1-pub.pem" 2>/dev/null
    # gnutls [--udp] ARGS...: one handshake, stdin closed; output in $work/gnutls.out.
    gnutls() {
      timeout 20 gnutls-cli -p "$coaps_port" "$@" 127.0.0.1 </dev/null >"$work/gnutls.out" 2>&1 || true
    }
    expect_handshake() { # WHAT DESCRIPTION-PATTERN GNUTLS-ARGS...
      local what="$1" want="$2"
      shift 2
      gnutls "$@"
      grep -aq 'Handshake was completed' "$work/gnutls.out" ||
        fail "$what: no handshake: $(cat -v "$work/gnutls.out")"
      grep -aqF -- "$want" "$work/gnutls.out" || fail "$what: not $want: $(cat -v "$work/gnutls.out")"
    }
    expect_refused() { # WHAT ALERT-PATTERN GNUTLS-ARGS...: the server ends it with an alert
      local what="$1" want="$2"
      shift 2
      gnutls "$@"
      ! grep -aq 'Handshake was completed' "$work/gnutls.out" ||
        fail "$what: the handshake completed: $(cat -v "$work/gnutls.out")"
      grep -aqE -- "Received alert \[$want\]" "$work/gnutls.out" ||
        fail "$what: no alert $want: $(cat -v "$work/gnutls.out")"
    }
    psk=(--pskusername dev-psk --pskkey "$secret_hex")
    x509=(--x509cafile "$work/ca.crt" --x509certfile "$work/dev1.crt" --x509keyfile "$work/dev1.key")
    rpk=(--insecure --rawpkkeyfile "$work/dev2.key" --rawpkfile "$work/dev2-pub.pem")
    base='NONE:+SIGN-ALL:+COMP-NULL'
    ccm8=':+AES-128-CCM-8:+AEAD'
    cbc=':+AES-128-CBC:+SHA256'
    # What we offer, over DTLS and TLS.
    expect_handshake "PSK AES-128-CCM-8" "(DTLS1.2-X.509)-(PSK)-(AES-128-CCM-8)" --udp "${psk[@]}" \
      --priority 'NORMAL:+PSK:+AES-128-CCM-8:+VERS-DTLS1.2'
    expect_handshake "PSK AES-128-CBC-SHA256" "(DTLS1.2-X.509)-(PSK)-(AES-128-CBC)-(SHA256)" --udp \
      "${psk[@]}" --priority "$base:+VERS-DTLS1.2:+PSK$cbc:+GROUP-ALL"
    expect_handshake "TLS PSK AES-128-CCM-8" "(TLS1.2-X.509)-(PSK)-(AES-128-CCM-8)" "${psk[@]}" \
      --priority "$base:+VERS-TLS1.2:+PSK$ccm8:+GROUP-ALL"
    expect_handshake "ECDHE-ECDSA AES-128-CCM-8" \
      "(DTLS1.2-X.509)-(ECDHE-SECP256R1)-(ECDSA-SHA256)-(AES-128-CCM-8)" --udp "${x509[@]}" \
      --priority "$base:+VERS-DTLS1.2:+ECDHE-ECDSA$ccm8:+GROUP-SECP256R1"
    expect_handshake "ECDHE-ECDSA AES-128-CBC-SHA256" \
      "(DTLS1.2-X.509)-(ECDHE-SECP256R1)-(ECDSA-SHA256)-(AES-128-CBC)-(SHA256)" --udp "${x509[@]}" \
      --priority "$base:+VERS-DTLS1.2:+ECDHE-ECDSA$cbc:+GROUP-SECP256R1"
    expect_handshake "TLS ECDHE-ECDSA AES-128-CCM-8" \
      "(TLS1.2-X.509)-(ECDHE-SECP256R1)-(ECDSA-SHA256)-(AES-128-CCM-8)" "${x509[@]}" \
      --priority "$base:+VERS-TLS1.2:+ECDHE-ECDSA$ccm8:+GROUP-SECP256R1"
    expect_handshake "raw public keys" \
      "(DTLS1.2-Raw Public Key)-(ECDHE-SECP256R1)-(ECDSA-SHA256)-(AES-128-CCM-8)" --udp "${rpk[@]}" \
      --priority "$base:+VERS-DTLS1.2:+ECDHE-ECDSA$ccm8:+GROUP-SECP256R1:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK"
    # What we do not offer: handshake_failure (40) or protocol_version (70).
    expect_refused "PSK AES-256-GCM" 40 --udp "${psk[@]}" \
      --priority "$base:+VERS-DTLS1.2:+PSK:+AES-256-GCM:+AEAD:+GROUP-ALL"
    expect_refused "PSK AES-256-CCM-8" 40 --udp "${psk[@]}" \
      --priority "$base:+VERS-DTLS1.2:+PSK:+AES-256-CCM-8:+AEAD:+GROUP-ALL"
    expect_refused "PSK CAMELLIA-128-CBC" 40 --udp "${psk[@]}" \
      --priority "$base:+VERS-DTLS1.2:+PSK:+CAMELLIA-128-CBC:+SHA256:+GROUP-ALL"
    expect_refused "PSK 3DES" 40 --udp "${psk[@]}" \
      --priority "$base:+VERS-DTLS1.2:+PSK:+3DES-CBC:+SHA1:+GROUP-ALL"
    # (Not ECDHE-PSK with CCM-8: GnuTLS has no such suite and would send an empty
    # cipher_suites list, a malformed ClientHello that gets decode_error.)
    expect_refused "ECDHE-PSK AES-128-CBC-SHA256" 40 --udp "${psk[@]}" \
      --priority "$base:+VERS-DTLS1.2:+ECDHE-PSK$cbc:+GROUP-SECP256R1"
    expect_refused "ECDHE on secp192r1" 40 --udp "${x509[@]}" \
      --priority "$base:+VERS-DTLS1.2:+ECDHE-ECDSA$ccm8:+GROUP-SECP192R1"
    expect_refused "ECDHE on secp384r1" 40 --udp "${x509[@]}" \
      --priority "$base:+VERS-DTLS1.2:+ECDHE-ECDSA$ccm8:+GROUP-SECP384R1"
    expect_refused "ECDHE on x25519" 40 --udp "${x509[@]}" \
      --priority "$base:+VERS-DTLS1.2:+ECDHE-ECDSA$ccm8:+GROUP-X25519"
    expect_refused "DTLS 1.0" 70 --udp "${psk[@]}" \
      --priority "$base:+VERS-DTLS1.0:+PSK:+AES-128-CBC:+SHA1:+GROUP-ALL"
    # Credentials not on file.
    expect_refused "unknown PSK identity" 115 --udp --pskusername nobody --pskkey "$secret_hex" \
      --priority 'NORMAL:+PSK:+AES-128-CCM-8:+VERS-DTLS1.2'
    expect_refused "wrong PSK over TLS" 20 --pskusername dev-psk --pskkey "${secret_hex}00" \
      --priority "$base:+VERS-TLS1.2:+PSK$ccm8:+GROUP-ALL"
    expect_refused "raw public key not on file" 49 --udp --insecure --rawpkkeyfile "$work/dev1.key" \
      --rawpkfile "$work/dev1-pub.pem" \
      --priority "$base:+VERS-DTLS1.2:+ECDHE-ECDSA$ccm8:+GROUP-SECP256R1:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK"
    # Nothing registered: gnutls-cli sent no CoAP.
    [ "$(client_count)" = 0 ] || fail "registrations: $(curl -s "$api/clients")"
    ;;

  tether-end-to-end)
    # Every mode over both carriers: PSK, RPK and X.509, each over coaps and coaps+tcp.
    make_pki
    openssl pkey -in "$work/server.key" -pubout -out "$work/server-pub.pem" 2>/dev/null
    new_key "$work/rdev.key"
    new_key "$work/rtdev.key"
    start_server --key "$work/server.key" --cert "$work/server-chain.pem" --client-ca "$work/ca.crt"
    put_creds rdev '{"mode":"rpk","publicKey":"'"$(spki_hex "$work/rdev.key")"'"}'
    put_creds rtdev '{"mode":"rpk","publicKey":"'"$(spki_hex "$work/rtdev.key")"'"}'
    put_creds dev1 '{"mode":"x509","commonName":"dev1"}'
    put_creds dev2 '{"mode":"x509","commonName":"dev2"}'
    psk_key=00112233445566778899aabbccddeeff
    put_creds pdev '{"mode":"psk","identity":"pdev-id","key":"'"$psk_key"'"}'
    put_creds ptdev '{"mode":"psk","identity":"ptdev-id","key":"'"$psk_key"'"}'
    put_creds pbad '{"mode":"psk","identity":"pbad-id","key":"'"$psk_key"'"}'
    wrong=(--psk-identity pbad-id --psk-key 00112233445566778899aabbccddeefe)
    # A wrong key over DTLS: our server drops the Finished it cannot decrypt (RFC 6347
    # 4.1.2.7), so the client only gives up when its handshake retransmissions run out
    # (about a minute); it runs alongside the rest.
    start_client bad-dtls -e pbad --server "$dtls" "${wrong[@]}"
    for carrier in dtls tls; do
      uri=$dtls r=rdev x=dev2 p=pdev
      [ "$carrier" = dtls ] || { uri=$tls r=rtdev x=dev1 p=ptdev; }
      start_client "$r" -e "$r" --server "$uri" --rpk-key "$work/$r.key" \
        --rpk-server-key "$work/server-pub.pem"
      start_client "$x" -e "$x" --server "$uri" --cert "$work/$x.crt" --key "$work/$x.key" \
        --ca "$work/ca.crt"
      start_client "$p" -e "$p" --server "$uri" --psk-identity "$p-id" --psk-key "$psk_key"
    done
    for ep_carrier in rdev:dtls dev2:dtls pdev:dtls rtdev:tls dev1:tls ptdev:tls; do
      ep=${ep_carrier%:*}
      wait_registered "$ep" "${ep_carrier#*:}" 10
      wait_log "$ep" "event=registered ep=$ep" 5
      # The server reaches the client over its secure session.
      call 200 "$api/clients/$ep/3/0/0?timeout=10"
      jcheck 'j["code"] == "2.05" and j["values"]["/3/0/0"] == "Tether"'
    done
    # An expired client certificate (with credentials on file) is refused in the handshake.
    put_creds dev3 '{"mode":"x509","commonName":"dev3"}'
    start_client dev3 -e dev3 --server "$dtls" --cert "$work/dev3.crt" --key "$work/dev3.key" \
      --ca "$work/ca.crt"
    wait_log dev3 'event=registration-failed .*\(D\)TLS: .*[Ee]xpired' 10
    expect_not_registered dev3
    # A wrong key over TLS: the server's bad_record_mac alert ends it at once.
    start_client bad-tls -e pbad --server "$tls" "${wrong[@]}"
    wait_log bad-tls 'event=registration-failed .*\(D\)TLS: .*Bad record MAC' 5
    sleep 5
    expect_not_registered pbad
    ! grep -q 'event=registered' "$work/bad-dtls.log" "$work/bad-tls.log" ||
      fail "a client with a wrong key registered"
    # The handshake's own timeout (60 s) or, on a loaded machine, the Register's (93 s):
    # either way the failure is the handshake's.
    wait_log bad-dtls 'event=registration-failed .*\(D\)TLS: .*handshake (timed out|had not completed)' 150
    expect_not_registered pbad
    ;;

  bootstrap-psk)
    start_server
    put_creds bdev '{"mode":"psk","identity":"bdev-srv","key":"'"$secret_hex"'"}'
    start_bootstrap
    # The Bootstrap-Server gives the device a PSK account on our server.
    put_bootstrap bdev '{
      "security": {"1": {"uri": "'"$dtls"'", "bootstrap": false, "mode": "psk",
                         "publicKeyOrIdentity": {"text": "bdev-srv"},
                         "secretKey": {"hex": "'"$secret_hex"'"},
                         "shortServerId": 101}},
      "servers": {"0": {"shortServerId": 101, "lifetime": 60, "binding": "U"}},
      "credentials": {"mode": "psk", "identity": "bdev-bs", "key": "00112233445566778899aabbccddeeff"}}'
    # Another configuration proving itself with bdev's identity is refused.
    call 409 -X PUT "http://127.0.0.1:$bs_http/api/bootstrap/bdev2" -d '{
      "security": {"1": {"uri": "'"$dtls"'", "bootstrap": false, "mode": "nosec",
                         "shortServerId": 101}},
      "servers": {"0": {"shortServerId": 101, "lifetime": 60, "binding": "U"}},
      "credentials": {"mode": "psk", "identity": "bdev-bs", "key": "00"}}'
    start_client stranger -e bdev --bootstrap "coaps://127.0.0.1:$bs_port" \
      --psk-identity someone-else --psk-key 00112233445566778899aabbccddeeff
    start_client bdev -e bdev --bootstrap "coaps://127.0.0.1:$bs_port" \
      --psk-identity bdev-bs --psk-key 00112233445566778899aabbccddeeff
    wait_registered bdev dtls 15
    wait_log bdev 'event=bootstrapped' 1
    wait_log stranger 'event=bootstrap-failed' 10
    ! grep -q 'event=bootstrapped' "$work/stranger.log" || fail "a stranger was bootstrapped"
    ;;

  bootstrap-rpk-x509)
    # dev2 proves a raw public key to the Bootstrap-Server over TLS and is given an X.509
    # account on our server over DTLS; dev1 proves its certificate over DTLS and is given a
    # raw-public-key account over TLS.
    make_pki
    openssl pkey -in "$work/server.key" -pubout -out "$work/server-pub.pem" 2>/dev/null
    new_key "$work/dev2-bs.key"
    new_key "$work/dev1-srv.key"
    der_hex() { openssl "$1" -in "$2" -outform DER 2>/dev/null | to_hex; }
    pki=(--key "$work/server.key" --cert "$work/server-chain.pem" --client-ca "$work/ca.crt")
    start_server "${pki[@]}"
    put_creds dev2 '{"mode":"x509","commonName":"dev2"}'
    put_creds dev1 '{"mode":"rpk","publicKey":"'"$(spki_hex "$work/dev1-srv.key")"'"}'
    start_bootstrap "${pki[@]}"
    put_bootstrap dev2 '{
      "security": {"1": {"uri": "'"$dtls"'", "bootstrap": false, "mode": "x509",
                         "publicKeyOrIdentity": {"hex": "'"$(der_hex x509 "$work/dev2.crt")"'"},
                         "secretKey": {"hex": "'"$(der_hex pkey "$work/dev2.key")"'"},
                         "serverPublicKey": {"hex": "'"$(der_hex x509 "$work/ca.crt")"'"},
                         "certificateUsage": 2, "shortServerId": 101}},
      "servers": {"0": {"shortServerId": 101, "lifetime": 60, "binding": "U"}},
      "credentials": {"mode": "rpk", "publicKey": "'"$(spki_hex "$work/dev2-bs.key")"'"}}'
    put_bootstrap dev1 '{
      "security": {"1": {"uri": "'"$tls"'", "bootstrap": false, "mode": "rpk",
                         "publicKeyOrIdentity": {"hex": "'"$(spki_hex "$work/dev1-srv.key")"'"},
                         "secretKey": {"hex": "'"$(der_hex pkey "$work/dev1-srv.key")"'"},
                         "serverPublicKey": {"hex": "'"$(spki_hex "$work/server.key")"'"},
                         "shortServerId": 101}},
      "servers": {"0": {"shortServerId": 101, "lifetime": 60, "binding": "T"}},
      "credentials": {"mode": "x509", "commonName": "dev1"}}'
    start_client dev2 -e dev2 --bootstrap "coaps+tcp://127.0.0.1:$bs_port" \
      --rpk-key "$work/dev2-bs.key" --rpk-server-key "$work/server-pub.pem"
    start_client dev1 -e dev1 --bootstrap "coaps://127.0.0.1:$bs_port" \
      --cert "$work/dev1.crt" --key "$work/dev1.key" --ca "$work/ca.crt"
    # A certificate from another CA naming dev1 is not bootstrapped.
    start_client rogue -e dev1 --bootstrap "coaps://127.0.0.1:$bs_port" \
      --cert "$work/rogue.crt" --key "$work/rogue.key" --ca "$work/ca.crt"
    wait_registered dev2 dtls 15
    wait_registered dev1 tls 15
    for ep in dev1 dev2; do
      wait_log "$ep" 'event=bootstrapped' 1
      call 200 "$api/clients/$ep/3/0/0?timeout=10"
      jcheck 'j["code"] == "2.05" and j["values"]["/3/0/0"] == "Tether"'
    done
    wait_log rogue 'event=bootstrap-failed' 10
    ! grep -q 'event=bootstrapped' "$work/rogue.log" || fail "a rogue certificate was bootstrapped"
    ;;

  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
echo "PASS: $scenario"

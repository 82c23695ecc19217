#!/usr/bin/env bash
# docs/keys.md stays true: its ```sh blocks run as written, then a server and clients use
# what they made, in raw public key and certificate mode. Usage: keys_recipe_test.sh TETHER DOC
set -euo pipefail
tether="$1"
doc="$2"
source "$(dirname "$0")/common.sh"
fail() { echo "FAIL: $*" >&2; cat "$work"/*.log >&2 2>/dev/null || true; exit 1; }

cd "$work"
# Every ```sh block of the page, in order, as one script.
awk '/^```sh$/ {on=1; next} /^```$/ {on=0} on' "$doc" >recipe.sh
[ "$(wc -l <recipe.sh)" -gt 10 ] || fail "no recipe found in $doc"
# shellcheck disable=SC1091
source ./recipe.sh >recipe.log 2>&1 || fail "the recipe failed: $(cat recipe.log)"

coap_port=$(free_port)
coaps_port=$(free_port)
http_port=$(free_port)
api="http://127.0.0.1:$http_port/api"
"$tether" server --coap-port "$coap_port" --coaps-port "$coaps_port" --http-port "$http_port" \
  --store memory --key server.key --cert server.crt --client-ca ca.crt -q 2>server.log &
pids+=("$!")
for _ in $(seq 1 100); do curl -sf "$api/health" >/dev/null && break; sleep 0.1; done
registered() {
  for _ in $(seq 1 150); do
    curl -sf "$api/clients/$1" >/dev/null && return 0
    sleep 0.1
  done
  return 1
}

curl -sf -X PUT "$api/security/clients/dev1" -d "{\"mode\": \"rpk\", \"publicKey\": \"$dev1_pub_hex\"}" \
  >/dev/null || fail "RPK credentials refused"
"$tether" client -e dev1 --server "coaps://127.0.0.1:$coaps_port" --rpk-key dev1.key \
  --rpk-server-key server-pub.pem 2>rpk-client.log &
rpk=$!
pids+=("$rpk")
registered dev1 || fail "the RPK client did not register"
kill "$rpk"
curl -sf -X DELETE "$api/clients/dev1" >/dev/null || true
curl -sf -X PUT "$api/security/clients/dev1" -d '{"mode": "x509", "commonName": "dev1"}' \
  >/dev/null || fail "X.509 credentials refused"
"$tether" client -e dev1 --server "coaps://127.0.0.1:$coaps_port" --cert dev1.crt --key dev1.key \
  --ca ca.crt 2>x509-client.log &
pids+=("$!")
registered dev1 || fail "the X.509 client did not register"
echo "PASS: keys recipe"

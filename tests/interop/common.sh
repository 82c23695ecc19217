# Shared by the interop scripts (sourced): a scratch folder, processes started in the
# background and stopped on exit, and a port free on 127.0.0.1 for both UDP and TCP.
# KEEP_WORK=1 keeps the scratch folder (logs, keys) for a look after a run.
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 - <<'PY'
import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port)); print(port); break
    except OSError:
        pass
    finally:
        t.close(); u.close()
PY
}

# A device maker's object in OMA XML with one resource, written to $work/models/ID.xml:
# write_model ID NAME RESOURCE_ID RESOURCE_NAME OPERATIONS TYPE
write_model() {
  mkdir -p "$work/models"
  cat >"$work/models/$1.xml" <<XML
<?xml version="1.0" encoding="utf-8"?>
<LWM2M><Object ObjectType="MODefinition"><Name>$2</Name><ObjectID>$1</ObjectID>
<ObjectURN>urn:oma:lwm2m:x:$1</ObjectURN><LWM2MVersion>1.1</LWM2MVersion>
<ObjectVersion>1.0</ObjectVersion><MultipleInstances>Multiple</MultipleInstances>
<Mandatory>Optional</Mandatory><Resources>
<Item ID="$3"><Name>$4</Name><Operations>$5</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory><Type>$6</Type><RangeEnumeration></RangeEnumeration><Units></Units><Description>$4.</Description></Item>
</Resources><Description2></Description2></Object></LWM2M>
XML
}

# REST API helpers (curl): api_status prints the HTTP status and keeps the body in
# $work/api.json; call checks the status; jcheck evaluates a Python expression on the body
# (bound to j). Scripts define fail().
api_status() { curl -s -o "$work/api.json" -w '%{http_code}' "$@"; }
call() {
  local want="$1"
  shift
  local got
  got=$(api_status "$@")
  [ "$got" = "$want" ] || fail "curl $*: expected HTTP $want, got $got: $(cat "$work/api.json")"
}
jcheck() {
  /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
    "$work/api.json" "$1" || fail "check '$1' on $(cat "$work/api.json")"
}

# CoAP helpers (libcoap's coap-client in $client): coap_request METHOD URI [args...] keeps
# the verbose exchange in $work/coap.out and prints the response code (2.05, 4.04, ...);
# expect_code WANT WHAT ARGS... runs the script's own coap() (which builds the URI) and
# fails unless the code is WANT.
coap_request() {
  local method="$1" uri="$2"
  shift 2
  timeout 20 "$client" -B 10 -v 7 -m "$method" "$@" "$uri" >"$work/coap.out" 2>&1 || true
  grep -oE 'c:[0-9]\.[0-9]{2}' "$work/coap.out" | tail -1 | cut -c3-
}
expect_code() {
  local want="$1" what="$2"
  shift 2
  local got
  got=$(coap "$@")
  [ "$got" = "$want" ] || fail "$what: expected $want, got '${got}': $(cat "$work/coap.out")"
}

#!/usr/bin/env bash
# The operator's first contact: every command answers --help on stdout with exit 0, and
# --version names the release. Usage: cli_test.sh TETHER_BINARY
set -euo pipefail
tether="$1"
fail() { echo "FAIL: $*" >&2; exit 1; }

for cmd in "" server bootstrap client bench "bench register" coap "coap serve" lwm2m \
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
echo "PASS: cli"

#!/usr/bin/env bash
# `cmake --install`: the binary runs from the prefix, the systemd units and the docs are
# there, and systemd accepts the units. Usage: install_test.sh BUILD_DIR
set -euo pipefail
build="$1"
source "$(dirname "$0")/common.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
  fail "cmake --install: $(cat "$work/install.log")"
"$work/prefix/bin/tether" --version | grep -q '^tether ' || fail "the installed binary does not run"
for unit in tether-server tether-bootstrap; do
  f="$work/prefix/lib/systemd/system/$unit.service"
  [ -f "$f" ] || fail "$unit.service not installed"
  grep -q '^ExecStart=/.*/bin/tether ' "$f" || fail "$unit: ExecStart does not name the binary"
  if command -v systemd-analyze >/dev/null; then
    # Pointed at the binary just installed, as the prefix chosen at configure time would.
    sed "s|^ExecStart=[^ ]*|ExecStart=$work/prefix/bin/tether|" "$f" >"$work/$unit.service"
    systemd-analyze verify "$work/$unit.service" >"$work/verify.log" 2>&1 ||
      fail "systemd-analyze verify $unit: $(cat "$work/verify.log")"
  fi
done
[ -f "$work/prefix/share/doc/tether/api.md" ] || fail "docs not installed"
echo "PASS: install"

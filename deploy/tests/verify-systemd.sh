#!/usr/bin/env bash
# Usage: deploy/tests/verify-systemd.sh [RESETSCOPE_BINARY]
#
# `systemd-analyze verify` on deploy/systemd/resetscope-agent.service, offline (systemd need not be PID 1).
# verify insists that ExecStart's binary exists and is executable, so the unit is checked with its
# /usr/bin/resetscope replaced by a real built resetscope (the argument; by default the
# launcher's build, .build/cli/resetscope, built on demand). Then: the capability sets are exactly the
# three the agent needs, and `systemd-analyze security` rates the unit's exposure at 3.0 or better, so a
# hardening line cannot be dropped unnoticed.
# Exit 77 (skipped) when systemd-analyze is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
unit="$repo/deploy/systemd/resetscope-agent.service"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "verify-systemd.sh: systemd-analyze not found (apt-get install systemd); skipped" >&2
  exit 77
fi

bin="${1:-}"
if [ -z "$bin" ]; then
  "$repo/resetscope" --version >/dev/null
  bin="$repo/.build/cli/resetscope"
fi
if [ ! -x "$bin" ]; then
  echo "verify-systemd.sh: $bin is not an executable resetscope build" >&2
  exit 1
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/bin/resetscope #$bin #" "$unit" >"$tmp/resetscope-agent.service"
if [ "$(grep -c "^ExecStart=$bin agent " "$tmp/resetscope-agent.service")" != 1 ]; then
  echo "verify-systemd.sh: expected one 'ExecStart=/usr/bin/resetscope agent ...' line in $unit" >&2
  exit 1
fi

systemd-analyze --version | head -n 1
# verify exits 0 on unknown keys and bad values too, printing a warning: any output is a failure.
out="$(systemd-analyze verify "$tmp/resetscope-agent.service" 2>&1)" || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then
  echo "verify-systemd.sh: systemd-analyze verify complained:" >&2
  echo "$out" >&2
  exit 1
fi
echo "verify: no warnings"

caps="CAP_SYSLOG CAP_DAC_READ_SEARCH CAP_SYS_PTRACE"
for key in CapabilityBoundingSet AmbientCapabilities; do
  lines="$(grep "^$key=" "$unit")"
  if [ "$lines" != "$key=$caps" ]; then
    echo "verify-systemd.sh: expected exactly '$key=$caps', found: ${lines:-nothing}" >&2
    exit 1
  fi
done
echo "capabilities: $caps"

# --threshold counts in tenths: 30 = an overall exposure of 3.0 ("OK").
if ! systemd-analyze security --offline=true --threshold=30 "$tmp/resetscope-agent.service" >"$tmp/security.txt" 2>&1; then
  cat "$tmp/security.txt" >&2
  echo "verify-systemd.sh: exposure above 3.0; was a hardening setting removed?" >&2
  exit 1
fi
grep 'Overall exposure level' "$tmp/security.txt"

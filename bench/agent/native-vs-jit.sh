#!/usr/bin/env bash
# The native agent (./build-release) against the JIT one (./resetscope) and prometheus-node-exporter, as root:
#   1. start-up: exec → the READY line "resetscope agent: recording ..." on stderr, median of RUNS starts;
#   2. memory at rest: VmRSS (and the peak, VmHWM) from /proc/<pid>/status REST_S seconds after start.
#
#   sudo bench/agent/native-vs-jit.sh          # RUNS=5 REST_S=30
# Writes a markdown table on stdout (bench/agent/README.md has the figures from this machine).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

RUNS=${RUNS:-5}
REST_S=${REST_S:-30}
PORT=${PORT:-19470}

if [ "$(id -u)" != 0 ]; then
  echo "bench/agent: needs root (the agent reads /dev/kmsg, as deployed)" >&2
  exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "bench/agent: needs python3 (it times the READY line)" >&2
  exit 2
fi

./build-release >/dev/null
./resetscope --version >/dev/null   # build the JIT app once, outside the timings
native=.build/release/resetscope
node_exporter=$(command -v prometheus-node-exporter || true)
work=$(mktemp -d /tmp/resetscope-native-vs-jit.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Each as deployed: the native binary as the unit runs it (no environment settings), the JIT app through the
# launcher, which sets its .NET runtime settings for the agent.
# Seconds from exec to the READY line of one agent run (python3: one clock, no shell in between).
ready_s() {
  python3 - "$@" <<'EOF'
import subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
ready = None
for line in p.stderr:
    if ready is None and line.startswith("resetscope agent: recording"):
        ready = time.monotonic() - t0
p.wait()
if ready is None or p.returncode != 0:
    sys.exit(f"no READY line (exit {p.returncode})")
print(f"{ready:.3f}")
EOF
}

mib() { awk -v b="$(stat -L -c %s "$1")" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

startup() {   # label, command...
  local label=$1; shift
  for ((i = 0; i < RUNS; i++)); do
    rm -f "$work/s.db"
    ready_s "$@" agent --duration 1s --store "$work/s.db" --metrics-listen "127.0.0.1:$PORT"
  done | median >"$work/startup-$label"
}

at_rest() {   # label, command...
  local label=$1; shift
  rm -f "$work/r.db"
  "$@" >/dev/null 2>"$work/$label.log" &
  pid=$!
  sleep "$REST_S"
  awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%.1f MiB (peak %.1f MiB)", r/1024, h/1024}' "/proc/$pid/status" >"$work/rss-$label"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  pid=""
}

startup native "$native"
startup jit ./resetscope
at_rest native "$native" agent --store "$work/r.db" --metrics-listen "127.0.0.1:$PORT"
at_rest jit ./resetscope agent --store "$work/r.db" --metrics-listen "127.0.0.1:$PORT"
if [ -n "$node_exporter" ]; then
  at_rest node-exporter "$node_exporter" --web.listen-address="127.0.0.1:$((PORT + 1))"
fi

echo "| $(nproc) CPUs, $(uname -r) | start-up to READY (median of $RUNS) | RSS after $REST_S s | binary |"
echo "|---|---|---|---|"
echo "| native \`resetscope agent\` (.build/release/resetscope) | $(cat "$work/startup-native") s | $(cat "$work/rss-native") | $(mib "$native") |"
app_mb=$(du -cm --apparent-size .build/cli/*.dll .build/cli/runtimes/linux-x64 | tail -n 1 | cut -f1)
shared=$(dirname "$(dirname "$(command -v dotnet)")")/shared
[ -d "$shared" ] || shared=$(dirname "$(readlink -f "$(command -v dotnet)")")/shared
# Only the shared framework the app runs on (its runtimeconfig names Microsoft.NETCore.App alone).
runtime_mb=$(du -sm --apparent-size "$shared/Microsoft.NETCore.App" | cut -f1)
echo "| JIT \`./resetscope agent\` (the launcher's settings) | $(cat "$work/startup-jit") s | $(cat "$work/rss-jit") | $app_mb MiB of assemblies + the .NET runtime ($runtime_mb MiB) |"
if [ -n "$node_exporter" ]; then
  echo "| prometheus-node-exporter $("$node_exporter" --version 2>&1 | sed -n '1s/.*version \([^ ]*\).*/\1/p') | | $(cat "$work/rss-node-exporter") | $(mib "$node_exporter") |"
fi

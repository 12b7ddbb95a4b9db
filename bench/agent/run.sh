#!/usr/bin/env bash
# The agent's own cost and its reaction time, on this machine, as root:
#   1. steady state at 1 s sampling: CPU (utime+stime from /proc/<pid>/stat over STEADY_S seconds, after a
#      warm-up) and memory (VmRSS, VmHWM) of the agent process;
#   2. kmsg record → incident committed and metrics updated: RESETS resets of the keep-alive scenario written
#      into /dev/kmsg (tagged, trusted only by this agent through --trust-test-records), each incident's
#      latency as the agent measured it (monotonic clock: now at commit − the kernel's time stamp of the
#      record that completed the reset); p50/p99/max.
#
#   sudo bench/agent/run.sh                   # STEADY_S=120 WARMUP_S=120 RESETS=100 GAP_S=0.5
#   DEFAULT_RUNTIME=1 sudo bench/agent/run.sh # without the launcher's .NET settings for the agent
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

STEADY_S=${STEADY_S:-120}
WARMUP_S=${WARMUP_S:-120}
RESETS=${RESETS:-100}
GAP_S=${GAP_S:-0.5}
PORT=${PORT:-19466}

if [ "$(id -u)" != 0 ]; then
  echo "bench/agent: needs root (reads and writes /dev/kmsg)" >&2
  exit 2
fi

./resetscope --help >/dev/null   # build once
dll=.build/cli/resetscope.dll
work=$(mktemp -d /tmp/resetscope-bench-agent.XXXXXX)
tag="resetscope-bench-$(date +%s)-$$: "
agent=""
cleanup() {
  if [ -n "$agent" ] && kill -0 "$agent" 2>/dev/null; then
    kill -TERM "$agent"; wait "$agent" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

dotnet "$dll" simulate keepalive-loss --log-only | sed -E 's/^\[[ 0-9.]+\] //' >"$work/reset.txt"
tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Through the launcher, so the agent runs with the runtime settings it is deployed with (see ./resetscope);
# DEFAULT_RUNTIME=1 runs the same build with .NET's and glibc's defaults instead.
launch=(./resetscope)
if [ -n "${DEFAULT_RUNTIME:-}" ]; then
  launch=(dotnet "$dll")
fi
"${launch[@]}" agent --json --store "$work/incidents.db" --metrics-listen "127.0.0.1:$PORT" --trust-test-records "$tag" \
  >"$work/incidents.jsonl" 2>"$work/agent.log" &
agent=$!
sleep "$WARMUP_S"
c0=$(cpu_ticks "$agent"); t0=$(date +%s.%N)
sleep "$STEADY_S"
c1=$(cpu_ticks "$agent"); t1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status"); hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
curl -sf "http://127.0.0.1:$PORT/metrics" >"$work/metrics.txt"
samples=$(awk '/^resetscope_recorder_samples_total/ {print $2}' "$work/metrics.txt")

for ((i = 0; i < RESETS; i++)); do
  while IFS= read -r line; do
    printf '<6>%s%s\n' "$tag" "$line" >/dev/kmsg   # one open per record: /dev/kmsg rate-limits per open file
  done <"$work/reset.txt"
  sleep "$GAP_S"
done
sleep 3
kill -TERM "$agent"; wait "$agent" || true
agent=""

committed=$(grep -c '"incident_kind":"reset"' "$work/incidents.jsonl" || true)
grep '"incident_kind":"reset"' "$work/incidents.jsonl" | sed -E 's/.*"latency_us":([0-9]+).*/\1/' | sort -n >"$work/lat.txt"
pct() { awk -v p="$1" '{v[NR]=$1} END {i=int((NR*p+99)/100); if (i<1) i=1; printf "%.1f", v[i]/1000}' "$work/lat.txt"; }

awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$tick" -v rss="$rss" -v hwm="$hwm" -v samples="$samples" 'BEGIN {
  s = (c1 - c0) / hz; w = t1 - t0
  printf "## resetscope agent on %s (%d CPUs)\n\n", ENVIRON["HOSTNAME"] ? ENVIRON["HOSTNAME"] : "this host", '"$(nproc)"'
  printf "| steady state (1 s sampling, %.0f s after %s s warm-up) | value | budget |\n|---|---|---|\n", w, '"$WARMUP_S"'
  printf "| CPU | %.3f %% of one core (%.2f CPU-s in %.0f s) | <= 0.5 %% |\n", 100 * s / w, s, w
  printf "| RSS | %.1f MB (peak %.1f MB) | <= 60 MB |\n", rss / 1024, hwm / 1024
  printf "| recorder samples so far | %d | |\n", samples
}'
echo
echo "| kmsg record -> incident committed + metrics updated | value | budget |"
echo "|---|---|---|"
echo "| resets injected / committed | $RESETS / $committed | all |"
echo "| p50 | $(pct 50) ms | |"
echo "| p99 | $(pct 99) ms | <= 200 ms |"
echo "| max | $(pct 100) ms | |"

#!/usr/bin/env bash
# The agent under a kernel-log flood, against `dmesg --follow` in the same run, as root on this machine.
#   1. rate ladder: for each rate, `resetscope lab flood` writes RATE records/s for about 4 s (writer pinned to
#      CPU 0); the native agent, then `dmesg --follow > FILE`, read on CPU 1. Records lost: the agent's
#      resetscope_kmsg_lost_records_total (sequence gaps), dmesg's the tagged lines missing from its output.
#      The highest rate each sustains with zero loss is the figure; the ratio is agent / dmesg.
#   2. 200,000 records as fast as the writer can, 20 resets inside: the agent's peak RSS (VmHWM), records lost,
#      CPU seconds per 100k records read (utime+stime), against dmesg's CPU per 100k.
#   3. 200,000 records at RATE_P99 records/s, 20 resets inside: record → incident committed p99 (the agent's
#      latency_us: monotonic now at commit − the kernel's time stamp of the reset's last record).
#
#   sudo bench/agent/flood.sh        # RATES="20000 50000 100000 150000 200000 0" RATE_P99=50000
# Needs ./build-release's native binary (built if missing) and util-linux dmesg.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

RATES=${RATES:-"20000 50000 100000 150000 200000 0"}
RATE_P99=${RATE_P99:-50000}
PORT=${PORT:-19478}

if [ "$(id -u)" != 0 ]; then
  echo "bench/agent/flood.sh: needs root (writes /dev/kmsg, lifts kernel.printk_devkmsg for the flood)" >&2
  exit 2
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "bench/agent/flood.sh: needs 2 CPUs (the writer on one, the reader on the other)" >&2
  exit 2
fi

./build-release >/dev/null
bin=.build/release/resetscope
work=$(mktemp -d /tmp/resetscope-bench-flood.XXXXXX)
agent=""
reader=""
cleanup() {
  for p in $agent $reader; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p"; wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

start_agent() { # tag
  rm -f "$work/incidents.db"*
  taskset -c 1 "$bin" agent --json --store "$work/incidents.db" --metrics-listen "127.0.0.1:$PORT" \
    --trust-test-records "$1" >"$work/incidents.jsonl" 2>"$work/agent.log" &
  agent=$!
  for _ in $(seq 100); do grep -q "recording" "$work/agent.log" 2>/dev/null && break; sleep 0.05; done
  sleep 1 # the backlog since boot read
}
stop_agent() { kill -TERM "$agent"; wait "$agent" || true; agent=""; }
flood() { # records rate resets tag
  taskset -c 0 "$bin" lab flood --records "$1" --rate "$2" --resets "$3" --tag "$4" --json
}

echo "| rate asked (records/s) | written at (records/s) | agent lost | dmesg --follow lost |" >"$work/ladder.md"
echo "|---|---|---|---|" >>"$work/ladder.md"
best_agent=0; best_dmesg=0
for rate in $RATES; do
  n=$(( rate > 0 ? rate * 4 : 200000 )); [ "$n" -gt 200000 ] && n=200000

  tag="rs-bench-flood-a$rate-$$: "
  start_agent "$tag"
  lost0=$(metric resetscope_kmsg_lost_records_total)
  got=$(flood "$n" "$rate" 0 "$tag")
  sleep 1
  lost_a=$(( $(metric resetscope_kmsg_lost_records_total) - lost0 ))
  stop_agent

  tag="rs-bench-flood-d$rate-$$: "
  taskset -c 1 dmesg --follow >"$work/dmesg.txt" &
  reader=$!
  sleep 1
  flood "$n" "$rate" 0 "$tag" >/dev/null
  sleep 1
  kill -TERM "$reader"; wait "$reader" 2>/dev/null || true; reader=""
  lost_d=$(( n - $(grep -c -F "$tag" "$work/dmesg.txt" || true) ))

  at=$(sed -E 's/.*"records_per_second":([0-9.]+).*/\1/' <<<"$got")
  echo "| ${rate/#0/as fast as possible} | $at | $lost_a | $lost_d |" >>"$work/ladder.md"
  [ "$lost_a" = 0 ] && awk -v a="$at" -v b="$best_agent" 'BEGIN {exit !(a > b)}' && best_agent=$at
  [ "$lost_d" = 0 ] && awk -v a="$at" -v b="$best_dmesg" 'BEGIN {exit !(a > b)}' && best_dmesg=$at
done

# 2. 200k as fast as possible with resets: memory, loss, CPU per 100k.
tag="rs-bench-flood-m-$$: "
start_agent "$tag"
c0=$(ticks "$agent"); r0=$(metric 'resetscope_kmsg_records_total{origin="user"}'); lost0=$(metric resetscope_kmsg_lost_records_total)
flood 200000 0 20 "$tag" >/dev/null
sleep 2
c1=$(ticks "$agent"); r1=$(metric 'resetscope_kmsg_records_total{origin="user"}'); lost1=$(metric resetscope_kmsg_lost_records_total)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
resets_fast=$(grep -c '"incident_kind":"reset"' "$work/incidents.jsonl" || true)
stop_agent
tag="rs-bench-flood-dm-$$: "
taskset -c 1 dmesg --follow >"$work/dmesg.txt" &
reader=$!
sleep 1
d0=$(ticks "$reader")
flood 200000 0 0 "$tag" >/dev/null
sleep 1
d1=$(ticks "$reader"); dread=$(grep -c -F "$tag" "$work/dmesg.txt" || true)
kill -TERM "$reader"; wait "$reader" 2>/dev/null || true; reader=""

# 3. p99 record → commit at a rate both keep up with.
tag="rs-bench-flood-l-$$: "
start_agent "$tag"
lost0=$(metric resetscope_kmsg_lost_records_total)
flood 200000 "$RATE_P99" 20 "$tag" >/dev/null
sleep 2
lost_l=$(( $(metric resetscope_kmsg_lost_records_total) - lost0 ))
hwm_l=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
stop_agent
grep '"incident_kind":"reset"' "$work/incidents.jsonl" | sed -E 's/.*"latency_us":([0-9]+).*/\1/' | sort -n >"$work/lat.txt"
committed=$(wc -l <"$work/lat.txt")
pct() { awk -v p="$1" '{v[NR]=$1} END {if (NR == 0) {print "n/a"; exit} i=int((NR*p+99)/100); if (i<1) i=1; printf "%.1f", v[i]/1000}' "$work/lat.txt"; }

echo "## resetscope agent (native) under a kernel-log flood, $(nproc) CPUs, $(uname -r)"
echo
cat "$work/ladder.md"
echo
awk -v a="$best_agent" -v d="$best_dmesg" 'BEGIN {
  printf "highest rate with zero loss: agent %d records/s, dmesg --follow %d records/s", a, d
  if (d > 0) printf " (%.2fx)", a / d
  printf "\n\n"
}'
awk -v c="$((c1 - c0))" -v r="$((r1 - r0))" -v l="$((lost1 - lost0))" -v hwm="$hwm" -v hz="$hz" -v dc="$((d1 - d0))" -v dr="$dread" -v rf="$resets_fast" 'BEGIN {
  printf "| 200,000 records as fast as one writer can, 20 resets inside | agent | dmesg --follow |\n|---|---|---|\n"
  printf "| records read / lost | %d / %d | %d / %d |\n", r, l, dr, 200000 - dr
  printf "| CPU seconds per 100k records read | %.3f | %.3f |\n", (c / hz) * 100000 / (r > 0 ? r : 1), (dc / hz) * 100000 / (dr > 0 ? dr : 1)
  printf "| peak RSS (VmHWM) | %.1f MB | |\n", hwm / 1024
  printf "| resets committed | %d of 20 | |\n\n", rf
}'
echo "| 200,000 records at $RATE_P99 records/s, 20 resets inside | value |"
echo "|---|---|"
echo "| records lost | $lost_l |"
echo "| resets committed | $committed of 20 |"
echo "| record → incident committed p50 / p99 / max | $(pct 50) / $(pct 99) / $(pct 100) ms |"
echo "| peak RSS (VmHWM) | $(awk -v h="$hwm_l" 'BEGIN {printf "%.1f", h / 1024}') MB |"

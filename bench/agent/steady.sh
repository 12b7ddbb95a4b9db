#!/usr/bin/env bash
# The native agent's steady cost at 1 s sampling against `mpstat -P ALL 1` and prometheus-node-exporter, all in
# the same window, as root:
#   - native `resetscope agent` on this host, and on the generated 96-CPU fixture tree (--proc-root);
#   - `mpstat -P ALL 1` on this host, and on the same 96-CPU tree (bind-mounted over /proc/stat, /proc/softirqs,
#     /proc/interrupts and /sys/devices/system/cpu in a private mount namespace, as bench/cpu does);
#   - prometheus-node-exporter with its Debian defaults, not scraped (its at-rest cost).
# They start together; after WARMUP_S the CPU time of every thread of each (schedstat, ns) is read, again after
# STEADY_S more, and RSS (VmRSS, VmHWM) at the end.
#
#   sudo bench/agent/steady.sh        # WARMUP_S=30 STEADY_S=120
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

WARMUP_S=${WARMUP_S:-30}
STEADY_S=${STEADY_S:-120}
PORT=${PORT:-19482}

if [ "$(id -u)" != 0 ]; then
  echo "bench/agent/steady.sh: needs root (the agent reads /dev/kmsg; the fixture mpstat needs a mount namespace)" >&2
  exit 2
fi
for tool in mpstat prometheus-node-exporter; do
  command -v "$tool" >/dev/null || { echo "bench/agent/steady.sh: $tool is missing (apt-get install sysstat prometheus-node-exporter)" >&2; exit 2; }
done

./build-release >/dev/null
bin=.build/release/resetscope
dotnet build bench/ResetScope.Host.Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
work=$(mktemp -d /tmp/resetscope-bench-steady.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

dotnet bench/ResetScope.Host.Benchmarks/bin/Release/net10.0/ResetScope.Host.Benchmarks.dll gen96 "$work/fixture96"
mkdir -p "$work/sys-cpu"
for i in $(seq 0 95); do mkdir -p "$work/sys-cpu/cpu$i"; done
echo "0-95" >"$work/sys-cpu/possible"; echo "0-95" >"$work/sys-cpu/present"; echo "0-49,51-95" >"$work/sys-cpu/online"

declare -A pid
"$bin" agent --store "$work/a.db" --metrics-listen "127.0.0.1:$PORT" >/dev/null 2>"$work/agent.log" &
pid[agent]=$!; pids+=("$!")
"$bin" agent --store "$work/b.db" --metrics-listen "127.0.0.1:$((PORT + 1))" --proc-root "$work/fixture96" >/dev/null 2>"$work/agent96.log" &
pid[agent96]=$!; pids+=("$!")
LC_ALL=C mpstat -P ALL 1 >/dev/null &
pid[mpstat]=$!; pids+=("$!")
LC_ALL=C unshare -m --propagation private -- sh -c '
  mount --bind "$1/stat" /proc/stat && mount --bind "$1/softirqs" /proc/softirqs &&
    mount --bind "$1/interrupts" /proc/interrupts && mount --bind "$2" /sys/devices/system/cpu || exit 1
  mpstat -P ALL 1 >/dev/null &
  echo $! >"$3"
  wait' sh "$work/fixture96" "$work/sys-cpu" "$work/mpstat96.pid" &
pids+=("$!")
prometheus-node-exporter --web.listen-address="127.0.0.1:$((PORT + 2))" >/dev/null 2>&1 &
pid[node_exporter]=$!; pids+=("$!")
sleep 2
pid[mpstat96]=$(cat "$work/mpstat96.pid")
pids=("${pid[mpstat96]}" "${pids[@]}") # the namespace's shell waits for its mpstat: end that first

cpu_ns() { # every live thread's run time (schedstat field 1)
  local total=0 f ns rest
  for f in /proc/"$1"/task/*/schedstat; do
    read -r ns rest <"$f" || continue
    total=$((total + ns))
  done
  echo "$total"
}
names=(agent mpstat agent96 mpstat96 node_exporter)
sleep "$WARMUP_S"
declare -A c0 c1
for n in "${names[@]}"; do c0[$n]=$(cpu_ns "${pid[$n]}"); done
t0=$(date +%s%N)
sleep "$STEADY_S"
for n in "${names[@]}"; do c1[$n]=$(cpu_ns "${pid[$n]}"); done
t1=$(date +%s%N)

pct() { awk -v a="$1" -v b="$2" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.3f", 100 * (b - a) / (t1 - t0)}'; }
rss() { awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%.1f MiB (peak %.1f)", r/1024, h/1024}' "/proc/$1/status"; }
threads() { awk '/^Threads/ {print $2}' "/proc/$1/status"; }
declare -A p
for n in "${names[@]}"; do p[$n]=$(pct "${c0[$n]}" "${c1[$n]}"); done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else print "n/a"}'; }

echo "## steady state at 1 s, $(nproc) CPUs, $(uname -r): ${STEADY_S} s after ${WARMUP_S} s, all in the same window"
echo
echo "| process | CPU, % of one core | vs mpstat on the same CPUs | RSS at the end | threads |"
echo "|---|---|---|---|---|"
echo "| native \`resetscope agent\`, this host | ${p[agent]} | $(ratio "${p[agent]}" "${p[mpstat]}") | $(rss "${pid[agent]}") | $(threads "${pid[agent]}") |"
echo "| \`mpstat -P ALL 1\`, this host | ${p[mpstat]} | 1.00x | $(rss "${pid[mpstat]}") | 1 |"
echo "| native \`resetscope agent\`, 96-CPU fixture tree | ${p[agent96]} | $(ratio "${p[agent96]}" "${p[mpstat96]}") | $(rss "${pid[agent96]}") | $(threads "${pid[agent96]}") |"
echo "| \`mpstat -P ALL 1\`, 96-CPU fixture tree | ${p[mpstat96]} | 1.00x | $(rss "${pid[mpstat96]}") | 1 |"
echo "| prometheus-node-exporter, not scraped | ${p[node_exporter]} | | $(rss "${pid[node_exporter]}") | $(threads "${pid[node_exporter]}") |"

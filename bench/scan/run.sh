#!/usr/bin/env bash
# Throughput of the kernel-log scanner against grep -E and rg (Debian ripgrep) on a generated corpus.
#
#   bench/scan/run.sh            # ~1.1 GiB corpus in a temp dir, removed afterwards
#   SIZE_MIB=2048 bench/scan/run.sh
#
# The corpus (bench/ResetScope.KernelLog.Benchmarks "gen") mixes five shapes (raw dmesg, syslog with kernel
# timestamps, RFC 3339 journal, dmesg -T, /dev/kmsg) of realistic unrelated kernel lines, about one line in a
# thousand that passes the prefilter without being a reset, and injected reset sequences. grep and rg get the
# catalogue's trigger/start/completion/starvation formats as EREs ("patterns" mode). The scanner runs the same
# ScanRunner the CLI's `scan --json` calls (JSON to /dev/null), single-threaded (-j 1) and on all cores.
# Every timing is the best of RUNS (default 3) wall-clock runs with a warm page cache.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SIZE_MIB=${SIZE_MIB:-1100}
RUNS=${RUNS:-3}
CORES=$(nproc)

if ! command -v rg >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq ripgrep >/dev/null || { apt-get update -qq && apt-get install -y -qq ripgrep >/dev/null; }
  else
    echo "bench/scan: rg (Debian package ripgrep) is missing; install it and run again" >&2
    exit 2
  fi
fi

dotnet build bench/ResetScope.KernelLog.Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
B=bench/ResetScope.KernelLog.Benchmarks/bin/Release/net10.0/ResetScope.KernelLog.Benchmarks

DIR=$(mktemp -d "${TMPDIR:-/tmp}/resetscope-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
"$B" gen "$DIR/corpus" "$SIZE_MIB"
"$B" patterns > "$DIR/patterns.txt"
cat "$DIR"/corpus/* > /dev/null
BYTES=$(cat "$DIR"/corpus/* | wc -c)

best() { # best wall-clock seconds of RUNS runs of "$@", output discarded
  local best="" s e t
  for _ in $(seq "$RUNS"); do
    s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N)
    t=$(( e - s ))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  awk -v ns="$best" 'BEGIN { printf "%.3f", ns / 1e9 }'
}

echo "corpus: $BYTES bytes in $(ls "$DIR/corpus" | wc -l) files; $(wc -l < "$DIR/patterns.txt") patterns; $CORES cores; best of $RUNS"
# Sanity: every tool finds something, and the scanner's counts.
"$B" scan -j "$CORES" "$DIR/corpus" 2>/dev/null | tail -1 | grep -o '"resets":[0-9]*,"precursors":[0-9]*,"starvation":[0-9]*' | sed 's/^/scanner found: /'
echo "grep -E matching lines: $(LC_ALL=C grep -E -h -f "$DIR/patterns.txt" "$DIR"/corpus/* | wc -l)"
echo "rg matching lines:      $(rg --no-config --no-ignore -N -I -f "$DIR/patterns.txt" "$DIR/corpus" | wc -l)"

T_SCAN1=$(best "$B" scan -j 1 "$DIR/corpus")
T_SCANN=$(best "$B" scan -j "$CORES" "$DIR/corpus")
T_GREP=$(best env LC_ALL=C grep -E -c -f "$DIR/patterns.txt" "$DIR"/corpus/*)
T_RG1=$(best rg --no-config --no-ignore -c -j 1 -f "$DIR/patterns.txt" "$DIR/corpus")
T_RGN=$(best rg --no-config --no-ignore -c -j "$CORES" -f "$DIR/patterns.txt" "$DIR/corpus")

awk -v b="$BYTES" -v s1="$T_SCAN1" -v sn="$T_SCANN" -v g="$T_GREP" -v r1="$T_RG1" -v rn="$T_RGN" -v c="$CORES" 'BEGIN {
  printf "%-34s %8s %10s\n", "tool", "seconds", "GB/s";
  printf "%-34s %8.3f %10.2f\n", "resetscope scan --json (1 thread)", s1, b / s1 / 1e9;
  printf "%-34s %8.3f %10.2f\n", "resetscope scan --json (" c " threads)", sn, b / sn / 1e9;
  printf "%-34s %8.3f %10.2f\n", "grep -E -c -f patterns", g, b / g / 1e9;
  printf "%-34s %8.3f %10.2f\n", "rg -c -j1 -f patterns", r1, b / r1 / 1e9;
  printf "%-34s %8.3f %10.2f\n", "rg -c -f patterns (" c " threads)", rn, b / rn / 1e9;
  printf "ratios: scanner/grep (1 thread) %.2fx, scanner/rg (1 thread) %.2fx, scanner/rg (%d threads) %.2fx\n", g / s1, r1 / s1, c, rn / sn;
}'

#!/usr/bin/env bash
# Decompression throughput of .gz inputs: the scanner's native member reader (GzipMemberStream over the runtime's
# zlib-ng) vs GZipStream vs gzip -dc vs pigz -dc, on one dmesg-like corpus file compressed by gzip -6, warm cache.
#
#   bench/scan/gzip.sh             # ~200 MiB of text
#   SIZE_MIB=400 RUNS=5 bench/scan/gzip.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SIZE_MIB=${SIZE_MIB:-200}
RUNS=${RUNS:-3}

dotnet build bench/ResetScope.KernelLog.Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
B=bench/ResetScope.KernelLog.Benchmarks/bin/Release/net10.0/ResetScope.KernelLog.Benchmarks

DIR=$(mktemp -d "${TMPDIR:-/tmp}/resetscope-gzbench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
"$B" gen "$DIR/corpus" "$SIZE_MIB" >/dev/null
cat "$DIR"/corpus/* > "$DIR/kern.log"
rm -rf "$DIR/corpus"
gzip -6 -c "$DIR/kern.log" > "$DIR/kern.log.gz"
BYTES=$(wc -c < "$DIR/kern.log")
rm "$DIR/kern.log"
cat "$DIR/kern.log.gz" > /dev/null

best() { # best wall-clock seconds of RUNS runs of "$@", output discarded
  local best="" s e t
  for _ in $(seq "$RUNS"); do
    s=$(date +%s%N); "$@" > /dev/null 2>&1; e=$(date +%s%N)
    t=$(( e - s ))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  echo "$best"
}
mbs() { awk -v b="$BYTES" -v ns="$1" 'BEGIN { printf "%8.0f", b / (ns / 1e9) / 1e6 }'; }

echo "corpus: $BYTES bytes of text, $(wc -c < "$DIR/kern.log.gz") bytes gzip -6; $(nproc) cores; best of $RUNS"
"$B" gunzip "$DIR/kern.log.gz" "$RUNS"
echo "gzip -dc                            $(mbs "$(best gzip -dc "$DIR/kern.log.gz")")"
if command -v pigz >/dev/null 2>&1; then
  echo "pigz -dc                            $(mbs "$(best pigz -dc "$DIR/kern.log.gz")")"
fi

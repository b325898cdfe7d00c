#!/usr/bin/env bash
# Benchmark: `ferryctl manifest generate --set profile=demo`, process start included.
# Prints the best and median wall time over N runs. Bar (issue "Install profiles"): ≤ 50 ms.
#   bash benches/manifest.sh           # 50 runs
#   bash benches/manifest.sh --quick   # 10 runs (CI)
#   bash benches/manifest.sh --check   # also exit non-zero when the bar is missed
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
bench_options 50 10 "$@"
bench_build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" manifest generate --set profile=demo >"$work/warm.yaml"
objects=$(grep -c '^kind:' "$work/warm.yaml")
bytes=$(wc -c <"$work/warm.yaml")
for _ in $(seq "$runs"); do
  start=$EPOCHREALTIME
  "$bin" manifest generate --set profile=demo >"$work/out.yaml"
  end=$EPOCHREALTIME
  awk "BEGIN{printf \"%.2f\n\", ($end - $start) * 1000}" >>"$work/times"
done
cmp -s "$work/warm.yaml" "$work/out.yaml" || { echo "output differs between runs" >&2; exit 1; }
sort -n "$work/times" >"$work/sorted"
best=$(head -n 1 "$work/sorted")
median=$(median "$work/sorted")
rss=$(/usr/bin/time -f '%M' "$bin" manifest generate --set profile=demo 2>&1 >/dev/null | tail -n 1)
echo "manifest generate --set profile=demo: $objects objects, $bytes bytes"
echo "  wall: best ${best} ms, median ${median} ms over $runs runs (bar: ≤ 50 ms)"
echo "  peak RSS: $((rss / 1024)) MB"
if [ "$check" = 1 ] && awk "BEGIN{exit !($median > 50)}"; then
  echo "bar missed" >&2; exit 1
fi

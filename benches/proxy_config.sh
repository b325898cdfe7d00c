#!/usr/bin/env bash
# Benchmark: `ferryctl proxy-config all -f DUMP` on a ~5 MB Envoy config dump (generated from the
# real-Envoy fixtures with distinct names), process start included. Prints the median and best
# wall time over N runs and the peak RSS. Bar: ≤ 200 ms.
#   bash benches/proxy_config.sh           # 20 runs
#   bash benches/proxy_config.sh --quick   # 5 runs (CI)
#   bash benches/proxy_config.sh --check   # also exit non-zero when the bar is missed
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
bench_options 20 5 "$@"
mb=5
bench_build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 benches/gen_config_dump.py "$mb" "$work/dump.json"
bytes=$(wc -c <"$work/dump.json")
"$bin" proxy-config all -f "$work/dump.json" >"$work/warm.txt"
rows=$(wc -l <"$work/warm.txt")
for _ in $(seq "$runs"); do
  start=$EPOCHREALTIME
  "$bin" proxy-config all -f "$work/dump.json" >"$work/out.txt"
  end=$EPOCHREALTIME
  awk "BEGIN{printf \"%.2f\n\", ($end - $start) * 1000}" >>"$work/times"
done
cmp -s "$work/warm.txt" "$work/out.txt" || { echo "output differs between runs" >&2; exit 1; }
sort -n "$work/times" >"$work/sorted"
best=$(head -1 "$work/sorted")
median=$(median "$work/sorted")
rss="n/a"
if [ -x /usr/bin/time ]; then
  rss=$(/usr/bin/time -v "$bin" proxy-config all -f "$work/dump.json" 2>&1 >/dev/null \
    | awk -F': ' '/Maximum resident set size/{printf "%.1f MB", $2/1024}')
fi
echo "proxy-config all -f: dump $((bytes / 1024)) KiB, $rows output lines, $runs runs"
echo "  median ${median} ms, best ${best} ms, peak RSS ${rss} (bar: 200 ms)"
if [ "$check" = 1 ]; then
  awk "BEGIN{exit !($median <= 200)}" || { echo "bar missed: median ${median} ms > 200 ms" >&2; exit 1; }
fi

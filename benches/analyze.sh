#!/usr/bin/env bash
# Benchmark: `ferryctl analyze --use-kube=false -A` over generated corpora of ~10k and ~20k
# objects (100 namespaces). Prints wall time (best of N runs) and peak RSS, and the 20k/10k ratio.
# Bars (issue "analyze"): 10k ≤ 1.0 s wall, ≤ 200 MB peak RSS; 20k ≤ 2.2 × the 10k time.
#   bash benches/analyze.sh           # 5 runs each
#   bash benches/analyze.sh --quick   # 2 runs each (CI)
#   bash benches/analyze.sh --check   # also exit non-zero when a bar is missed
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
bench_options 5 2 "$@"
bench_build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # dir -> "best_seconds max_rss_kb"
  local dir=$1 best="" rss=0 start end secs kb
  for _ in $(seq "$runs"); do
    start=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$work/t" "$bin" analyze --use-kube=false -A -o json "$dir" >"$work/out.json" 2>/dev/null || true
    end=$EPOCHREALTIME
    secs=$(awk "BEGIN{printf \"%.3f\", $end - $start}")
    kb=$(tail -n 1 "$work/t")
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
    if [ "$kb" -gt "$rss" ]; then rss=$kb; fi
  done
  echo "$best $rss"
}

python3 benches/gen_corpus.py "$work/c10k" 10000
python3 benches/gen_corpus.py "$work/c20k" 20000
n10=$(grep -c '^kind:' "$work"/c10k/*.yaml | awk -F: '{s+=$2} END{print s}')
n20=$(grep -c '^kind:' "$work"/c20k/*.yaml | awk -F: '{s+=$2} END{print s}')
read -r t10 r10 < <(measure "$work/c10k")
read -r t20 r20 < <(measure "$work/c20k")
findings=$(python3 -c "import json;print(len(json.load(open('$work/out.json'))))")
ratio=$(awk "BEGIN{printf \"%.2f\", ($t10>0)? $t20/$t10 : 0}")
printf 'analyze benchmark (best of %d runs, %s cores)\n' "$runs" "$(nproc)"
printf '  %6d objects: %6.3f s wall, %6.1f MB peak RSS\n' "$n10" "$t10" "$(awk "BEGIN{print $r10/1024}")"
printf '  %6d objects: %6.3f s wall, %6.1f MB peak RSS (%d findings)\n' "$n20" "$t20" "$(awk "BEGIN{print $r20/1024}")" "$findings"
printf '  20k/10k time ratio: %s\n' "$ratio"
if [ "$check" = 1 ]; then
  awk "BEGIN{exit !($t10 <= 1.0 && $r10 <= 204800 && $ratio <= 2.2)}" || { echo "benchmark bars missed"; exit 1; }
fi

#!/usr/bin/env bash
# Benchmark: `ferryctl install --local -y` from nothing to ready (control plane answering
# /ready, the ingress gateway answering /ready), process start included, in a fresh FERRY_HOME
# each run; and `ferryctl demo` end to end (install + three sample apps + config + 1,000
# requests through the gateway). Bar (issue "local mesh"): install to ready ≤ 3 s.
#   bash benches/local_install.sh           # 10 runs
#   bash benches/local_install.sh --quick   # 3 runs (CI)
#   bash benches/local_install.sh --check   # also exit non-zero when the bar is missed
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
bench_options 10 3 "$@"
bench_build
work=$(mktemp -d)
cleanup() {
  for h in "$work"/home-*; do
    [ -d "$h" ] && FERRY_HOME="$h" "$bin" uninstall --local --purge -y >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

for i in $(seq "$runs"); do
  export FERRY_HOME="$work/home-$i"
  start=$EPOCHREALTIME
  "$bin" install --local -y 2>"$work/install.log" || { cat "$work/install.log" >&2; exit 1; }
  end=$EPOCHREALTIME
  ms "$start" "$end" >>"$work/install"
  start=$EPOCHREALTIME
  "$bin" uninstall --local --purge -y 2>/dev/null
  end=$EPOCHREALTIME
  ms "$start" "$end" >>"$work/uninstall"
done
export FERRY_HOME="$work/home-demo"
start=$EPOCHREALTIME
"$bin" demo >"$work/demo.out" 2>"$work/demo.log" || { cat "$work/demo.out" "$work/demo.log" >&2; exit 1; }
end=$EPOCHREALTIME
demo_ms=$(ms "$start" "$end")
"$bin" uninstall --local --purge -y >/dev/null 2>&1

stats() { printf 'min %d ms, median %s ms, max %d ms' "$(sort -n "$1" | head -1)" "$(median "$1")" "$(sort -n "$1" | tail -1)"; }
max=$(sort -n "$work/install" | tail -1)
printf 'local install benchmark (%d runs, %s cores, load %s)\n' "$runs" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  install --local -y to ready: %s (bar 3000 ms)\n' "$(stats "$work/install")"
printf '  uninstall --local --purge -y: %s\n' "$(stats "$work/uninstall")"
printf '  demo (install + sample apps + config + 1,100 requests): %d ms\n' "$demo_ms"
if [ "$check" = 1 ] && [ "$max" -gt 3000 ]; then
  echo "bar missed: install took up to $max ms" >&2; exit 1
fi

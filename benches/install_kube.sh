#!/usr/bin/env bash
# Benchmark: `ferryctl install -y` (default profile: CRDs, istiod, the ingress gateway) into a
# cluster with real controllers (tests/k8s/cluster.sh: kube-controller-manager, kube-scheduler and
# kwok's fake node), timed from start to "✔ Installation complete", i.e. until every Deployment is
# available. Each run installs a fresh revision into its own namespace and is uninstalled
# afterwards (untimed), so every run creates every object and waits for new pods; only the first
# run creates the CRDs when the cluster lacks them (they outlive uninstall), which is why it is
# printed apart.
# Also times a second install of the same revision (nothing to change). Bar (issue 6): every
# install ≤ 60 s.
#   FERRY_BENCH_KUBECONFIG=DIR/kubeconfig bash benches/install_kube.sh           # 5 runs
#   FERRY_BENCH_KUBECONFIG=DIR/kubeconfig bash benches/install_kube.sh --quick   # 2 runs (CI)
#   FERRY_BENCH_KUBECONFIG=DIR/kubeconfig bash benches/install_kube.sh --check   # fail over 60 s
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
bench_options 5 2 "$@"
kubeconfig=${FERRY_BENCH_KUBECONFIG:?set FERRY_BENCH_KUBECONFIG to an admin kubeconfig (tests/k8s/cluster.sh up DIR writes DIR/kubeconfig)}
bar_ms=60000
bench_build
work=$(mktemp -d)
rev=install-bench
cleanup() {
  "$bin" uninstall --kubeconfig "$kubeconfig" -r "$rev" -y >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# install_once LOG: one timed install; prints its milliseconds (its peak RSS goes to
# $work/rss_all), fails (with its output) unless it completed.
install_once() {
  local start end
  start=$EPOCHREALTIME
  /usr/bin/time -f '%M' -o "$work/rss" "$bin" install --kubeconfig "$kubeconfig" -y -r "$rev" \
    --set "namespace=$rev" --readiness-timeout 120s >"$1" 2>&1 || true
  end=$EPOCHREALTIME
  grep -q '✔ Installation complete' "$1" || { echo "install failed:" >&2; cat "$1" >&2; exit 1; }
  tail -n 1 "$work/rss" >>"$work/rss_all"
  ms "$start" "$end"
}

: >"$work/times"
for i in $(seq "$runs"); do
  t=$(install_once "$work/install.log")
  echo "$t" >>"$work/times"
  [ "$i" = 1 ] && first=$t
  if [ "$i" = "$runs" ]; then
    again=$(install_once "$work/again.log")
    grep -q 'nothing was changed' "$work/again.log" ||
      { echo "the second install changed something:" >&2; cat "$work/again.log" >&2; exit 1; }
  fi
  "$bin" uninstall --kubeconfig "$kubeconfig" -r "$rev" -y >"$work/uninstall.log" 2>&1 ||
    { echo "uninstall failed:" >&2; cat "$work/uninstall.log" >&2; exit 1; }
done
median_ms=$(median "$work/times")
rss=$(sort -n "$work/rss_all" | tail -n 1)
worst_ms=$(sort -n "$work/times" | tail -n 1)
echo "install -y (default profile, to ✔ Installation complete with every Deployment available)"
echo "  wall: median ${median_ms} ms over $runs runs (first, which creates missing CRDs: ${first} ms; worst ${worst_ms} ms; bar: ≤ ${bar_ms} ms)"
echo "  second install of the same revision (nothing to change): ${again} ms"
echo "  peak RSS: $((rss / 1024)) MB"
if [ "$check" = 1 ] && [ "$worst_ms" -gt "$bar_ms" ]; then
  echo "bar missed" >&2; exit 1
fi

#!/usr/bin/env bash
# Benchmark: 1,000 simulated xDS clients (each its own gRPC connection) on one release
# `ferryctl discovery` serving 50 namespaces × 20 services, all on 127.0.0.1 (benches/xds_load.rs).
# Prints the time from a VirtualService file write to each affected client's ACK of the new
# routes (P50/P90/P99/max; includes the 250 ms directory poll and 100 ms debounce), the server's
# RSS per connected client, and whether clients of other namespaces heard anything.
# Bars (issue "xDS load"): ACK P99 ≤ 1 s, namespace-local and mesh-wide; ≤ 0.3 MB server RSS per
# client; a namespace's change pushes nothing to proxies that do not import it.
#   bash benches/xds_load.sh           # 5 namespace-local and 3 mesh-wide changes
#   bash benches/xds_load.sh --quick   # 2 and 1 (CI)
#   bash benches/xds_load.sh --check   # also exit non-zero when a bar is missed
set -euo pipefail
cd "$(dirname "$0")/.."
args=(); check=0
for a in "$@"; do
  case "$a" in
    --quick) args+=(--quick) ;;
    --check) check=1 ;;
  esac
done
. benches/lib.sh
raise_nofile
start=$EPOCHREALTIME
out=$(cargo bench --locked --quiet --bench xds_load -- "${args[@]}")
printf '%s\n' "$out"
figures=$(grep '^figures:' <<<"$out" || true)
[ -n "$figures" ] || { echo "xds_load printed no figures" >&2; exit 1; }
echo "  script wall time: $(awk "BEGIN{printf \"%.1f\", $EPOCHREALTIME - $start}") s (build included)"
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$figures"; }
if [ "$check" = 1 ]; then
  awk "BEGIN{exit !($(get local_p99_ms) <= 1000 && $(get mesh_p99_ms) <= 1000 && $(get rss_per_client_mb) <= 0.3)}" &&
    [ "$(get isolation)" = ok ] || { echo "benchmark bars missed" >&2; exit 1; }
fi

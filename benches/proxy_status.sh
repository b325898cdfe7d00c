#!/usr/bin/env bash
# Benchmark: `ferryctl proxy-status` against one release `ferryctl discovery` with 1,000 connected
# simulated proxies (benches/xds_load.rs --hold: each its own gRPC connection, all ACKed), found
# through a registry record in a temp FERRY_HOME as the local mesh's control planes are. Times
# the default table, `-v 1`, `-o json` (whole process: start, HTTP /debug/syncz, parse, print) and
# the table over ADS (`--xds-address`, istio.io/debug/syncz).
# Bar (issue "proxy-status"): the table in ≤ 1 s with 1,000 proxies on one control plane.
#   bash benches/proxy_status.sh           # 10 runs of each
#   bash benches/proxy_status.sh --quick   # 5 runs (CI)
#   bash benches/proxy_status.sh --check   # also exit non-zero when the bar is missed
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
bench_options 10 5 "$@"
clients=1000
raise_nofile
bench_build
work=$(mktemp -d)
load=
cleanup() {
  exec 3>&- 2>/dev/null || true
  [ -n "$load" ] && { kill "$load" 2>/dev/null || true; wait "$load" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

# The load tool holds its clients until its stdin closes: a FIFO we keep open on fd 3.
mkfifo "$work/hold"
cargo bench --locked --quiet --bench xds_load -- --hold --clients "$clients" \
  <"$work/hold" >"$work/load.out" 2>"$work/load.err" &
load=$!
exec 3>"$work/hold"
deadline=$((SECONDS + 300))
until grep -q '^holding:' "$work/load.out" 2>/dev/null; do
  if ! kill -0 "$load" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    echo "the xDS load tool did not connect its clients:" >&2
    cat "$work/load.out" "$work/load.err" >&2
    exit 1
  fi
  sleep 0.2
done
holding=$(grep '^holding:' "$work/load.out")
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$holding"; }

# The control plane as the local mesh records it.
export FERRY_HOME="$work/home"
mkdir -p "$FERRY_HOME/revisions"
printf '{"revision":"default","xds":"%s","monitoring":"%s","pid":%s}\n' \
  "$(field grpc)" "$(field debug)" "$(field pid)" >"$FERRY_HOME/revisions/default.json"

rows=$("$bin" proxy-status --local | tail -n +2 | wc -l)
[ "$rows" -eq "$clients" ] || { echo "proxy-status listed $rows proxies, expected $clients" >&2; exit 1; }

time_runs() {
  local out=$1; shift
  for _ in $(seq "$runs"); do
    local start=$EPOCHREALTIME
    "$bin" proxy-status --local "$@" >/dev/null
    local end=$EPOCHREALTIME
    ms "$start" "$end" >>"$out"
  done
}
time_runs "$work/table"
time_runs "$work/verbose" -v 1
time_runs "$work/json" -o json
time_runs "$work/ads" --xds-address "$(field grpc)"
json_kb=$(( $("$bin" proxy-status --local -o json | wc -c) / 1024 ))

stats() { printf 'median %s ms (min %d, max %d)' "$(median "$1")" "$(sort -n "$1" | head -1)" "$(sort -n "$1" | tail -1)"; }
printf 'proxy-status benchmark: %d proxies on one control plane (all ACKed in %s s), %d runs each, %s cores, load %s\n' \
  "$clients" "$(field connect_s)" "$runs" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  proxy-status:        %s (bar 1000 ms)\n' "$(stats "$work/table")"
printf '  proxy-status -v 1:   %s\n' "$(stats "$work/verbose")"
printf '  proxy-status -o json: %s (%d KB)\n' "$(stats "$work/json")" "$json_kb"
printf '  proxy-status --xds-address (ADS debug type): %s\n' "$(stats "$work/ads")"
if [ "$check" = 1 ] && awk -v m="$(median "$work/table")" 'BEGIN { exit !(m > 1000) }'; then
  echo "bar missed: proxy-status took a median $(median "$work/table") ms" >&2; exit 1
fi

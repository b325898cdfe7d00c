#!/usr/bin/env bash
# Benchmark: `ferryctl analyze --use-kube -A` on a cluster holding 2,000 Secrets and 2,000
# ConfigMaps (about 2 KiB of data each) that no analyzer needs, half of them in istio-system, where
# analyze does read the mesh ConfigMaps by name. Prints the median wall time over N runs and the
# peak RSS. Bar (issue 6): ≤ 2 s (istioctl: 8 s), which only holds if the Secrets and ConfigMaps
# stay on the server (istio/istio#46563, #45458).
#   FERRY_BENCH_KUBECONFIG=DIR/kubeconfig bash benches/analyze_kube.sh           # 7 runs
#   FERRY_BENCH_KUBECONFIG=DIR/kubeconfig bash benches/analyze_kube.sh --quick   # 3 runs (CI)
#   FERRY_BENCH_KUBECONFIG=DIR/kubeconfig bash benches/analyze_kube.sh --check   # fail over 2 s
# The kubeconfig is an admin one with a bearer token (tests/k8s/cluster.sh up writes one); the
# objects are created with curl, since kubectl is not assumed, and kept for later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
bench_options 7 3 "$@"
kubeconfig=${FERRY_BENCH_KUBECONFIG:?set FERRY_BENCH_KUBECONFIG to an admin kubeconfig (tests/k8s/cluster.sh up DIR writes DIR/kubeconfig)}
per_kind=${FERRY_BENCH_OBJECTS:-2000}
bench_build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The first cluster, user and CA of the kubeconfig (the shape cluster.sh writes).
server=$(sed -n 's/^ *server: *//p' "$kubeconfig" | head -n 1)
token=$(sed -n 's/^ *token: *//p' "$kubeconfig" | head -n 1)
sed -n 's/^ *certificate-authority-data: *//p' "$kubeconfig" | head -n 1 | base64 -d >"$work/ca.crt"
[ -n "$server" ] && [ -n "$token" ] || { echo "no server or token in $kubeconfig" >&2; exit 1; }

# curl config blocks, one request each, run 16 at a time (curl --parallel): one process for
# thousands of objects. 409 (already there from an earlier run) is fine.
request() { # method path json
  printf 'url = "%s%s"\nrequest = "%s"\ncacert = "%s"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nsilent\nnext\n' \
    "$server" "$2" "$1" "$work/ca.crt" "$token" "$(printf '%s' "$3" | sed 's/"/\\"/g')"
}
filler=$(head -c 1536 /dev/zero | tr '\0' x)
b64=$(printf '%s' "$filler" | base64 -w0)
{
  for ns in analyze-bench istio-system; do
    request POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}"
  done
} >"$work/namespaces.curl"
{
  for i in $(seq "$per_kind"); do
    ns=analyze-bench
    [ $((i % 2)) = 0 ] && ns=istio-system
    request POST "/api/v1/namespaces/$ns/secrets" \
      "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"bench-secret-$i\"},\"type\":\"Opaque\",\"data\":{\"payload\":\"$b64\"}}"
    request POST "/api/v1/namespaces/$ns/configmaps" \
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"bench-configmap-$i\"},\"data\":{\"payload\":\"$filler\"}}"
  done
} >"$work/objects.curl"
# Each block ends with `next`; the last one would start a transfer without a URL.
sed -i '$d' "$work/namespaces.curl"
sed -i '$d' "$work/objects.curl"
curl -sS --config "$work/namespaces.curl" >"$work/codes" 2>"$work/curl.err"
start=$EPOCHREALTIME
curl -sS --parallel --parallel-max 16 --config "$work/objects.curl" >>"$work/codes" 2>>"$work/curl.err"
end=$EPOCHREALTIME
bad=$(grep -cvE '^(201|409)$' "$work/codes" || true)
[ "$bad" = 0 ] || {
  echo "creating the objects failed (HTTP status: count):" >&2
  sort "$work/codes" | uniq -c >&2
  cat "$work/curl.err" >&2
  exit 1
}
echo "seeded $per_kind Secrets and $per_kind ConfigMaps in $(ms "$start" "$end") ms"

"$bin" analyze --kubeconfig "$kubeconfig" -A -o json >"$work/warm.json" 2>"$work/warm.err" || true
grep -q '^\[' "$work/warm.json" || { echo "analyze failed:" >&2; cat "$work/warm.err" >&2; exit 1; }
rss=0
for _ in $(seq "$runs"); do
  start=$EPOCHREALTIME
  /usr/bin/time -f '%M' -o "$work/rss" "$bin" analyze --kubeconfig "$kubeconfig" -A -o json \
    >"$work/out.json" 2>/dev/null || true
  end=$EPOCHREALTIME
  ms "$start" "$end" >>"$work/times"
  kb=$(tail -n 1 "$work/rss")
  [ "$kb" -gt "$rss" ] && rss=$kb
done
median_ms=$(median "$work/times")
findings=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$work/out.json")
echo "analyze --use-kube -A ($per_kind unneeded Secrets + $per_kind ConfigMaps, $findings findings)"
echo "  wall: median ${median_ms} ms over $runs runs (best $(sort -n "$work/times" | head -n 1) ms; bar: ≤ 2000 ms)"
echo "  peak RSS: $((rss / 1024)) MB"
if [ "$check" = 1 ] && awk "BEGIN{exit !($median_ms > 2000)}"; then
  echo "bar missed" >&2; exit 1
fi

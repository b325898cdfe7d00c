#!/usr/bin/env bash
# Benchmark: the router proxy (`ferryctl proxy router --concurrency 1`) in front of a local
# nginx serving a 1 KB file, against the direct call and against nginx as a reverse proxy (one
# worker, keep-alive upstream pool, HTTP/1.1 upstream). Everything runs on 127.0.0.1 with
# ephemeral ports in a temp dir; every process started here is stopped on exit.
#   latency:    benches/proxy_load.rs, open loop at 1,000 rps over 4 keep-alive connections per
#               target, direct/ferry/nginx taking turns in 1 s slices so background load hits all;
#               measured twice: with load, backend and proxies on one core ("one core": the
#               proxy's own cost, like the direct call, which never leaves its core) and with the
#               proxies on the other core ("split": every proxied request then pays two
#               cross-core wake-ups, ~80 µs each on this VM, for nginx as for ferry). The bars
#               are judged on the one-core placement; both are printed.
#   saturation: wrk -t1 -c32 against each proxy; the proxy pinned to core 0, wrk and the backend
#               to core 1; requests per core-second = requests / the proxy's CPU use
#               (utime+stime), with "busy" (CPU-s over wall-s) printed to show the proxy, not
#               the load's core, set the pace. Ferry and nginx take turns in 2 s slices (20 rounds; 6 with
#               --quick), and each side's requests and CPU are summed over all its slices: one
#               slice's ratio varies ±5 % for the same build on this VM (and a 10 s round's
#               0.86 … 1.11), so only a pooled figure over interleaved slices tells a 2 %
#               difference from drift in the host's load. A third slice per round sends ferry's
#               load to the same backend routed as a MESH_EXTERNAL destination: no metadata-exchange
#               headers go upstream then, which shows what the mesh's own bytes cost per request.
#               A fourth slice loads a second nginx that adds to each upstream request the
#               headers ferry's gateway adds (the same names and, captured from ferry's own
#               request at the backend, the same values): the reference doing the mesh's work on
#               the wire, which tells the proxy's own cost from what the mesh's bytes cost the
#               backend's core and, through it, every proxy's idle wake-ups. The bar stays ferry
#               against the plain nginx. The four slices of a round take turns in a rotating order.
#   memory:     ferry's VmRSS once configured and idle, VmHWM after all the load
# Bars (issue "proxy overhead"): added P50 ≤ 0.1 ms and P99 ≤ 0.25 ms over the direct call;
# requests/s per core ≥ nginx's; RSS ≤ 20 MB idle and ≤ 50 MB peak.
#   bash benches/proxy.sh           # 10 s per latency target, 20 saturation rounds
#   bash benches/proxy.sh --quick   # 3 s per latency target, 6 saturation rounds (CI)
#   bash benches/proxy.sh --check   # also exit non-zero when a bar is missed
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10; sat_rounds=20; check=0
for a in "$@"; do
  case "$a" in
    --quick) seconds=3; sat_rounds=6 ;;
    --check) check=1 ;;
  esac
done
script_start=$EPOCHREALTIME

# nginx (backend and reference proxy) and wrk (saturation load), from Debian, when absent.
if ! command -v nginx >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq nginx-light wrk; } >/dev/null 2>&1 ||
    { echo "installing nginx-light and wrk failed" >&2; exit 1; }
fi
nginx=$(command -v nginx)

# One build of ferryctl and the load generator (benches/lib.sh).
. benches/lib.sh
bench_build
load=$(bench_exe proxy_load)
[ -x "$load" ] || { echo "building benches/proxy_load.rs failed" >&2; exit 1; }

bench_processes
# The proxies get core 0, the backend and the load core 1 (when there are two).
bench_cores

host=bench.example.com
# The same backend as a destination outside the mesh: what the mesh's own request headers cost.
external_host=external.bench.example.com
backend_port=$(free_port); nginx_port=$(free_port); gateway_port=$(free_port); nginx_mesh_port=$(free_port)
mkdir -p "$work/www" "$work/tmp" "$work/config"
head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 >"$work/www/1k.html"

nginx_conf() { # name port server-body
  cat >"$work/$1.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/$1.pid;
error_log $work/$1.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/tmp/$1-body;
  proxy_temp_path $work/tmp/$1-proxy;
  fastcgi_temp_path $work/tmp/$1-fastcgi;
  uwsgi_temp_path $work/tmp/$1-uwsgi;
  scgi_temp_path $work/tmp/$1-scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  $3
  server {
    listen 127.0.0.1:$2;
    $4
  }
}
EOF
}
# The headers ferry's gateway adds upstream, by name: the backend echoes their values (see the
# fourth saturation slice).
mesh_headers="x-forwarded-proto x-forwarded-for x-request-id x-b3-traceid x-b3-spanid x-b3-sampled traceparent x-envoy-peer-metadata-id x-envoy-peer-metadata x-envoy-attempt-count"
echoed=""
for h in $mesh_headers; do echoed+="\$http_${h//-/_}\\n"; done
# The backend keeps the file open (open_file_cache): without it each request costs it an open,
# fstat and close, and the core it shares with wrk, not the proxy's, sets the pace; the proxies
# then idle ~20 % of each slice and "per core" counts their sleeps and wake-ups as well.
nginx_conf backend "$backend_port" "open_file_cache max=16; open_file_cache_valid 3600s;" \
  "root $work/www; location = /mesh-headers { default_type text/plain; return 200 \"$echoed\"; }"
nginx_conf nginx-proxy "$nginx_port" "upstream backend { server 127.0.0.1:$backend_port; keepalive 64; keepalive_requests 10000000; }" \
  'location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; }'
taskset -c "$load_cpu" "$nginx" -e "$work/backend.log" -p "$work" -c "$work/backend.conf" &
pids+=($!)
taskset -c "$proxy_cpu" "$nginx" -e "$work/nginx-proxy.log" -p "$work" -c "$work/nginx-proxy.conf" &
nginx_pid=$!; pids+=("$nginx_pid")

# Ferry: a Gateway on the gateway port, a VirtualService for the bench host bound to it, and
# the backend registered by ServiceEntry + WorkloadEntry (the shape of tests/it/mesh.rs).
cat >"$work/config/bench.yaml" <<EOF
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: bench-gateway
  namespace: default
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: $gateway_port
      name: http
      protocol: HTTP
    hosts:
    - "$host"
    - "$external_host"
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bench
  namespace: default
spec:
  hosts:
  - "$host"
  gateways:
  - bench-gateway
  http:
  - route:
    - destination:
        host: bench.default.svc.cluster.local
        port:
          number: 80
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: bench
  namespace: default
spec:
  hosts:
  - bench.default.svc.cluster.local
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: 80
    name: http
    protocol: HTTP
  workloadSelector:
    labels:
      app: bench
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: bench
  namespace: default
spec:
  address: 127.0.0.1
  ports:
    http: $backend_port
  labels:
    app: bench
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bench-external
  namespace: default
spec:
  hosts:
  - "$external_host"
  gateways:
  - bench-gateway
  http:
  - route:
    - destination:
        host: external.bench.svc
        port:
          number: 80
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: bench-external
  namespace: default
spec:
  hosts:
  - external.bench.svc
  location: MESH_EXTERNAL
  resolution: STATIC
  ports:
  - number: 80
    name: http
    protocol: HTTP
  endpoints:
  - address: 127.0.0.1
    ports:
      http: $backend_port
EOF
# The control plane shares the load's core: it is idle once the proxy is configured.
taskset -c "$load_cpu" "$bin" discovery --config-dir "$work/config" --grpcAddr 127.0.0.1:0 \
  --monitoringAddr 127.0.0.1:0 2>"$work/discovery.log" &
pids+=($!)
wait_for "the control plane" grep -q 'xDS (ADS) on ' "$work/discovery.log"
xds=$(sed -n 's/.*xDS (ADS) on \([^,]*\),.*/\1/p' "$work/discovery.log")
taskset -c "$proxy_cpu" "$bin" proxy router --discovery-address "$xds" --admin-address 127.0.0.1:0 \
  --concurrency 1 2>"$work/proxy.log" &
ferry_pid=$!; pids+=("$ferry_pid")
wait_for "the proxy's admin address" grep -q 'admin on ' "$work/proxy.log"
admin=$(sed -n 's/.*admin on \([^,]*\),.*/\1/p' "$work/proxy.log")
wait_for "the proxy to be ready" http_ok "http://$admin/ready"

direct=http://127.0.0.1:$backend_port/1k.html
ferry=http://127.0.0.1:$gateway_port/1k.html
via_nginx=http://127.0.0.1:$nginx_port/1k.html
wait_for "the backend" http_ok "$direct" "$host" "$work/www/1k.html"
wait_for "nginx as proxy" http_ok "$via_nginx" "$host" "$work/www/1k.html"
wait_for "ferry to route $host with the 1 KB body" http_ok "$ferry" "$host" "$work/www/1k.html"
wait_for "ferry to route $external_host" http_ok "$ferry" "$external_host" "$work/www/1k.html"

# The reference doing the mesh's work on the wire: nginx adding ferry's upstream headers, with
# the values ferry sent (the backend echoes them, one per line, in `mesh_headers` order).
python3 - "http://127.0.0.1:$gateway_port/mesh-headers" "$host" >"$work/mesh-headers" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Host": sys.argv[2]})
sys.stdout.write(urllib.request.urlopen(req, timeout=5).read().decode())
PY
set_headers=""
i=0
for h in $mesh_headers; do
  i=$((i + 1))
  v=$(sed -n "${i}p" "$work/mesh-headers")
  [ -n "$v" ] || { echo "ferry's upstream request had no $h: update mesh_headers in $0" >&2; exit 1; }
  set_headers+="proxy_set_header $h \"$v\"; "
done
nginx_conf nginx-mesh "$nginx_mesh_port" "upstream backend { server 127.0.0.1:$backend_port; keepalive 64; keepalive_requests 10000000; }" \
  "location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header Host \$host; $set_headers}"
taskset -c "$proxy_cpu" "$nginx" -e "$work/nginx-mesh.log" -p "$work" -c "$work/nginx-mesh.conf" &
nginx_mesh_pid=$!; pids+=("$nginx_mesh_pid")
via_nginx_mesh=http://127.0.0.1:$nginx_mesh_port/1k.html
wait_for "nginx with the mesh's headers" http_ok "$via_nginx_mesh" "$host" "$work/www/1k.html"
sleep 1
rss_idle=$(kb "$ferry_pid" VmRSS)

# Latency at a fixed 1,000 rps, the three targets in turns within one run, in both placements.
latency() { # output-file
  taskset -c "$load_cpu" "$load" --rate 1000 --duration "$seconds" --connections 4 --host "$host" \
    --expect-body "$work/www/1k.html" \
    --target "direct=$direct" --target "ferry=$ferry" --target "nginx=$via_nginx" >"$1"
}
pin "$load_cpu" "$ferry_pid" "$nginx_pid"
latency "$work/latency-one"
pin "$proxy_cpu" "$ferry_pid" "$nginx_pid"
latency "$work/latency-split"
field() { # placement target key
  awk -v t="target=$2" -v k="$3" '$1 == t { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$work/latency-$1"
}

# Saturation: wrk against each proxy; CPU use of the proxy process over the same slice.
slice_seconds=2
saturate() { # url pid [host] -> "requests cpu_ticks errors wall_seconds"
  local url=$1 pid=$2 c0 c1 t0 t1 out
  c0=$(cpu_ticks "$pid"); t0=$EPOCHREALTIME
  out=$(taskset -c "$load_cpu" wrk -t1 -c32 -d"${slice_seconds}s" -H "Host: ${3:-$host}" "$url")
  c1=$(cpu_ticks "$pid"); t1=$EPOCHREALTIME
  awk -v c=$((c1 - c0)) -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    '/ requests in / { r = $1 } /Non-2xx|Socket errors/ { e++ }
    END { printf "%d %d %d %.3f\n", r, c, e + 0, w }' <<<"$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
: >"$work/saturation"; : >"$work/saturation-external"; : >"$work/saturation-nginx-mesh"
slice_failed() { echo "a saturation slice failed (wrk or the proxy's CPU count)" >&2; exit 1; }
for round in $(seq "$sat_rounds"); do
  # The four slices take turns in a rotating order, so none always follows the same one.
  for k in 0 1 2 3; do
    case $(((round + k) % 4)) in
      0) read -r f_req f_ticks f_err f_wall < <(saturate "$ferry" "$ferry_pid") || slice_failed ;;
      1) read -r n_req n_ticks n_err n_wall < <(saturate "$via_nginx" "$nginx_pid") || slice_failed ;;
      2) read -r x_req x_ticks x_err _ < <(saturate "$ferry" "$ferry_pid" "$external_host") || slice_failed ;;
      3) read -r m_req m_ticks m_err _ < <(saturate "$via_nginx_mesh" "$nginx_mesh_pid") || slice_failed ;;
    esac
  done
  echo "$m_req $m_ticks $m_err" >>"$work/saturation-nginx-mesh"
  echo "$f_req $f_ticks $f_err $n_req $n_ticks $n_err $f_wall $n_wall" >>"$work/saturation"
  echo "$x_req $x_ticks $x_err" >>"$work/saturation-external"
done
# Pooled per side: requests per core-second over all its slices, and CPU per request.
hz=$(getconf CLK_TCK)
# Busy: the share of the slices' wall time the proxy was on its core (saturated near 1).
read -r f_req f_sec ferry_core f_us ferry_err n_req n_sec nginx_core n_us nginx_err f_busy n_busy < <(
  awk -v hz="$hz" '{ fr += $1; fc += $2; fe += $3; nr += $4; nc += $5; ne += $6; fw += $7; nw += $8 }
    END { printf "%d %.2f %.0f %.2f %d %d %.2f %.0f %.2f %d %.2f %.2f\n",
      fr, fc / hz, fc ? fr * hz / fc : 0, fr ? fc / hz * 1e6 / fr : 0, fe,
      nr, nc / hz, nc ? nr * hz / nc : 0, nr ? nc / hz * 1e6 / nr : 0, ne,
      fw ? fc / hz / fw : 0, nw ? nc / hz / nw : 0 }' "$work/saturation")
core_ratio=$(awk -v a="$ferry_core" -v b="$nginx_core" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
# The out-of-mesh destination's slices, against the same nginx slices.
read -r x_core x_err < <(awk -v hz="$hz" '{ r += $1; c += $2; e += $3 } END { printf "%.0f %d\n", c ? r * hz / c : 0, e }' "$work/saturation-external")
external_ratio=$(awk -v a="$x_core" -v b="$nginx_core" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
# The nginx that adds the mesh's headers, pooled the same way.
read -r m_core m_us m_err < <(awk -v hz="$hz" '{ r += $1; c += $2; e += $3 } END { printf "%.0f %.2f %d\n", c ? r * hz / c : 0, r ? c / hz * 1e6 / r : 0, e }' "$work/saturation-nginx-mesh")
mesh_nginx_ratio=$(awk -v a="$ferry_core" -v b="$m_core" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
# In mesh over out of mesh, ferry against itself: pooled, and the spread of single rounds.
mesh_ratio=$(awk -v a="$ferry_core" -v b="$x_core" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
paste -d' ' "$work/saturation" "$work/saturation-external" |
  awk '$2 > 0 && $10 > 0 { printf "%.3f\n", ($1 / $2) / ($9 / $10) }' | sort -n >"$work/mesh-ratios"
mesh_min=$(head -1 "$work/mesh-ratios"); mesh_max=$(tail -1 "$work/mesh-ratios")
mesh_median=$(median "$work/mesh-ratios")
# The spread of single rounds, for the reader: how much one short run can mislead.
awk '$2 > 0 && $5 > 0 { printf "%.3f\n", ($1 / $2) / ($4 / $5) }' "$work/saturation" | sort -n >"$work/round-ratios"
round_min=$(head -1 "$work/round-ratios"); round_max=$(tail -1 "$work/round-ratios")
round_median=$(median "$work/round-ratios")
rss_peak=$(kb "$ferry_pid" VmHWM)
rss_after=$(kb "$ferry_pid" VmRSS)

add() { awk -v a="$(field "$1" "$2" "$4")" -v b="$(field "$1" "$3" "$4")" 'BEGIN { printf "%.1f", a - b }'; }
add50=$(add one ferry direct p50_us); add99=$(add one ferry direct p99_us)
errors=0
for pl in one split; do for t in direct ferry nginx; do errors=$((errors + $(field $pl $t errors))); done; done
runtime=$(awk "BEGIN{printf \"%.0f\", $EPOCHREALTIME - $script_start}")

printf 'proxy benchmark (%s cores, load %s; 1 KB responses from nginx on 127.0.0.1)\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
for pl in one split; do
  case $pl in
    one) printf '  latency at 1,000 rps, %d s per target, load + backend + proxies on cpu %s, µs:\n' "$seconds" "$load_cpu" ;;
    split) printf '  latency at 1,000 rps, %d s per target, proxies on cpu %s, load + backend on cpu %s, µs:\n' "$seconds" "$proxy_cpu" "$load_cpu" ;;
  esac
  printf '    %-20s %8s %8s %8s %8s %7s\n' "" P50 P90 P99 max errors
  for t in direct ferry nginx; do
    printf '    %-20s %8s %8s %8s %8s %7s\n' "$t" "$(field $pl $t p50_us)" "$(field $pl $t p90_us)" "$(field $pl $t p99_us)" "$(field $pl $t max_us)" "$(field $pl $t errors)"
  done
  printf '    added over direct: ferry P50 +%s µs, P99 +%s µs; nginx P50 +%s µs, P99 +%s µs\n' \
    "$(add $pl ferry direct p50_us)" "$(add $pl ferry direct p99_us)" "$(add $pl nginx direct p50_us)" "$(add $pl nginx direct p99_us)"
  printf '    ferry/nginx P50 %s×, P99 %s×\n' \
    "$(ratio "$(field $pl ferry p50_us)" "$(field $pl nginx p50_us)")" "$(ratio "$(field $pl ferry p99_us)" "$(field $pl nginx p99_us)")"
done
printf '  bars (one core): added P50 +%s µs ≤ +100, P99 +%s µs ≤ +250\n' "$add50" "$add99"
printf '  saturation (wrk -t1 -c32, proxy on cpu %s), %d rounds of %d s slices taking turns:\n' "$proxy_cpu" "$sat_rounds" "$slice_seconds"
printf '    ferry %s requests in %s CPU-s = %s per core-second (%s µs CPU per request; busy %s of the time)\n' "$f_req" "$f_sec" "$ferry_core" "$f_us" "$f_busy"
printf '    nginx %s requests in %s CPU-s = %s per core-second (%s µs CPU per request; busy %s of the time)\n' "$n_req" "$n_sec" "$nginx_core" "$n_us" "$n_busy"
printf '    one round'"'"'s ratio: median %s, range %s … %s (wrk errors: ferry %s, nginx %s)\n' "$round_median" "$round_min" "$round_max" "$ferry_err" "$nginx_err"
printf '    ferry/nginx per core, pooled over the rounds: %s (bar ≥ 1.00)\n' "$core_ratio"
printf '    ferry to the same backend as a MESH_EXTERNAL destination: %s per core-second, %s × nginx\n' "$x_core" "$external_ratio"
printf '      (no metadata-exchange headers: the in-mesh request upstream carries ~520 bytes more of them;\n'
printf '      both carry x-forwarded-*, x-request-id, B3 and traceparent, x-envoy-attempt-count; nginx adds none)\n'
printf '    ferry in mesh / out of mesh per core: pooled %s, one round'"'"'s median %s, range %s … %s\n' \
  "$mesh_ratio" "$mesh_median" "$mesh_min" "$mesh_max"
printf '    nginx adding the same upstream headers as ferry: %s per core-second (%s µs CPU per request)\n' "$m_core" "$m_us"
printf '      ferry/that nginx per core: %s (the proxies'"'"' own cost with the same bytes on the wire; not the bar)\n' "$mesh_nginx_ratio"
printf '  ferry RSS: idle %.1f MB (bar 20), peak %.1f MB (bar 50), after load %.1f MB\n' \
  "$(awk "BEGIN{print $rss_idle/1024}")" "$(awk "BEGIN{print $rss_peak/1024}")" "$(awk "BEGIN{print $rss_after/1024}")"
printf '  runtime %s s\n' "$runtime"
if [ "$errors" -ne 0 ] || [ "$ferry_err" -ne 0 ] || [ "$nginx_err" -ne 0 ] || [ "$x_err" -ne 0 ] || [ "$m_err" -ne 0 ]; then
  echo "requests failed (see above)" >&2; exit 1
fi
if [ "$check" = 1 ]; then
  awk "BEGIN{exit !($add50 <= 100 && $add99 <= 250 && $core_ratio >= 1 && $rss_idle <= 20480 && $rss_peak <= 51200)}" ||
    { echo "benchmark bars missed" >&2; exit 1; }
fi

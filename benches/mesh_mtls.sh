#!/usr/bin/env bash
# Benchmark: two sidecars in the path with Istio mTLS between them, against the direct call.
#   client → sidecar A (outbound, 127.x) → mTLS → sidecar B (inbound, 127.y) → nginx (1 KB file)
# A real `ferryctl discovery` is the CA (--ca-dir, --token-dir) and the control plane; the
# server workload is a ServiceEntry + WorkloadEntry marked `security.istio.io/tlsMode: istio`
# with a Sidecar ingress to nginx, so A originates auto mTLS to B (the shape of
# tests/it/mtls.rs). Everything runs on loopback with ephemeral ports in a temp dir; every
# process started here is stopped on exit.
#   latency:  benches/proxy_load.rs, open loop at 1,000 rps over 4 keep-alive connections per
#             target, direct and mesh taking turns in 1 s slices so background load hits both;
#             measured with load, backend and both sidecars on one core ("one core": the
#             sidecars' own cost, the bars) and with the sidecars on the other core ("split":
#             each request then pays four cross-core wake-ups, ~80 µs each on this VM).
#   CPU:      the mesh alone at 1,000 rps, one core; each sidecar's utime+stime from
#             /proc/PID/stat over the run ÷ its duration = vCPU per 1,000 rps.
#   memory:   each sidecar's VmRSS after the 1,000 rps load (VmHWM beside it).
#   mTLS:     B's downstream_cx_ssl_total on /stats, and the x-forwarded-client-cert nginx
#             logged: B's identity as By=, A's as URI=, on every request through the sidecars.
#   rotation: new sidecars asking for short-lived certificates (--secret-ttl, renewed half-way
#             as Istio's SECRET_GRACE_PERIOD_RATIO 0.5 does), a DestinationRule making A open a
#             new mTLS connection to B every 50 requests (so handshakes keep using whichever
#             certificates are current), a steady 500 rps; every failed or non-200 request
#             counts, and the serials of each sidecar's `default` secret in /config_dump,
#             polled through the load, show the renewals.
# Bars (issue 7): added P90 ≤ 0.15 ms and P99 ≤ 0.25 ms over the direct call; ≤ 0.10 vCPU per
# 1,000 rps and ≤ 20 MB RSS per sidecar; ≥ 3 renewals of each sidecar under load, no request
# lost.
#   bash benches/mesh_mtls.sh           # 10 s per latency target, 20 s certificates, 60 s rotation
#   bash benches/mesh_mtls.sh --quick   # 3 s per latency target, 6 s certificates, 15 s rotation (CI)
#   bash benches/mesh_mtls.sh --check   # also exit non-zero when a bar is missed
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10; secret_ttl=20; rotation_seconds=60; check=0
for a in "$@"; do
  case "$a" in
    --quick) seconds=3; secret_ttl=6; rotation_seconds=15 ;;
    --check) check=1 ;;
  esac
done
rotation_rate=500; requests_per_connection=50
script_start=$EPOCHREALTIME

# nginx (the backend), from Debian, when absent.
if ! command -v nginx >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq nginx-light; } >/dev/null 2>&1 ||
    { echo "installing nginx-light failed" >&2; exit 1; }
fi
nginx=$(command -v nginx)

# One build of ferryctl and the load generator (benches/lib.sh): the release build the other
# benchmarks time, since the bars are about the shipped binary.
. benches/lib.sh
bench_build
load=$(bench_exe proxy_load)
[ -x "$load" ] || { echo "building benches/proxy_load.rs failed" >&2; exit 1; }
raise_nofile

bench_processes
# The sidecars get core 0, the backend, the control plane and the load core 1 (when there are two).
bench_cores
admin_get() { # admin path: the body
  python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://" + sys.argv[1] + sys.argv[2], timeout=5).read().decode())' "$1" "$2"
}
ssl_total() { # admin: the proxy's downstream TLS connections, all listeners
  admin_get "$1" /stats | awk -F': ' '/\.downstream_cx_ssl_total: / { n += $2 } END { print n + 0 }'
}
grep_in() { grep -q "$2" "$1"; } # file pattern (for wait_for)

# Two loopback addresses of the workloads' own, as tests/it/mtls.rs picks them (Linux routes all
# of 127/8 to lo), and the service port both sidecars listen on.
n=$(free_port)
ip_a=127.91.$((n >> 8)).$((n & 255)); ip_b=127.92.$((n >> 8)).$((n & 255))
port=$(free_port); backend_port=$(free_port)
host=b.default.svc.cluster.local:$port
a_id=spiffe://cluster.local/ns/default/sa/sa-a; b_id=spiffe://cluster.local/ns/default/sa/sa-b
mkdir -p "$work/www" "$work/tmp" "$work/config" "$work/ca" "$work/tokens/default"
head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 >"$work/www/1k.html"
# The local mesh's tokens: one owner-only file per service account, read by the CA and the sidecar.
(umask 077; echo "token-of-sa-a-$RANDOM$RANDOM" >"$work/tokens/default/sa-a"; echo "token-of-sa-b-$RANDOM$RANDOM" >"$work/tokens/default/sa-b")

# nginx as in benches/proxy.sh, plus a buffered log of the XFCC header each request brought.
cat >"$work/backend.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/backend.pid;
error_log $work/backend.log warn;
events { worker_connections 4096; }
http {
  log_format xfcc escape=none '\$http_x_forwarded_client_cert';
  access_log $work/xfcc.log xfcc buffer=256k flush=1s;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$backend_port;
    root $work/www;
  }
}
EOF
taskset -c "$load_cpu" "$nginx" -e "$work/backend.log" -p "$work" -c "$work/backend.conf" &
pids+=($!)

# Service b: one workload at ip_b with a sidecar (tlsMode: istio) whose Sidecar ingress forwards
# to nginx; workload a gets its outbound listeners on ip_a.
cat >"$work/config/mesh.yaml" <<EOF
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: b, namespace: default}
spec:
  hosts: [b.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: $port, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: b}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: b-1, namespace: default}
spec:
  address: $ip_b
  serviceAccount: sa-b
  ports: {http: $port}
  labels: {app: b, security.istio.io/tlsMode: istio}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: b, namespace: default}
spec:
  workloadSelector: {labels: {app: b}}
  ingress:
  - port: {number: $port, name: http, protocol: HTTP}
    bind: $ip_b
    defaultEndpoint: 127.0.0.1:$backend_port
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: a, namespace: default}
spec:
  workloadSelector: {labels: {app: a}}
  egress:
  - bind: $ip_a
    hosts: [./*]
EOF
# The control plane shares the load's core: it is idle once the sidecars are configured (and
# signs a certificate now and then during the rotation).
taskset -c "$load_cpu" "$bin" discovery --config-dir "$work/config" --grpcAddr 127.0.0.1:0 \
  --monitoringAddr 127.0.0.1:0 --ca-dir "$work/ca" --token-dir "$work/tokens" 2>"$work/discovery.log" &
pids+=($!)
wait_for "the control plane" grep_in "$work/discovery.log" 'xDS (ADS) on '
xds=$(sed -n 's/.*xDS (ADS) on \([^,]*\),.*/\1/p' "$work/discovery.log")

# sidecar NAME SA IP LABEL [flags...]: starts it on the proxies' core; sets sidecar_pid and
# sidecar_admin once it holds its certificate (a sidecar with a token is not ready before).
# Two workers, as injected sidecars run (Istio's proxyConfig concurrency 2, the default here too).
sidecar() {
  local name=$1 sa=$2 ip=$3 label=$4; shift 4
  taskset -c "$proxy_cpu" "$bin" proxy sidecar --discovery-address "$xds" --admin-address 127.0.0.1:0 \
    --pod-name "$name" --pod-namespace default --ip "$ip" --labels "app=$label" --concurrency 2 \
    --token-file "$work/tokens/default/$sa" "$@" 2>"$work/$name.log" &
  sidecar_pid=$!; pids+=("$sidecar_pid")
  wait_for "$name's admin address" grep_in "$work/$name.log" 'admin on '
  sidecar_admin=$(sed -n 's/.*admin on \([^,]*\),.*/\1/p' "$work/$name.log")
  wait_for "$name to be ready (certificate and config)" http_ok "http://$sidecar_admin/ready"
}
sidecar b-1 sa-b "$ip_b" b; b_pid=$sidecar_pid; b_admin=$sidecar_admin
sidecar a-1 sa-a "$ip_a" a; a_pid=$sidecar_pid; a_admin=$sidecar_admin

direct=http://127.0.0.1:$backend_port/1k.html
mesh=http://$ip_a:$port/1k.html
wait_for "the backend" http_ok "$direct" "$host" "$work/www/1k.html"
wait_for "the sidecars to route $host with the 1 KB body" http_ok "$mesh" "$host" "$work/www/1k.html"
sleep 1
rss_idle_a=$(kb "$a_pid" VmRSS); rss_idle_b=$(kb "$b_pid" VmRSS)

# Latency at a fixed 1,000 rps, both targets in turns within one run, in both placements.
latency() { # output-file
  taskset -c "$load_cpu" "$load" --rate 1000 --duration "$seconds" --connections 4 --host "$host" \
    --expect-body "$work/www/1k.html" --target "direct=$direct" --target "mesh=$mesh" >"$1"
}
pin "$load_cpu" "$a_pid" "$b_pid"
latency "$work/latency-one"
pin "$proxy_cpu" "$a_pid" "$b_pid"
latency "$work/latency-split"
field() { # file target key
  awk -v t="target=$2" -v k="$3" '$1 == t { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1"
}

# CPU: the mesh alone at 1,000 rps (a warm-up second and the measured seconds, all loaded), on
# one core as the latency bars are judged.
pin "$load_cpu" "$a_pid" "$b_pid"
ticks=$(getconf CLK_TCK)
ca0=$(cpu_ticks "$a_pid"); cb0=$(cpu_ticks "$b_pid"); t0=$EPOCHREALTIME
taskset -c "$load_cpu" "$load" --rate 1000 --duration "$seconds" --connections 4 --host "$host" \
  --expect-body "$work/www/1k.html" --target "mesh=$mesh" >"$work/cpu-run"
t1=$EPOCHREALTIME; ca1=$(cpu_ticks "$a_pid"); cb1=$(cpu_ticks "$b_pid")
# proxy_load waits 0.5 s for the last answers after the schedule: not loaded time.
loaded=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a - 0.5 }')
rate_cpu=$(field "$work/cpu-run" mesh rate)
vcpu() { awk -v c="$1" -v hz="$ticks" -v w="$loaded" -v r="$rate_cpu" 'BEGIN { printf "%.3f", c / hz / w * 1000 / r }'; }
cpu_a=$(vcpu $((ca1 - ca0))); cpu_b=$(vcpu $((cb1 - cb0)))
rss_a=$(kb "$a_pid" VmRSS); rss_b=$(kb "$b_pid" VmRSS)
hwm_a=$(kb "$a_pid" VmHWM); hwm_b=$(kb "$b_pid" VmHWM)
pin "$proxy_cpu" "$a_pid" "$b_pid"

# mTLS: B terminated TLS, and nginx saw A's identity as the caller on every mesh request.
ssl_b=$(ssl_total "$b_admin")
mesh_requests=0
for f in latency-one latency-split cpu-run; do mesh_requests=$((mesh_requests + $(field "$work/$f" mesh requests))); done
sleep 1.5 # nginx flushes its log buffer every second
xfcc_ok=$(grep -c "^By=$b_id;Hash=[0-9a-f]\{64\};Subject=\"\";URI=$a_id\$" "$work/xfcc.log" || true)
xfcc_other=$(grep -vc -e '^-$' -e '^$' -e "^By=$b_id;Hash=[0-9a-f]\{64\};Subject=\"\";URI=$a_id\$" "$work/xfcc.log" || true)

# Rotation: the sidecars again, asking for short-lived certificates, and a DestinationRule that
# recycles A's connections to B so new handshakes keep happening while certificates change.
for p in "$a_pid" "$b_pid"; do kill "$p"; wait "$p" 2>/dev/null || true; done
running=()
for p in "${pids[@]}"; do [ "$p" = "$a_pid" ] || [ "$p" = "$b_pid" ] || running+=("$p"); done
pids=("${running[@]}")
cat >"$work/config/recycle.yaml" <<EOF
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: b, namespace: default}
spec:
  host: b.default.svc.cluster.local
  trafficPolicy:
    connectionPool:
      http: {maxRequestsPerConnection: $requests_per_connection}
EOF
sidecar b-2 sa-b "$ip_b" b --secret-ttl "${secret_ttl}s" --secret-grace-period-ratio 0.5; b_pid=$sidecar_pid; b_admin=$sidecar_admin
sidecar a-2 sa-a "$ip_a" a --secret-ttl "${secret_ttl}s" --secret-grace-period-ratio 0.5; a_pid=$sidecar_pid; a_admin=$sidecar_admin
has_recycling() { [[ $(admin_get "$a_admin" "/config_dump?resource=dynamic_active_clusters") == *max_requests_per_connection* ]]; }
wait_for "A to get the DestinationRule" has_recycling
wait_for "the new sidecars to route $host" http_ok "$mesh" "$host" "$work/www/1k.html"
ssl_b0=$(ssl_total "$b_admin")

# Polls both sidecars' `default` secret until told to stop; prints each one's serials in order.
python3 - "$work/rotation.stop" "a=$a_admin" "b=$b_admin" >"$work/serials" 2>"$work/serials.err" <<'EOF' &
import base64, json, os, sys, time, urllib.request

def der_serial(der):
    """The serial of an X.509 certificate: Certificate → TBSCertificate → [0] version? → INTEGER."""
    def header(i):
        tag, n = der[i], der[i + 1]
        i += 2
        if n & 0x80:
            count, n = n & 0x7F, 0
            for _ in range(count):
                n, i = (n << 8) | der[i], i + 1
        return tag, n, i
    _, _, i = header(0)          # Certificate
    _, _, i = header(i)          # TBSCertificate
    tag, n, j = header(i)
    if tag == 0xA0:              # explicit version
        tag, n, j = header(j + n)
    return der[j:j + n].hex()

def serial(admin):
    url = "http://%s/config_dump?mask=dynamic_active_secrets" % admin
    dump = json.load(urllib.request.urlopen(url, timeout=2))
    for section in dump.get("configs", []):
        for s in section.get("dynamic_active_secrets", []):
            if s.get("name") == "default":
                pem = base64.b64decode(s["secret"]["tls_certificate"]["certificate_chain"]["inline_bytes"]).decode()
                first = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
                return der_serial(base64.b64decode("".join(first.split())))
    return None

stop, admins = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
seen = {name: [] for name, _ in admins}
while True:
    done = os.path.exists(stop)
    for name, admin in admins:
        try:
            s = serial(admin)
        except Exception as e:  # a poll the loaded proxy answers late is retried next round
            print("poll %s: %s" % (name, e), file=sys.stderr)
            continue
        if s and (not seen[name] or seen[name][-1] != s):
            seen[name].append(s)
    if done:
        break
    time.sleep(0.5)
for name, serials in seen.items():
    print(name, len(serials), " ".join(serials))
EOF
poller=$!; pids+=("$poller")
sleep 0.5
taskset -c "$load_cpu" "$load" --rate "$rotation_rate" --duration "$rotation_seconds" --warmup 0 \
  --connections 4 --host "$host" --expect-body "$work/www/1k.html" --target "mesh=$mesh" \
  >"$work/rotation" 2>"$work/rotation.err"
touch "$work/rotation.stop"
wait "$poller"
ssl_b1=$(ssl_total "$b_admin")
renewals() { awk -v n="$1" '$1 == n { print $2 - 1 }' "$work/serials"; }
renew_a=$(renewals a); renew_b=$(renewals b)
rot_requests=$(field "$work/rotation" mesh requests); rot_errors=$(field "$work/rotation" mesh errors)
issued=$(grep -c 'issued a workload certificate' "$work/discovery.log" || true)

add() { awk -v a="$(field "$work/latency-$1" mesh "$2")" -v b="$(field "$work/latency-$1" direct "$2")" 'BEGIN { printf "%.1f", a - b }'; }
add90=$(add one p90_us); add99=$(add one p99_us)
errors=0
for f in latency-one latency-split; do for t in direct mesh; do errors=$((errors + $(field "$work/$f" $t errors))); done; done
errors=$((errors + $(field "$work/cpu-run" mesh errors)))
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
runtime=$(awk "BEGIN{printf \"%.0f\", $EPOCHREALTIME - $script_start}")

printf 'mesh mTLS benchmark (%s cores, load %s; client → sidecar A → mTLS → sidecar B → nginx, 1 KB, 127.0.0.1/127.x)\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
for pl in one split; do
  case $pl in
    one) printf '  latency at 1,000 rps, %d s per target, load + backend + sidecars on cpu %s, µs:\n' "$seconds" "$load_cpu" ;;
    split) printf '  latency at 1,000 rps, %d s per target, sidecars on cpu %s, load + backend on cpu %s, µs:\n' "$seconds" "$proxy_cpu" "$load_cpu" ;;
  esac
  printf '    %-20s %8s %8s %8s %8s %7s\n' "" P50 P90 P99 max errors
  for t in direct mesh; do
    printf '    %-20s %8s %8s %8s %8s %7s\n' "$t" "$(field "$work/latency-$pl" $t p50_us)" "$(field "$work/latency-$pl" $t p90_us)" \
      "$(field "$work/latency-$pl" $t p99_us)" "$(field "$work/latency-$pl" $t max_us)" "$(field "$work/latency-$pl" $t errors)"
  done
  printf '    added by two sidecars: P50 +%s µs, P90 +%s µs, P99 +%s µs\n' "$(add $pl p50_us)" "$(add $pl p90_us)" "$(add $pl p99_us)"
done
printf '  CPU at %s rps for %.1f s, one core: A %s, B %s vCPU per 1,000 rps (bar 0.10 each)\n' "$rate_cpu" "$loaded" "$cpu_a" "$cpu_b"
printf '  RSS: A %s MB, B %s MB after the 1,000 rps load (bar 20 each); idle A %s, B %s; peak A %s, B %s\n' \
  "$(mb "$rss_a")" "$(mb "$rss_b")" "$(mb "$rss_idle_a")" "$(mb "$rss_idle_b")" "$(mb "$hwm_a")" "$(mb "$hwm_b")"
printf '  mTLS: B accepted %s TLS connections; nginx logged XFCC By=%s;Hash=…;Subject="";URI=%s on %s requests (measured through the sidecars: %s), other XFCC on %s\n' \
  "$ssl_b" "$b_id" "$a_id" "$xfcc_ok" "$mesh_requests" "$xfcc_other"
printf '  bars (one core): added P90 +%s µs ≤ +150, P99 +%s µs ≤ +250\n' "$add90" "$add99"
printf '  rotation: %s s at %s rps, %ss certificates renewed at half-life, a new A→B connection every %s requests:\n' \
  "$rotation_seconds" "$rotation_rate" "$secret_ttl" "$requests_per_connection"
printf '    %s requests, %s failed or non-200; renewals under load: A %s, B %s (bar ≥ 3 each); B accepted %s TLS connections; the CA issued %s certificates in all\n' \
  "$rot_requests" "$rot_errors" "${renew_a:-0}" "${renew_b:-0}" "$((ssl_b1 - ssl_b0))" "$issued"
printf '  runtime %s s\n' "$runtime"
if [ "$errors" -ne 0 ] || [ "$rot_errors" -ne 0 ]; then
  echo "requests failed (see above)" >&2
  cat "$work/rotation.err" >&2
  exit 1
fi
if [ "$ssl_b" -eq 0 ] || [ "$xfcc_ok" -lt "$mesh_requests" ] || [ "$xfcc_other" -ne 0 ] ||
  [ "$((ssl_b1 - ssl_b0))" -eq 0 ]; then
  echo "the hop between the sidecars was not Istio mTLS on every request (see above)" >&2; exit 1
fi
if [ "${renew_a:-0}" -lt 3 ] || [ "${renew_b:-0}" -lt 3 ]; then
  echo "fewer than 3 certificate renewals per sidecar during the rotation load" >&2
  cat "$work/serials.err" >&2
  exit 1
fi
if [ "$check" = 1 ]; then
  awk "BEGIN{exit !($add90 <= 150 && $add99 <= 250 && $cpu_a <= 0.10 && $cpu_b <= 0.10 && $rss_a <= 20480 && $rss_b <= 20480)}" ||
    { echo "benchmark bars missed" >&2; exit 1; }
fi

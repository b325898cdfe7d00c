# Sourced by the benchmark scripts: their options, the one build they time, and the statistics
# they print, so every script measures the same binary and computes a median the same way.

# bench_options DEFAULT_RUNS QUICK_RUNS "$@": sets `runs` (QUICK_RUNS with --quick) and `check`
# (1 with --check: exit non-zero when a bar is missed).
bench_options() {
  runs=$1; check=0
  local quick=$2 a
  shift 2
  for a in "$@"; do
    case "$a" in
      --quick) runs=$quick ;;
      --check) check=1 ;;
    esac
  done
}

# bench_build: builds the bench programs once, as `cargo bench` builds them (a bare `cargo bench`
# would also build the library and binary as test harnesses, so they are named), and ferryctl as
# `cargo build --release` builds it for users. `cargo bench` unifies the dev-dependencies'
# features into the crate's: its ferryctl has tokio's `test-util`, whose clock takes a mutex on
# every read (callgrind, the proxy at saturation: 88 more instructions and 3.7 more locked ones
# per request), and is not the binary users run. Sets `bin` to ferryctl's absolute path;
# `bench_exe NAME` prints a bench program's.
bench_build() {
  bench_artifacts=$(cargo bench --locked --quiet --no-run --bench xds_load --bench proxy_load \
    --message-format=json) ||
    { echo "building the benchmarks failed" >&2; exit 1; }
  # Built last: both builds put their ferryctl at target/release/ferryctl.
  bin=$(cargo build --release --locked --quiet --bin ferryctl --message-format=json | artifact_exe ferryctl)
  [ -x "$bin" ] || { echo "building ferryctl failed" >&2; exit 1; }
}

bench_exe() { artifact_exe "$1" <<<"$bench_artifacts"; }

# artifact_exe NAME: the executable named NAME among the cargo JSON messages on stdin.
artifact_exe() {
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1"
}

# median FILE: the median of the numbers in FILE, one a line (the mean of the middle two when
# their count is even).
median() {
  sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ms START END: milliseconds between two $EPOCHREALTIME readings, rounded.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f\n", (b - a) * 1000 }'; }

# Two sockets per simulated client (one in each process) plus files: lift the soft limit.
raise_nofile() {
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  fi
}

# bench_processes: a temp dir `work` and a list `pids` the script adds what it starts to; on exit
# every one of them is stopped and the dir removed.
bench_processes() {
  work=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

# bench_cores: the proxies get core 0 (`proxy_cpu`), the backend and the load core 1
# (`load_cpu`), when there are two.
bench_cores() {
  if [ "$(nproc)" -ge 2 ]; then proxy_cpu=0; load_cpu=1; else proxy_cpu=0; load_cpu=0; fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # what, command...: retry for 30 s
  local what=$1; shift
  for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out waiting for $what" >&2; exit 1
}
http_ok() { # url [host body-file]: 200 (with exactly that body)
  python3 - "$@" <<'EOF'
import sys, urllib.request
url, host, want = (sys.argv[1:] + [None, None])[:3]
req = urllib.request.Request(url, headers={"Host": host} if host else {})
body = urllib.request.urlopen(req, timeout=2).read()
sys.exit(0 if want is None or body == open(want, "rb").read() else 1)
EOF
}
kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; } # pid key: a /proc status field (kB)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }         # pid: utime + stime in ticks
pin() { # cpu-list pid...: move every thread of each process
  local cpus=$1; shift
  for p in "$@"; do taskset -a -p -c "$cpus" "$p" >/dev/null; done
}

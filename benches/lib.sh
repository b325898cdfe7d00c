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

# bench_build: builds ferryctl and the bench programs once, as `cargo bench` builds them (with
# the dev-dependencies' features: a separate `cargo build --release` would build the whole crate
# a second time, and time a different binary from the one the bench programs start). The bench
# programs are named: a bare `cargo bench` also builds the library and binary as test harnesses.
# Sets `bin` to ferryctl's absolute path; `bench_exe NAME` prints a bench program's.
bench_build() {
  bench_artifacts=$(cargo bench --locked --quiet --no-run --bench xds_load --bench proxy_load \
    --message-format=json) ||
    { echo "building the benchmarks failed" >&2; exit 1; }
  bin=$(bench_exe ferryctl)
  [ -x "$bin" ] || { echo "building ferryctl failed" >&2; exit 1; }
}

bench_exe() {
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1" <<<"$bench_artifacts"
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

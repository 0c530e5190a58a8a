#!/usr/bin/env bash
# One entry point for working on demarc from a checkout. Each command installs
# what is missing (packaging/setup-deps.sh) and builds before it runs.
#
#   packaging/dev.sh run [ARGS...]  run the agent in the foreground with
#                                   config/demarc.yaml (extra ARGS go to
#                                   `demarc run`, e.g. --log-level debug)
#   packaging/dev.sh test           the whole suite: one clang build with
#                                   ASan+UBSan and libFuzzer coverage
#                                   (build/test); unit, integration, eBPF and
#                                   end-to-end tests, format and clang-tidy;
#                                   then the fuzzers (bounded run), the
#                                   kernel matrix (Debian's 5.10, 6.1 and
#                                   6.12 cloud kernels under QEMU, and the
#                                   host; release build) and the benchmarks
#   packaging/dev.sh build          release build only (build/release)
#   packaging/dev.sh bench          release build and benchmarks
#
# Needs root for eBPF (run, bpf tests); re-runs itself with sudo when it can.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

cmd=${1:-}
[[ $# -gt 0 ]] && shift

if [[ $(id -u) -ne 0 ]] && [[ "$cmd" == run || "$cmd" == test ]]; then
  if command -v sudo >/dev/null; then exec sudo -E "$0" "$cmd" "$@"; fi
  echo "dev.sh: $cmd needs root (eBPF, /var/lib/demarc); run it as root" >&2
  exit 1
fi

jobs=$(nproc)

configure() {  # configure DIR [cmake args...]
  local dir=$1
  shift
  if [[ ! -f "$dir/build.ninja" ]]; then
    cmake -S "$top" -B "$dir" -G Ninja "$@" >/dev/null
  fi
}

release_build() {
  # -g1: function names and line tables (backtraces, perf) without the full
  # debug info, which took a quarter of GCC's compile time here.
  configure build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
  ninja -C build/release -j "$jobs" "$@"
}

bench_targets=(demarc bench_seal bench_storm bench_s3)
# The kernel matrix (tests/kernels/matrix.py) boots these in each kernel.
matrix_targets=(demarc bpf_telemetry bench_storm)

mount_tracefs() {
  # Plain tracepoints attach through tracefs; some machines do not mount it.
  if [[ -d /sys/kernel/tracing ]] && ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
  fi
}

run_fuzz() {
  # The fuzz targets come from the test build (clang, -fsanitize=fuzzer-no-link).
  # Leaks are the ctest run's job (LeakSanitizer there); here a bounded run
  # that fails on any crash, hang (-timeout) or sanitizer report.
  local seconds=${DEMARC_FUZZ_SECONDS:-20}
  echo "== fuzzing (tests/fuzz), ${seconds}s per target, $jobs at a time =="
  local work
  work=$(mktemp -d)
  local -a names=(config batch units posture rules) wave=() pids=()
  local i name failed=0
  # Each target runs on one core for its full time: as many side by side as
  # there are cores.
  for ((i = 0; i < ${#names[@]}; i += jobs)); do
    wave=("${names[@]:i:jobs}")
    pids=()
    for name in "${wave[@]}"; do
      mkdir -p "$work/$name"
      {
        local rc=0
        (cd "$work" && ASAN_OPTIONS=detect_leaks=0 timeout -s KILL $((seconds + 60)) \
          "$top/build/test/tests/fuzz/fuzz_$name" -max_total_time="$seconds" \
          -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/$name." \
          "$work/$name" "$top/tests/fuzz/corpus/$name" >"$work/$name.log" 2>&1) || rc=$?
        echo "$rc" >"$work/$name.rc"
      } &
      pids+=($!)
    done
    # Only this wave: the release build may be running in the background.
    wait "${pids[@]}"
    for name in "${wave[@]}"; do
      if [[ $(cat "$work/$name.rc") != 0 ]]; then
        tail -40 "$work/$name.log"
        echo "fuzz_$name FAILED; the input that broke it is in $work ($name.crash-*," \
          "$name.timeout-*, $name.oom-*)" >&2
        failed=1
      else
        grep -E '^Done' "$work/$name.log" | sed "s/^/  fuzz_$name: /"
      fi
    done
  done
  [[ $failed == 0 ]] || return 1
  rm -rf "$work"
}

run_bench() {
  release_build "${bench_targets[@]}"
  echo "== benchmarks (tests/bench) =="
  build/release/tests/bench_seal --binary build/release/agent/demarc
  build/release/tests/bench_s3
  python3 tests/bench/scan_bench.py build/release/agent/demarc config/rules
  python3 tests/bench/telemetry_bench.py build/release/agent/demarc build/release/tests/bench_storm
  python3 tests/bench/report_bench.py build/release/agent/demarc build/release/tests/bench_storm "$PWD/config/rules"
}

case "$cmd" in
  run)
    packaging/setup-deps.sh
    release_build demarc
    mount_tracefs
    echo "dev.sh: starting build/release/agent/demarc run --config config/demarc.yaml $*"
    exec build/release/agent/demarc run --config config/demarc.yaml "$@"
    ;;
  test)
    packaging/setup-deps.sh --test-tools
    mount_tracefs
    # One build serves the tests and the fuzzers: clang (libFuzzer needs it),
    # -O1 as ASan advises (faster tests than -O0, still good stack traces).
    CC=clang CXX=clang++ configure build/test -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-O1 \
      -DCMAKE_CXX_FLAGS=-O1 -DDEMARC_ASAN=ON -DDEMARC_UBSAN=ON -DDEMARC_FUZZ=ON
    ninja -C build/test -j "$jobs"
    # LeakSanitizer needs ptrace, which some sandboxes refuse; ASan still runs.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ctest_log=$(mktemp)
    echo "== build done after ${SECONDS}s; ctest =="
    # The benchmarks' release build runs meanwhile at the lowest priority,
    # on the CPU time the tests leave idle (many of them wait on agents,
    # sockets and timers); whatever is left is built before the benchmarks.
    release_log=$(mktemp)
    (renice -n 19 -p "$BASHPID" >/dev/null && ionice -c 3 -p "$BASHPID" &&
      release_build "${bench_targets[@]}" "${matrix_targets[@]}") >"$release_log" 2>&1 &
    release_pid=$!
    trap 'pkill -P "$release_pid" || true; kill "$release_pid" 2>/dev/null || true' EXIT
    ctest --test-dir build/test -j "$jobs" --output-on-failure --timeout 900 | tee "$ctest_log"
    echo "== ctest done after ${SECONDS}s =="
    run_fuzz
    echo "== fuzzing done after ${SECONDS}s =="
    if ! wait "$release_pid"; then
      cat "$release_log" >&2
      echo "dev.sh: the release build failed" >&2
      exit 1
    fi
    trap - EXIT
    rm -f "$release_log"
    echo "== kernel matrix (tests/kernels) =="
    matrix_failed=0
    python3 tests/kernels/matrix.py build/release || matrix_failed=1
    echo "== kernel matrix done after ${SECONDS}s =="
    run_bench
    echo "== benchmarks done after ${SECONDS}s =="
    # The suite's result last, where CI reads it: "tests: N passed, N failed".
    summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$ctest_log" | tail -1)
    rm -f "$ctest_log"
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
    failed=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$summary")
    # The kernel matrix counts as one test.
    total=$((total + 1))
    failed=$((failed + matrix_failed))
    echo "tests: $((total - failed)) passed, $failed failed"
    [[ $failed == 0 ]] || exit 1
    ;;
  build)
    packaging/setup-deps.sh
    release_build
    ;;
  bench)
    packaging/setup-deps.sh
    run_bench
    ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
    ;;
esac

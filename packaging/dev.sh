#!/usr/bin/env bash
# One entry point for working on demarc from a checkout. Each command installs
# what is missing (packaging/setup-deps.sh) and builds before it runs.
#
#   packaging/dev.sh run [ARGS...]  run the agent in the foreground with
#                                   config/demarc.yaml (extra ARGS go to
#                                   `demarc run`, e.g. --log-level debug)
#   packaging/dev.sh test           the whole suite: ASan+UBSan build, unit,
#                                   integration, eBPF and end-to-end tests,
#                                   format and clang-tidy, then the benchmarks
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
  configure build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
  ninja -C build/release -j "$jobs" "$@"
}

mount_tracefs() {
  # Plain tracepoints attach through tracefs; some machines do not mount it.
  if [[ -d /sys/kernel/tracing ]] && ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
  fi
}

run_bench() {
  release_build demarc bench_seal
  echo "== benchmarks (tests/bench) =="
  build/release/tests/bench_seal --binary build/release/agent/demarc
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
    packaging/setup-deps.sh
    mount_tracefs
    configure build/asan -DCMAKE_BUILD_TYPE=Debug -DDEMARC_ASAN=ON -DDEMARC_UBSAN=ON
    ninja -C build/asan -j "$jobs"
    # LeakSanitizer needs ptrace, which some sandboxes refuse; ASan still runs.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ctest --test-dir build/asan -j "$jobs" --output-on-failure --timeout 900
    run_bench
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
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Installs every package demarc's build and tests need, on Debian 12 or
# Ubuntu 22.04/24.04, with apt. Idempotent: installs only what is missing and
# touches the network only then. Run as root (or with sudo).
#
# Amazon Linux 2023 (dnf) equivalents, for building there (see README):
#   dnf install -y gcc-c++ cmake ninja-build pkgconf-pkg-config clang llvm \
#     libbpf-devel bpftool elfutils-libelf-devel zlib-devel openssl-devel \
#     protobuf-devel protobuf-compiler libcurl-devel spdlog-devel fmt-devel \
#     yaml-cpp-devel cli11-devel gtest-devel gmock-devel clang-tools-extra git python3 \
#     lz4-devel xz-devel libzstd-devel bzip2-devel expat-devel json-devel nftables-devel \
#     sqlite-devel
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git python3
  # eBPF: clang -target bpf, skeletons, libbpf
  clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
  # libFuzzer and sanitizer runtimes for clang (tests/fuzz)
  libclang-rt-14-dev
  # libraries
  libssl-dev libprotobuf-dev protobuf-compiler libcurl4-openssl-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev
  # apt lists come compressed (lz4 on Debian 12, also gz and xz); dnf's
  # repodata also uses bzip2 and zstd, and is XML (expat)
  liblz4-dev liblzma-dev libzstd-dev libbz2-dev libexpat1-dev
  # the optional CVE feed (Debian security tracker JSON) is read with a
  # streaming JSON parser
  nlohmann-json3-dev
  # the firewall check reads nftables through libnftables (loaded at run time);
  # the rpm database (Amazon Linux 2023) is SQLite
  libnftables-dev libsqlite3-dev
  # tests and lint
  libgtest-dev libgmock-dev clang-format clang-tidy
  # oracles the tests compare with: ss (iproute2), apt; rulesets for the
  # firewall tests (nft, iptables-legacy, unshare); OpenSCAP with the SCAP
  # Security Guide and debootstrap for the hardening comparison
  iproute2 apt nftables iptables util-linux python3-yaml
  openscap-scanner ssg-debian ssg-debderived debootstrap
  # the test run builds the benchmarks' release build beside the tests at the
  # lowest priority (renice, ionice: util-linux) and stops it on failure (pkill)
  procps
  # botocore signs the same requests as the SigV4 tests, their oracle, and
  # checks every signature in the AWS fakes; openssl makes and serves the
  # certificate of the TLS verification test; the AWS CLI reads back what
  # the agent uploaded to s3rver (an npm package, see --test-tools)
  python3-botocore openssl awscli
  # rpm and rpmbuild make the rpm database fixtures and are its oracle;
  # createrepo_c and dnf build and read the updateinfo fixtures
  rpm createrepo-c dnf
  # the tracers the telemetry benchmark compares with: execsnoop and tcplife
  # (libbpf-tools), and auditd. Where systemd runs, installing auditd
  # enables and starts it; the benchmark adds and removes its own rules.
  libbpf-tools auditd
  # sd_notify (READY, WATCHDOG) for the Type=notify service; systemd-analyze
  # checks the unit (verify, security); dpkg-dev's dpkg-shlibdeps and rpm
  # build the packages (cpack)
  libsystemd-dev systemd dpkg-dev
  # packer (Debian's 1.6.6) validates the AMI bake template; systemd-nspawn
  # boots a Debian root to run the installed unit under a real systemd
  packer systemd-container
  # the kernel matrix (tests/kernels) boots Debian's cloud kernels under QEMU
  # (TCG) from an initramfs of busybox and the release build (cpio)
  qemu-system-x86 busybox-static cpio
  # the report and timeline pages are rendered and clicked in a real browser
  # (headless, through ChromeDriver)
  chromium chromium-driver
)

# s3rver runs on Node.js; NodeSource's nodejs package brings its own npm.
if ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

sudo=""
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup-deps: run as root to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --test-tools: tools the tests use that Debian does not package, from the
# npm registry at pinned versions, into build/tools: s3rver (an independent
# S3 for the sink's round trip) and node-sql-parser (checks the Athena
# queries' syntax).
if [[ "${1:-}" == --test-tools ]]; then
  tools="$(cd "$(dirname "$0")/.." && pwd)/build/tools"
  for spec in s3rver@3.7.1 node-sql-parser@5.4.0; do
    name=${spec%@*}
    version=${spec##*@}
    if ! grep -qs "\"version\": \"$version\"" "$tools/node_modules/$name/package.json"; then
      echo "setup-deps: installing $spec (npm) into $tools"
      mkdir -p "$tools"
      npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "$spec"
    fi
  done
fi

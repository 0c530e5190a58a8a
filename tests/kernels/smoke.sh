#!/bin/sh
# The kernel matrix's end-to-end smoke (tests/kernels/matrix.py), in a
# booted kernel or on the host: `demarc run` for some seconds while a known
# exec with a long argument list, a loopback TCP connection, a UDP exchange
# and a setuid happen, then `demarc verify` of what it sealed. The host
# checks the records (matrix.py); this only makes them.
#   smoke.sh DEMARC BENCH_STORM WORKDIR RULES_DIR
# POSIX sh: it runs under busybox in the guests.
set -u
demarc=$1
storm=$2
work=$3
rules=$(cd "$4" && pwd)  # a small pack: posture is not what this tests
mkdir -p "$work"
cat >"$work/smoke.yaml" <<EOF
agent:
  state_dir: $work/state
  heartbeat_interval: 2s
evidence:
  batch_max_age: 1s
journal:
  fsync: false
sinks:
  directory:
    enabled: true
    path: $work/evidence
    fsync: false
logging:
  level: info
  format: plain
posture:
  scan_interval: 0s
  rule_packs: [$rules]
telemetry:
  udp_flow_interval: 1s
EOF

# --require-all-hooks: each configured feature has hooks here, a fallback
# counting (it exits 3 before sealing anything otherwise).
"$demarc" run --config "$work/smoke.yaml" --require-all-hooks >"$work/run.log" 2>&1 &
agent=$!
# Ready once the probes are attached and the first batch is sealed (the
# start-up posture scan runs on its own thread meanwhile).
i=0
while [ $i -lt 600 ] && kill -0 "$agent" 2>/dev/null &&
  ! grep -q "eBPF: recording\|eBPF: events are not recorded" "$work/run.log"; do
  sleep 0.2
  i=$((i + 1))
done
sleep 1

# An exec with a long argument list (about 40 KiB: ten chunks) from a known
# directory.
long=""
n=0
while [ $n -lt 400 ]; do
  long="$long matrix-arg-$n-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  n=$((n + 1))
done
# shellcheck disable=SC2086 # split into 401 arguments on purpose
(cd /tmp && /bin/true demarc-matrix-marker $long)
"$storm" connect 3
"$storm" udp 5
# setresuid and setresgid to nobody, then exec (util-linux's setpriv, not
# busybox's).
/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups /bin/true demarc-matrix-setuid

# Flows are read every second and batches sealed every second.
sleep 4
kill -INT "$agent"
wait "$agent"
echo "demarc run exited $?"
"$demarc" verify "$work/evidence" >"$work/verify.txt" 2>&1
echo "demarc verify exited $?"
cat "$work/verify.txt"
tail -n 40 "$work/run.log"

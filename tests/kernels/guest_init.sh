#!/bin/sh
# /init of the kernel matrix's initramfs (tests/kernels/matrix.py): mounts
# what the probes need, runs the eBPF tests and the end-to-end smoke, and
# writes each result as a section on the second serial port (ttyS1), which
# the host reads from a file. The kernel's own console is ttyS0. Powers off
# when done; the host bounds the whole run with a timeout.
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s /bin 2>/dev/null
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up

out=/dev/ttyS1
stty -F "$out" raw -echo 2>/dev/null
section() {  # section NAME FILE RC: the file's text between markers
  {
    echo "=== BEGIN $1 ==="
    cat "$2"
    echo "=== END $1 rc=$3 ==="
  } >"$out"
}

{
  echo "kernel $(uname -r)"
  echo "lockdown $(cat /sys/kernel/security/lockdown 2>/dev/null || echo unknown)"
  echo "cpus $(grep -c ^processor /proc/cpuinfo)"
} >/tmp/facts
section facts /tmp/facts 0

# The eBPF tests, every case (exact accounting included), and the smoke,
# with the kernel counting each program's run time (the privilege tests and
# `demarc run` at its stop print it).
echo 1 >/proc/sys/kernel/bpf_stats_enabled 2>/dev/null
/usr/lib/demarc-matrix/bpf_telemetry --gtest_output=json:/tmp/bpf.json >/tmp/bpf.log 2>&1
rc=$?
section bpf_log /tmp/bpf.log "$rc"
[ -f /tmp/bpf.json ] && section bpf_json /tmp/bpf.json "$rc"

mkdir -p /tmp/smoke
/usr/lib/demarc-matrix/smoke.sh /usr/bin/demarc /usr/lib/demarc-matrix/bench_storm /tmp/smoke \
  /usr/lib/demarc-matrix/rules >/tmp/smoke.log 2>&1
rc=$?
section smoke_log /tmp/smoke.log "$rc"
(cd /tmp/smoke && tar cf - evidence run.log verify.txt 2>/dev/null | gzip -1 |
  base64) >/tmp/smoke.b64
section smoke_tar_b64 /tmp/smoke.b64 0

echo "=== DONE ===" >"$out"
sync
poweroff -f

#!/usr/bin/python3
"""The installed unit under a real systemd: the .deb of this build goes into
a Debian 12 root (debootstrap, cached in DEMARC_TEST_CACHE) that boots with
systemd-nspawn, demarc.service enabled. The container gets the capabilities
the unit keeps (the unit's bounding set then narrows them as on a host).
After 20 s a probe unit records what systemd says about the service and its
journal, and powers off. Checked: active and running with no restart,
READY's status text, watchdog pings still arriving after the first 15 s,
eBPF probes attached within the bounding set (every hook the same binary
attaches outside the unit on this kernel, read from the enrollment records),
the posture scan with no rule in error, and evidence that `demarc verify`
passes after the clean stop.

usage: systemd_unit_test.py BUILD_DIR DEMARC"""

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
import scap  # noqa: E402  (the cached debootstrap root)

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


PROBE = """[Unit]
Description=report on demarc.service, then power off
After=demarc.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'sleep 20; systemctl show demarc.service -p ActiveState -p SubState \
-p NRestarts -p StatusText -p WatchdogTimestampMonotonic -p ExecMainStartTimestampMonotonic \
> /results/show.txt; journalctl -u demarc.service --no-pager -o cat > /results/journal.txt; \
systemctl poweroff'
[Install]
WantedBy=multi-user.target
"""


def main():
    build = pathlib.Path(sys.argv[1]).resolve()
    demarc = sys.argv[2]
    work = pathlib.Path(tempfile.mkdtemp(prefix="demarc-nspawn-"))
    try:
        run(build, demarc, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(f"{len(failures)} check(s) of the unit under systemd failed")


def run(build, demarc, work):
    pristine = scap.cached_root("bookworm", "systemd,systemd-sysv,dbus,libnftables1")
    root = work / "root"
    subprocess.run(["cp", "-a", pristine, str(root)], check=True)
    out = work / "pkg"
    subprocess.run(["cpack", "-G", "DEB", "-B", str(out)], cwd=build, check=True,
                   stdout=subprocess.DEVNULL)
    deb = next(out.glob("*.deb"))
    shutil.copy(deb, root / "tmp/demarc.deb")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["chroot", str(root), "sh", "-c",
                        "apt-get update -qq && apt-get install -y -qq /tmp/demarc.deb"],
                       capture_output=True, text=True, env=env)
    check(r.returncode == 0,
          "the .deb installs in the Debian 12 root" + ("" if r.returncode == 0 else r.stderr[-500:]))
    (root / "etc/systemd/system/probe.service").write_text(PROBE)
    (root / "etc/hostname").write_text("demarc-unit-test\n")
    subprocess.run(["chroot", str(root), "systemctl", "enable", "demarc.service", "probe.service"],
                   check=True, capture_output=True)
    results = work / "results"
    results.mkdir()
    caps = "CAP_BPF,CAP_PERFMON,CAP_DAC_READ_SEARCH,CAP_SYS_PTRACE,CAP_NET_ADMIN,CAP_NET_RAW"
    boot = subprocess.run(["systemd-nspawn", "-D", str(root), "-b", "--keep-unit", "--register=no",
                           f"--bind={results}:/results", f"--capability={caps}",
                           # A host's systemd mounts tracefs at boot; a
                           # container's cannot (no CAP_SYS_RAWIO): the
                           # host's, as a booted host would have it.
                           "--bind-ro=/sys/kernel/tracing",
                           "--system-call-filter=bpf perf_event_open"],
                          capture_output=True, text=True, timeout=180)
    check(boot.returncode == 0,
          "the container booted and powered off" + ("" if boot.returncode == 0 else boot.stdout[-500:]))
    show = dict(line.split("=", 1) for line in
                (results / "show.txt").read_text().splitlines() if "=" in line) \
        if (results / "show.txt").exists() else {}
    journal = (results / "journal.txt").read_text() if (results / "journal.txt").exists() else ""
    check(show.get("ActiveState") == "active" and show.get("SubState") == "running",
          f"demarc.service is active and running ({show.get('ActiveState')}/{show.get('SubState')})")
    check(show.get("NRestarts") == "0", f"no restarts ({show.get('NRestarts')})")
    check(show.get("StatusText", "").startswith("running:"),
          f"READY came with its status: {show.get('StatusText')!r}")
    started = int(show.get("ExecMainStartTimestampMonotonic", "0") or 0)
    pinged = int(show.get("WatchdogTimestampMonotonic", "0") or 0)
    check(started > 0 and pinged - started > 14_000_000,
          f"watchdog pings go on ({(pinged - started) / 1e6:.1f} s after start)")
    check("eBPF: recording process, TCP" in journal and "tp_btf" in journal,
          "the eBPF probes attached within the bounding set")
    # The oracle: the hooks the same binary attaches outside the unit, on
    # the same kernel. Each missing one is named with the kernel's reason.
    unit = enrollment_hooks(root / "var/lib/demarc/evidence")
    outside = hooks_outside_the_unit(demarc, work / "outside")
    check(unit is not None and outside is not None and unit[0] == outside[0],
          "every hook attached outside the unit is attached under it: "
          + (f"{len(unit[0])} hooks" if unit and outside and unit[0] == outside[0] else
             f"\nunder the unit: {unit}\noutside: {outside}\njournal:\n{journal[-1500:]}"))
    scan = re.search(r"posture scan \w+: (\d+) rules .* (\d+) error;", journal)
    check(scan is not None and scan.group(2) == "0",
          f"the posture scan ran with no rule in error: {scan.group(0) if scan else journal[-800:]}")
    evidence = root / "var/lib/demarc/evidence"
    verify = subprocess.run([demarc, "verify", str(evidence)], capture_output=True, text=True)
    ok = verify.returncode == 0 and "stopped cleanly" in verify.stdout
    check(ok, "the evidence verifies and ends with a clean stop" + ("" if ok else verify.stdout[-600:]))
    mode = (root / "var/lib/demarc").stat().st_mode & 0o777
    check(mode == 0o700, f"/var/lib/demarc is 0700 ({oct(mode)})")


def enrollment_hooks(evidence):
    """(attached hooks, missing hooks) from the first enrollment record."""
    for path in sorted(evidence.rglob("*.jsonl")):
        for line in path.read_text(errors="replace").splitlines():
            if '"enrollment"' in line:
                e = json.loads(line)["enrollment"]
                return sorted(e.get("telemetry_hooks", [])), e.get("telemetry_missing", [])
    return None


def hooks_outside_the_unit(demarc, work):
    work.mkdir()
    config = work / "demarc.yaml"
    rules = pathlib.Path(__file__).resolve().parents[1] / "data" / "rules"
    config.write_text(f"""agent: {{state_dir: {work}/state}}
sinks: {{directory: {{path: {work}/evidence, fsync: false}}}}
journal: {{fsync: false}}
posture: {{scan_interval: 0s, rule_packs: [{rules}]}}
""")
    agent = subprocess.Popen([demarc, "run", "--config", str(config)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and enrollment_hooks(work / "evidence") is None:
        if agent.poll() is not None:
            break
        time.sleep(0.2)
    agent.send_signal(signal.SIGINT)
    out, _ = agent.communicate(timeout=60)
    hooks = enrollment_hooks(work / "evidence")
    if hooks is None:
        print(out[-2000:])
    return hooks


if __name__ == "__main__":
    main()

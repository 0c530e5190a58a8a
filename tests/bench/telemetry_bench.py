#!/usr/bin/env python3
"""Telemetry overhead, measured side by side in one run (root, release build):

  exec storm     fork+exec of /bin/true with a few arguments
  connect storm  loopback TCP connect, accept and close

each with no tracer, under `demarc run` (every telemetry feature on), under
libbpf-tools' execsnoop / tcplife, and under auditd with a rule on execve /
connect. Throughputs are medians of RUNS runs; ratios are against no tracer.
Under demarc it also checks that every storm event was recorded (and none
dropped), prints the agent's CPU time per 1,000 events and its peak RSS,
and runs a paced fork storm at 10,000 events per second for a few seconds.

Targets: demarc costs at most 5% of exec-storm and 10% of connect-storm
throughput, records every event, no drops at 10,000 events/s, peak RSS
under 50 MB.

usage: telemetry_bench.py DEMARC_BINARY BENCH_STORM"""

import glob
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 3
EXECS = 2000
CONNECTS = 5000
PACED_RATE, PACED_SECONDS = 5000, 5  # fork + exit: 10,000 events per second
PACERS = 2  # processes sharing the paced rate
TICK = os.sysconf("SC_CLK_TCK")
REPO = os.path.abspath(__file__).rsplit("/tests/", 1)[0]


def storm(binary, mode, *args):
    out = subprocess.run([binary, mode, *map(str, args)], capture_output=True, text=True,
                         check=True)
    ops, secs, rate = out.stdout.split()
    port = None
    if out.stderr.startswith("port "):
        port = int(out.stderr.split()[1])
    return float(rate), port


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


class Tracer:
    """A tracer running for the duration of a `with` block."""

    def __init__(self, name, argv, ready=None):
        self.name, self.argv, self.ready = name, argv, ready
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        if self.ready:
            err = ""
            while self.ready not in err and time.monotonic() < deadline:
                line = self.proc.stderr.readline()
                if not line and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {err}")
                err += line
        else:
            time.sleep(2)  # BPF tools print nothing when ready; loading takes < 1 s
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.proc.stderr.read()}")
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGINT if self.name != "demarc" else signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Auditd:
    """auditd with one syscall rule, started and removed around a block."""

    def __init__(self, syscall):
        self.syscall = syscall
        self.proc = None

    def __enter__(self):
        os.makedirs("/var/log/audit", exist_ok=True)
        self.proc = subprocess.Popen(["/sbin/auditd", "-n"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        time.sleep(1)
        if self.proc.poll() is not None:
            raise RuntimeError("auditd exited at start")
        for argv in (["-D"], ["-e", "1"],
                     ["-a", "always,exit", "-F", "arch=b64", "-S", self.syscall]):
            subprocess.run(["/sbin/auditctl", *argv], check=True, capture_output=True)
        return self

    def __exit__(self, *exc):
        subprocess.run(["/sbin/auditctl", "-D"], capture_output=True)
        subprocess.run(["/sbin/auditctl", "-e", "0"], capture_output=True)
        self.proc.terminate()
        self.proc.wait(timeout=30)


def median_rate(storm_bin, mode, n, runs=RUNS):
    rates, ports = [], []
    for _ in range(runs):
        rate, port = storm(storm_bin, mode, n)
        rates.append(rate)
        ports.append(port)
    return statistics.median(rates), ports


def evidence_counts(evidence_dir, exec_marker, connect_ports, fork_parents):
    """Counts the storm's records in sealed evidence, and all drops."""
    execs = connects = forks = 0
    drops = {}
    for path in glob.glob(os.path.join(evidence_dir, "**", "*"), recursive=True):
        if not os.path.isfile(path):
            continue
        with open(path, errors="replace") as f:
            for line in f:
                if '"header"' in line:
                    for key, value in json.loads(line).get("header", {}).get("drops", {}).items():
                        drops[key] = drops.get(key, 0) + int(value)
                    continue
                if '"process"' in line and exec_marker in line and "KIND_EXEC" in line:
                    execs += 1
                elif '"network"' in line and "KIND_CONNECT" in line:
                    rec = json.loads(line)["network"]
                    if rec.get("remote_port") in connect_ports:
                        connects += 1
                elif '"process"' in line and "KIND_FORK" in line:
                    rec = json.loads(line)["process"]
                    if rec.get("ppid") in fork_parents:
                        forks += 1
    return execs, connects, forks, drops


def main():
    if os.geteuid() != 0:
        print("telemetry bench: needs root (BPF, auditd); skipped")
        return 0
    demarc, storm_bin = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="demarc-telemetry-bench-")
    try:
        config = os.path.join(work, "demarc.yaml")
        with open(config, "w") as f:
            f.write(f"agent:\n  state_dir: {work}/state\n"
                    f"sinks:\n  directory:\n    path: {work}/evidence\n"
                    f"posture:\n  scan_interval: 0s\n"
                    f"  rule_packs: [{REPO}/config/rules]\n"
                    "telemetry:\n  udp_flow_interval: 5s\n")
        results = {"exec": {}, "connect": {}}
        baseline_exec = [median_rate(storm_bin, "exec", EXECS)[0]]
        baseline_conn = [median_rate(storm_bin, "connect", CONNECTS)[0]]

        # demarc run, with its CPU time and what it recorded.
        agent = Tracer("demarc", [demarc, "run", "--config", config, "--log-format", "plain"],
                       ready="posture scan")
        with agent:
            time.sleep(1)
            t0 = cpu_ticks(agent.proc.pid)
            results["exec"]["demarc run"], _ = median_rate(storm_bin, "exec", EXECS)
            t1 = cpu_ticks(agent.proc.pid)
            results["connect"]["demarc run"], ports = median_rate(storm_bin, "connect", CONNECTS)
            t2 = cpu_ticks(agent.proc.pid)
            pacers = [subprocess.Popen([storm_bin, "fork", str(PACED_RATE // PACERS),
                                        str(PACED_SECONDS)], stdout=subprocess.PIPE, text=True)
                      for _ in range(PACERS)]
            paced_out = [p.communicate()[0].split() for p in pacers]
            paced_forks = sum(int(o[0]) for o in paced_out)
            paced_rate = sum(float(o[2]) for o in paced_out)
            time.sleep(2)  # let the last batches seal
            hwm = status_kb(agent.proc.pid, "VmHWM:")
            rss = status_kb(agent.proc.pid, "VmRSS:")
        execs, connects, forks, drops = evidence_counts(
            os.path.join(work, "evidence"), "demarc-bench-marker", set(ports),
            {p.pid for p in pacers})
        exec_events = RUNS * EXECS * 3        # fork, exec, exit
        connect_events = RUNS * CONNECTS * 4  # connect, accept, two closes
        exec_cpu = (t1 - t0) * 1000.0 / TICK / (exec_events / 1000)
        connect_cpu = (t2 - t1) * 1000.0 / TICK / (connect_events / 1000)

        for name, argv, mode, n in (("execsnoop", ["/usr/sbin/execsnoop"], "exec", EXECS),
                                    ("tcplife", ["/usr/sbin/tcplife"], "connect", CONNECTS)):
            if not os.path.exists(argv[0]):
                results[mode][name] = None
                continue
            with Tracer(name, argv):
                results[mode][name], _ = median_rate(storm_bin, mode, n)
        for syscall, mode, n in (("execve", "exec", EXECS), ("connect", "connect", CONNECTS)):
            try:
                with Auditd(syscall):
                    results[mode][f"auditd -S {syscall}"], _ = median_rate(storm_bin, mode, n)
            except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
                results[mode][f"auditd -S {syscall}"] = None
                print(f"  (auditd unavailable: {e})")
        baseline_exec.append(median_rate(storm_bin, "exec", EXECS)[0])
        baseline_conn.append(median_rate(storm_bin, "connect", CONNECTS)[0])

        print(f"telemetry overhead ({RUNS} runs each, medians; no tracer measured before and after):")
        for mode, base, unit, target in (("exec", statistics.mean(baseline_exec), "execs/s", 0.05),
                                         ("connect", statistics.mean(baseline_conn),
                                          "connections/s", 0.10)):
            spread = baseline_exec if mode == "exec" else baseline_conn
            print(f"  {mode} storm: no tracer {base:10.0f} {unit}  (before the tracers "
                  f"{spread[0]:.0f}, after {spread[1]:.0f}: the noise floor)")
            for name, rate in results[mode].items():
                if rate is None:
                    print(f"    {name:22s} not available here")
                    continue
                cost = 1 - rate / base
                line = f"    {name:22s} {rate:10.0f} {unit}  ratio {rate / base:5.3f}  cost {cost * 100:5.1f}%"
                if name == "demarc run":
                    line += f"  target <= {target * 100:.0f}%: {'met' if cost <= target else 'MISSED'}"
                print(line)
        print(f"  recorded under demarc run: {execs} of {RUNS * EXECS} storm execs, "
              f"{connects} of {RUNS * CONNECTS} storm connects: "
              f"{'every event' if execs == RUNS * EXECS and connects == RUNS * CONNECTS else 'MISSED'}")
        paced_events = 2 * paced_rate
        print(f"  paced fork storm: {paced_rate:.0f} forks/s for {PACED_SECONDS} s "
              f"({paced_events:.0f} events/s): {forks} of {paced_forks} forks recorded; "
              f"drops over the whole run: {sum(drops.values())} {drops or ''}: "
              f"{'met' if forks == paced_forks and not drops and paced_events >= 9900 else 'MISSED'}"
              f"{'' if paced_events >= 9900 else ' (the generator fell short of 10,000 events/s)'}")
        print(f"  agent CPU per 1000 events: exec storm {exec_cpu:.1f} ms, "
              f"connect storm {connect_cpu:.1f} ms")
        print(f"  agent memory: RSS {rss / 1024:.1f} MiB, peak {hwm / 1024:.1f} MiB  "
              f"target < 50 MB: {'met' if hwm * 1024 < 50e6 else 'MISSED'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

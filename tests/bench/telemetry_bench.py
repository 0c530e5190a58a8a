#!/usr/bin/env python3
"""Telemetry overhead, measured side by side in one run (root, release build):

  exec storm     fork+exec of /bin/true with a few arguments
  connect storm  loopback TCP connect, accept and close
  UDP storm      loopback datagrams, sent with an address and received
  TCP data       small messages sent and received over one connection
  syscall storm  getppid() calls: what the privilege probes' syscall
                 tracepoints add to every system call of the host (also run
                 under demarc with telemetry.privilege_events off)

each under `demarc run` (every telemetry feature on; the last two show what
the UDP flow hooks, which run on every send and receive of every socket,
cost), and exec and connect also under libbpf-tools' execsnoop / tcplife and
auditd with a rule on execve / connect, against no tracer: each round runs
with the tracer (started and stopped each round) between runs without, and
the median of the per-round ratios (traced / mean of the runs either side)
is reported, so the drift of a shared machine cancels out. demarc's exec and
connect rounds hold three storms each, the rest one.
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

# The other tracers and the storms without a target: for comparison.
ROUNDS = 3
# demarc's own ratios scatter by several points from round to round on a
# shared VM (an A/A run of the connect storm against itself, one run either
# side: sd ~6%; against one run before: ~8%; a storm's own rate, ~5%): for
# the numbers the targets are checked on, more rounds of several storms
# each. Most of a round's time is demarc starting and stopping (~1.5 s), so
# three storms in each tracer, against three either side, cut the sd of a
# connect round's ratio from 7.8% (80 rounds) to 2.8% (40) for ~45% more
# time a round. The connect storm, whose target is closest to what it costs
# (8.5% +- 0.9 over 40 rounds), gets the most.
DEMARC_ROUNDS = {"exec": 7, "connect": 21}
DEMARC_RUNS = 3
# After a tracer has exited, before the next baseline: the kernel frees some
# of what it held (programs, maps, the ring) after RCU grace periods, and a
# baseline slowed by that would flatter the tracer. (Detaching itself is not
# quick: demarc takes most of a second to exit, one grace period per
# syscall tracepoint.)
SETTLE = 0.2
EXECS = 1000
CONNECTS = 5000
DATAGRAMS, MESSAGES = 100000, 50000
SYSCALLS = 2000000
# fork + exit: 11,000 events per second asked for, 10,000 needed: the
# generators fall a few percent behind on a slow day.
PACED_RATE, PACED_SECONDS = 5500, 5
PACED_NEEDED = 10000
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


def irq_work_interrupts():
    """IRQ work interrupts taken so far, all CPUs: how a ring buffer wakes
    its reader (a self-interrupt on the producing CPU, a VM exit on a VM)."""
    with open("/proc/interrupts") as f:
        for line in f:
            if line.split(":")[0].strip() == "IWI":
                return sum(int(x) for x in line.split(":")[1].split() if x.isdigit())
    return 0


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
            # libbpf-tools print nothing when ready; they set up their perf
            # buffer (an epoll fd) after attaching their programs.
            while not self.has_fd("anon_inode:[eventpoll]"):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.proc.stderr.read()}")
                if time.monotonic() > deadline:
                    self.proc.kill()
                    raise RuntimeError(f"{self.name} did not attach within 60 s")
                time.sleep(0.05)
            time.sleep(0.2)
        return self

    def has_fd(self, target):
        fds = f"/proc/{self.proc.pid}/fd"
        try:
            names = os.listdir(fds)
        except OSError:
            return False
        for name in names:
            try:
                if os.readlink(os.path.join(fds, name)) == target:
                    return True
            except OSError:
                pass
        return False

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


def evidence_lines(evidence_dir):
    """Every line of every file under a sink directory."""
    for path in glob.glob(os.path.join(evidence_dir, "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                yield from f


def udp_flow_packets(evidence_dir, port):
    """Datagrams to and at `port` in the sealed UDP flow records."""
    sent = received = 0
    for line in evidence_lines(evidence_dir):
        if '"network"' not in line or "KIND_FLOW" not in line:
            continue
        rec = json.loads(line)["network"]
        if rec.get("remote_port") == port:
            sent += int(rec.get("packets_sent", 0))
        if rec.get("local_port") == port:
            received += int(rec.get("packets_received", 0))
    return sent, received


def evidence_counts(evidence_dir, exec_marker, connect_ports, fork_parents):
    """Counts the storm's records in sealed evidence, and all drops."""
    execs = connects = forks = 0
    drops = {}
    for line in evidence_lines(evidence_dir):
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


class Demarc(Tracer):
    """`demarc run` with every telemetry feature on (unless `telemetry` says
    otherwise), its own state and evidence."""

    def __init__(self, work, demarc, n, telemetry=""):
        self.dir = os.path.join(work, f"run{n}")
        os.makedirs(self.dir)
        config = os.path.join(self.dir, "demarc.yaml")
        with open(config, "w") as f:
            f.write(f"agent:\n  state_dir: {self.dir}/state\n"
                    f"sinks:\n  directory:\n    path: {self.dir}/evidence\n"
                    f"posture:\n  scan_interval: 0s\n  rule_packs: [{REPO}/config/rules]\n"
                    "telemetry:\n  udp_flow_interval: 5s\n" + telemetry)
        super().__init__("demarc", [demarc, "run", "--config", config, "--log-format", "plain"],
                         ready="posture scan")

    def __enter__(self):
        super().__enter__()
        time.sleep(0.25)  # past the start-up scan's tail
        return self


def paired(storm_bin, mode, n, make_tracer, measure=None, rounds=ROUNDS, runs=1):
    """Rounds of `runs` traced runs between as many runs without a tracer
    either side (each side shared with the next round): the ratio of the
    traced runs' mean rate to the mean of the runs either side is immune to
    slow drift in the machine's speed, and to a straight-line change across
    the round. Returns the ratios, the median rates, and what `measure` saw
    inside each tracer (given the storms' ports)."""
    def storms():
        out = [storm(storm_bin, mode, n) for _ in range(runs)]
        return [rate for rate, _ in out], [port for _, port in out]

    ratios, base, traced, seen = [], [], [], []
    before, _ = storms()
    for i in range(rounds):
        with make_tracer(i) as tracer:
            marks = (cpu_ticks(tracer.proc.pid), irq_work_interrupts())
            t, ports = storms()
            if measure:
                seen.append(measure(tracer, marks, ports))
        time.sleep(SETTLE)
        after, _ = storms()
        ratios.append(statistics.mean(t) / statistics.mean(before + after))
        base += before
        traced += t
        before = after
    return ratios, statistics.median(base), statistics.median(traced), seen


def main():
    if os.geteuid() != 0:
        print("telemetry bench: needs root (BPF, auditd); skipped")
        return 0
    demarc, storm_bin = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="demarc-telemetry-bench-")
    runs = iter(range(1000))
    try:
        rows = {"exec": [], "connect": []}
        demarc_seen = {"exec": [], "connect": []}
        for mode, n, events_per_op in (("exec", EXECS, 3), ("connect", CONNECTS, 4)):
            def measure(tracer, marks, ports, mode=mode, n=n, per=events_per_op):
                cpu_ms = (cpu_ticks(tracer.proc.pid) - marks[0]) * 1000.0 / TICK
                wakeups = irq_work_interrupts() - marks[1]
                thousands = n * len(ports) * per / 1000
                return {"cpu_ms_per_1000": cpu_ms / thousands, "ports": set(ports),
                        "wakeups_per_1000": wakeups / thousands,
                        "dir": tracer.dir, "hwm": status_kb(tracer.proc.pid, "VmHWM:")}
            ratios, b, t, seen = paired(storm_bin, mode, n,
                                        lambda i: Demarc(work, demarc, next(runs)), measure,
                                        rounds=DEMARC_ROUNDS[mode], runs=DEMARC_RUNS)
            rows[mode].append(("demarc run", ratios, b, t))
            demarc_seen[mode] = seen
        for mode, n in (("udp", DATAGRAMS), ("tcp-data", MESSAGES)):
            ratios, b, t, seen = paired(storm_bin, mode, n,
                                        lambda i: Demarc(work, demarc, next(runs)),
                                        lambda tracer, marks, ports: {
                                            "dir": tracer.dir, "port": ports[0],
                                            "hwm": status_kb(tracer.proc.pid, "VmHWM:")})
            rows[mode] = [("demarc run", ratios, b, t)]
            demarc_seen[mode] = seen
        rows["syscall"] = []
        for name, telemetry in (("demarc run", ""),
                                ("demarc, no privilege", "  privilege_events: false\n")):
            ratios, b, t, _ = paired(storm_bin, "syscall", SYSCALLS,
                                     lambda i, tm=telemetry: Demarc(work, demarc, next(runs), tm))
            rows["syscall"].append((name, ratios, b, t))
        for name, argv, mode, n in (("execsnoop", ["/usr/sbin/execsnoop"], "exec", EXECS),
                                    ("tcplife", ["/usr/sbin/tcplife"], "connect", CONNECTS)):
            if not os.path.exists(argv[0]):
                rows[mode].append((name, None, 0, 0))
                continue
            try:
                ratios, b, t, _ = paired(storm_bin, mode, n,
                                         lambda i, a=argv, nm=name: Tracer(nm, a))
                rows[mode].append((name, ratios, b, t))
            except RuntimeError as e:
                rows[mode].append((name, None, 0, 0))
                print(f"  ({name} unavailable: {e})")
        for syscall, mode, n in (("execve", "exec", EXECS), ("connect", "connect", CONNECTS)):
            name = f"auditd -S {syscall}"
            try:
                ratios, b, t, _ = paired(storm_bin, mode, n, lambda i, sc=syscall: Auditd(sc))
                rows[mode].append((name, ratios, b, t))
            except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
                rows[mode].append((name, None, 0, 0))
                print(f"  ({name} unavailable: {e})")

        # Sustained load: 10,000 events per second for a few seconds.
        with Demarc(work, demarc, next(runs)) as agent:
            pacers = [subprocess.Popen([storm_bin, "fork", str(PACED_RATE // PACERS),
                                        str(PACED_SECONDS)], stdout=subprocess.PIPE, text=True)
                      for _ in range(PACERS)]
            paced_out = [p.communicate()[0].split() for p in pacers]
            time.sleep(2)  # let the last batches seal
            paced_hwm = status_kb(agent.proc.pid, "VmHWM:")
        paced_forks = sum(int(o[0]) for o in paced_out)
        paced_rate = sum(float(o[2]) for o in paced_out)
        _, _, forks, paced_drops = evidence_counts(os.path.join(agent.dir, "evidence"), "", set(),
                                                   {p.pid for p in pacers})

        print(f"telemetry overhead ({DEMARC_ROUNDS['exec']} exec and {DEMARC_ROUNDS['connect']} "
              f"connect rounds for demarc of {DEMARC_RUNS} traced runs between {DEMARC_RUNS} "
              f"untraced ones either side, {ROUNDS} rounds of one for the rest; medians of the "
              "per-round ratios, with the middle half of them):")
        units = {"exec": "execs/s", "connect": "connections/s", "udp": "datagrams/s",
                 "tcp-data": "messages/s", "syscall": "calls/s"}
        sizes = {"exec": EXECS, "connect": CONNECTS, "udp": DATAGRAMS, "tcp-data": MESSAGES,
                 "syscall": SYSCALLS}
        targets = {"exec": 0.05, "connect": 0.10}
        for mode in ("exec", "connect", "udp", "tcp-data", "syscall"):
            print(f"  {mode} storm ({sizes[mode]} operations a run):")
            for name, ratios, b, t in rows[mode]:
                if ratios is None:
                    print(f"    {name:20s} not available here")
                    continue
                ratio = statistics.median(ratios)
                q = statistics.quantiles(ratios, n=4)
                cost = 1 - ratio
                line = (f"    {name:20s} ratio {ratio:5.3f}  cost {cost * 100:5.1f}% "
                        f"(middle half {(1 - q[2]) * 100:.1f}..{(1 - q[0]) * 100:.1f})  "
                        f"({t:.0f} vs {b:.0f} {units[mode]})")
                if name == "demarc run" and mode in targets:
                    line += (f"  target <= {targets[mode] * 100:.0f}%: "
                             f"{'met' if cost <= targets[mode] else 'MISSED'}")
                print(line)
        execs = connects = 0
        drops = {}
        for mode, marker in (("exec", "demarc-bench-marker"), ("connect", None)):
            for s in demarc_seen[mode]:
                e, c, _, d = evidence_counts(os.path.join(s["dir"], "evidence"),
                                             marker or "\0", s["ports"], set())
                execs += e
                connects += c
                for k, v in d.items():
                    drops[k] = drops.get(k, 0) + v
        want_e = DEMARC_ROUNDS["exec"] * DEMARC_RUNS * EXECS
        want_c = DEMARC_ROUNDS["connect"] * DEMARC_RUNS * CONNECTS
        print(f"  recorded under demarc run: {execs} of {want_e} storm execs, {connects} of "
              f"{want_c} storm connects, drops {sum(drops.values())} {drops or ''}: "
              f"{'every event' if (execs, connects) == (want_e, want_c) and not drops else 'MISSED'}")
        flows = [udp_flow_packets(os.path.join(r["dir"], "evidence"), r["port"])
                 for r in demarc_seen["udp"]]
        want = ROUNDS * DATAGRAMS
        sent, received = sum(f[0] for f in flows), sum(f[1] for f in flows)
        print(f"  UDP flows sealed under demarc run: {sent} of {want} storm datagrams sent, "
              f"{received} of {want} received: {'every datagram' if sent == received == want else 'MISSED'}")
        paced_events = 2 * paced_rate
        fast_enough = paced_events >= PACED_NEEDED
        ok = forks == paced_forks and not paced_drops and fast_enough
        print(f"  paced fork storm: {paced_rate:.0f} forks/s for {PACED_SECONDS} s "
              f"({paced_events:.0f} events/s): {forks} of {paced_forks} forks recorded, "
              f"drops {sum(paced_drops.values())}: {'met' if ok else 'MISSED'}"
              f"{'' if fast_enough else f' (the generator fell short of {PACED_NEEDED} events/s)'}")
        for mode in ("exec", "connect"):
            cpu = statistics.median(s["cpu_ms_per_1000"] for s in demarc_seen[mode])
            wakeups = statistics.median(s["wakeups_per_1000"] for s in demarc_seen[mode])
            print(f"  agent CPU per 1000 events, {mode} storm: {cpu:.1f} ms; reader wakeups "
                  f"(IRQ work interrupts) per 1000 events: {wakeups:.1f}")
        hwm = max([s["hwm"] for m in demarc_seen.values() for s in m] + [paced_hwm])
        print(f"  agent peak RSS over all runs: {hwm / 1024:.1f} MiB  target < 50 MB: "
              f"{'met' if hwm * 1024 < 50e6 else 'MISSED'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

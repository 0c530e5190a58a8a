#!/usr/bin/env python3
"""How fast demarc report and demarc timeline read a day's worth of evidence
from one busy instance: about a million records, recorded by the real agent
(a loopback connect storm: four records per connection, plus its own scan
and heartbeats). Prints records per second and peak RSS of each command
beside `demarc verify` of the same folder (the floor: both verify first).

usage: report_bench.py DEMARC STORM RULES"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

CONNECTIONS = 250_000  # x4 records


def timed(argv):
    """Runs argv; returns (seconds, peak RSS in MiB)."""
    start = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, _, usage = os.wait4(p.pid, 0)
    seconds = time.monotonic() - start
    return seconds, usage.ru_maxrss / 1024


def main():
    if os.geteuid() != 0:
        print("report bench: needs root (the agent's probes); skipped")
        return 0
    demarc, storm, rules = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="demarc-report-bench-")
    try:
        evidence = os.path.join(work, "evidence")
        config = os.path.join(work, "demarc.yaml")
        with open(config, "w") as f:
            f.write(f"agent:\n  state_dir: {work}/state\nsinks:\n  directory:\n    path: {evidence}\n"
                    f"    fsync: false\njournal:\n  fsync: false\n"
                    f"posture:\n  scan_interval: 0s\n  rule_packs: [{rules}]\n")
        agent = subprocess.Popen([demarc, "run", "--config", config, "--log-format", "plain"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seen = ""
        while "posture scan" not in seen:
            line = agent.stderr.readline()
            if not line:
                raise SystemExit("agent died: " + seen)
            seen += line
        for _ in range(CONNECTIONS // 50_000):
            subprocess.run([storm, "connect", "50000"], check=True, capture_output=True)
        time.sleep(3)
        agent.terminate()
        agent.wait()
        records = 0
        size = 0
        for root, _, files in os.walk(evidence):
            for name in files:
                path = os.path.join(root, name)
                size += os.path.getsize(path)
                with open(path, "rb") as f:
                    records += sum(1 for _ in f) - 2  # header and seal lines
        print(f"report and timeline over one instance's evidence: {records} records, "
              f"{size / 1e6:.0f} MB (recorded by demarc run during {CONNECTIONS} loopback connections):")
        rows = [("demarc verify", [demarc, "verify", evidence]),
                ("demarc report", [demarc, "report", evidence, "--json", os.devnull,
                                   "--html", os.devnull]),
                ("demarc timeline", [demarc, "timeline", evidence, "--json"]),
                ("timeline --comm", [demarc, "timeline", evidence, "--comm", "bench_storm"])]
        for name, argv in rows:
            seconds, rss = timed(argv)
            line = f"  {name:17s} {seconds:6.2f} s  {records / seconds / 1e3:7.0f}k records/s  peak RSS {rss:6.1f} MiB"
            if name != "demarc verify":
                ok = seconds < 10 and rss < 200
                line += f"  target < 10 s and < 200 MB: {'met' if ok else 'MISSED'}"
            print(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

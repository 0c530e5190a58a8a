#!/usr/bin/env python3
"""Posture scan speed, measured side by side in one run:
  1. `demarc scan --root` against `oscap xccdf eval` (OSCAP_PROBE_ROOT) on the
     same misconfigured Debian root, each limited to the rules both cover;
  2. a full `demarc scan` of this live host (every shipped rule).
Medians of several runs; targets: at least 10x faster than oscap, under 1 s live.

usage: scan_bench.py DEMARC_BINARY RULES_DIR"""

import shutil
import statistics
import sys
import time
import subprocess

sys.path.insert(0, __file__.rsplit("/tests/", 1)[0] + "/tests/support")
import scap  # noqa: E402

RUNS = 5


def main():
    binary, rules_dir = sys.argv[1], sys.argv[2]
    work = scap.workdir()
    try:
        root = scap.misconfigured_copy(work)
        available = scap.available_ssg_rules()
        mapping = {rid: [s for s in ssg if s in available]
                   for rid, ssg in scap.demarc_rules(rules_dir).items()}
        mapping = {rid: ssg for rid, ssg in mapping.items() if ssg}
        ssg_ids = {s for ssg in mapping.values() for s in ssg}
        oscap_times, demarc_times = [], []
        for _ in range(RUNS):
            oscap_times.append(scap.run_oscap(root, ssg_ids, work)[1])
            demarc_times.append(scap.run_demarc(binary, root, rules_dir, sorted(mapping))[1])
        live = []
        for _ in range(RUNS):
            start = time.monotonic()
            proc = subprocess.run([binary, "scan", "--rules", rules_dir, "--json"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            live.append(time.monotonic() - start)
            if proc.returncode not in (0, 1):
                raise RuntimeError(proc.stderr.decode())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    o, d, l = (statistics.median(x) for x in (oscap_times, demarc_times, live))
    print(f"scan of a Debian root, {len(mapping)} demarc rules / {len(ssg_ids)} SSG rules covered by both "
          f"(median of {RUNS}):")
    print(f"  oscap xccdf eval       {o * 1000:8.0f} ms")
    print(f"  demarc scan --root     {d * 1000:8.0f} ms")
    print(f"  demarc is {o / d:.1f}x faster (target: at least 10x)")
    print(f"full scan of this live host, every shipped rule (median of {RUNS}): "
          f"{l * 1000:.0f} ms wall, process start included (target: under 1000 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""demarc report and demarc timeline on evidence the real agent recorded.

The agent runs with its probes while this test makes known activity: a
three-level process tree (sh -> sh -> python3) started from a known folder,
whose last process connects to a loopback port this test listens on; then
the agent is frozen (SIGSTOP) for longer than its heartbeats allow while a
marker process runs, and thawed. Then the questions of the issue, asked of
the evidence: what did process X start, which processes talked to address A,
what ran as root, what happened in the gap; the report's figures against the
scan summary; and a tampered batch, which must be named and left out.

usage: report_timeline_test.py DEMARC RULES"""

import base64
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))
import browser  # noqa: E402

HEARTBEAT_S = 1
ALLOWED_SILENCE_S = 2 * HEARTBEAT_S + 10  # as demarc verify measures it


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print("ok: " + message)


def demarc_json(demarc, *args, expect_rc=(0, 1)):
    r = subprocess.run([demarc, *args], capture_output=True, text=True)
    if r.returncode not in expect_rc:
        fail(f"demarc {' '.join(args)} exited {r.returncode}: {r.stderr}")
    return json.loads(r.stdout), r


def wait_for(proc, text, timeout=60):
    seen = ""
    deadline = time.time() + timeout
    while text not in seen:
        line = proc.stderr.readline()
        if not line or time.time() > deadline:
            fail(f"agent did not say '{text}': {seen[-2000:]}")
        seen += line


def main():
    demarc, rules = sys.argv[1:3]
    if os.geteuid() != 0:
        print("report_timeline_test: needs root for the probes; skipped")
        return 0
    work = pathlib.Path(tempfile.mkdtemp(prefix="demarc-report-"))
    try:
        run(demarc, rules, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS")
    return 0


def run(demarc, rules, work):
    evidence = work / "evidence"
    config = work / "demarc.yaml"
    config.write_text(f"agent:\n  state_dir: {work}/state\n  heartbeat_interval: {HEARTBEAT_S}s\n"
                      f"sinks:\n  directory:\n    path: {evidence}\n"
                      f"posture:\n  scan_interval: 0s\n  rule_packs: [{rules}]\n")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    tree_dir = work / "known folder"
    tree_dir.mkdir()
    marker = f"demarc-tree-{os.getpid()}"

    agent = subprocess.Popen([demarc, "run", "--config", str(config), "--log-format", "plain"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(agent, "posture scan")
        time.sleep(0.5)
        # sh -> sh -> python3, which connects to the listener and sends 5 bytes.
        client = (f"import socket; s = socket.create_connection(('127.0.0.1', {port})); "
                  f"s.sendall(b'hello'); s.close()")
        subprocess.run(["sh", "-c", f"sh -c \"python3 -c \\\"{client}\\\" {marker}\"; true",
                        "outer-" + marker], cwd=tree_dir, check=True)
        conn, _ = listener.accept()
        conn.recv(16)
        conn.close()
        time.sleep(2.5)  # sealed and past a heartbeat
        # A gap: the agent frozen longer than its heartbeats allow; a
        # process runs meanwhile (the ring buffer keeps its events).
        agent.send_signal(signal.SIGSTOP)
        time.sleep(1)
        subprocess.run(["/bin/echo", "inside-the-gap-" + marker], check=True,
                       stdout=subprocess.DEVNULL)
        time.sleep(ALLOWED_SILENCE_S + 1)
        agent.send_signal(signal.SIGCONT)
        time.sleep(3)
    finally:
        agent.send_signal(signal.SIGCONT)
        agent.terminate()
        agent.wait(timeout=30)
        listener.close()

    # The report: verification first, then posture by framework.
    report, r = demarc_json(demarc, "report", str(evidence), "--json", "-",
                            "--html", str(work / "report.html"))
    v = report["verification"]
    check(r.returncode == 1 and not v["ok"], "the report says the evidence has a defect (the gap)")
    gaps = v["agents"][0]["heartbeat_gaps"]
    check(len(gaps) == 1 and "no batch for" in gaps[0]["message"],
          f"the heartbeat gap is in the verification section: {gaps}")
    check(v["agents"][0]["batches_verified"] == v["agents"][0]["batches_found"],
          "every batch verified (a gap is not a bad batch)")
    inst = report["instances"][0]
    scans = inst["charts"]["scans"]
    check(len(scans) == 1, "one posture scan in the evidence")
    check((inst["pass"], inst["fail"]) == (scans[0]["pass"], scans[0]["fail"]),
          f"pass/fail {inst['pass']}/{inst['fail']} equal the scan summary's")
    frameworks = {f["key"]: f for f in inst["frameworks"]}
    check(set(frameworks) == {"cis", "nist_800_53", "pci_dss_4", "iso_27001_2022", "hipaa"},
          "five frameworks")
    for key, f in frameworks.items():
        check(f["pass"] + f["fail"] > 0 and sum(c["pass"] + c["fail"] for c in f["controls"]) ==
              f["pass"] + f["fail"], f"{key}: per-control counts add up ({f['pass']}/{f['fail']})")
    failing = inst["failing"]
    check(len(failing) == inst["fail"] and all(f["observed"] or f["source"] for f in failing),
          f"{len(failing)} failing findings, each with what was observed and where")
    check(inst["score"] == round(100 * inst["pass"] / (inst["pass"] + inst["fail"]), 1),
          f"score {inst['score']}%")
    html = (work / "report.html").read_text()
    check("DEFECTS FOUND" in html and f"{inst['score']:g}%" in html and "<script src" not in html
          and "http://" not in html.replace("http://www.w3.org", ""),
          "the HTML page carries the verdict and the score, and loads nothing")

    # What did process X start: the outer sh's subtree.
    tl, _ = demarc_json(demarc, "timeline", str(evidence), "--json")
    procs = tl["processes"]
    outer = [p for p in procs if p["argv"][-1:] == ["outer-" + marker]]
    check(len(outer) == 1, "the outer sh of the known tree is in the timeline")
    sub, _ = demarc_json(demarc, "timeline", str(evidence), "--exec-id", outer[0]["exec_id"], "--json")
    names = [(p["executable"].rsplit("/", 1)[-1], p["cwd"]) for p in sub["processes"]]
    check(names == [("sh", str(tree_dir))] * 2 + [("python3", str(tree_dir))],
          f"--exec-id gives the tree the process started, and nothing else: {names}")
    py = [p for p in sub["processes"] if p["executable"].endswith("python3")]
    check(len(py) == 1 and py[0]["argv"][-1] == marker and py[0]["cwd"] == str(tree_dir),
          f"the third level with its arguments and folder: {py[0]['argv'] if py else None}")
    by_id = {p["exec_id"]: p for p in sub["processes"]}
    depth, p = 0, py[0]
    while p["parent_exec_id"] in by_id:
        p, depth = by_id[p["parent_exec_id"]], depth + 1
    check(depth == 2 and p["exec_id"] == outer[0]["exec_id"], "three levels: python3 -> sh -> sh")
    closes = [c for c in py[0]["connections"] if c["kind"] == "close"]
    check(any(c["remote_port"] == port and c["bytes_sent"] == 5 for c in closes),
          f"its connection to port {port} with the 5 bytes it sent")

    # Which processes talked to address A (and port).
    talk, _ = demarc_json(demarc, "timeline", str(evidence), "--addr", "127.0.0.1",
                          "--port", str(port), "--json")
    check({p["exec_id"] for p in talk["processes"]} >= {py[0]["exec_id"]} and
          all(c["remote_port"] == port or c["local_port"] == port
              for p in talk["processes"] for c in p["connections"]),
          f"--addr/--port: {[(p['comm'], p['pid']) for p in talk['processes']]}")

    # What ran as root since the test started.
    root, _ = demarc_json(demarc, "timeline", str(evidence), "--uid", "0", "--json")
    check(py[0]["exec_id"] in {p["exec_id"] for p in root["processes"]} and
          all(p["uid"] == 0 or p["euid"] == 0 for p in root["processes"]),
          f"--uid 0: {len(root['processes'])} processes, all root")

    # What happened in the gap.
    gap, _ = demarc_json(demarc, "timeline", str(evidence), "--around-gap", "--json")
    inside = [p for p in gap["processes"] if p["argv"][-1:] == ["inside-the-gap-" + marker]]
    check(len(gap["gaps"]) == 1 and len(inside) == 1 and py[0]["exec_id"] not in
          {p["exec_id"] for p in gap["processes"]},
          f"--around-gap: the window {gap['window']} holds the process run in the gap, "
          "not the earlier tree")
    text = subprocess.run([demarc, "timeline", str(evidence), "--exec-id", outer[0]["exec_id"]],
                          capture_output=True, text=True).stdout
    check("  └ " in text and marker in text and f":{port}" in text and "!! evidence gap" in text,
          "the terminal view: an indented tree with the connection and the gap")

    # In a browser, as a person reads them.
    subprocess.run([demarc, "timeline", str(evidence), "--exec-id", outer[0]["exec_id"],
                    "--html", str(work / "timeline.html")], capture_output=True)
    with browser.Browser() as b:
        b.open((work / "report.html").as_uri())
        shown = {css: b.text(b.find(css)[0]) for css in
                 ("#verification-result", ".score", ".pass-count", ".fail-count", ".high-count")}
        check(shown == {"#verification-result": "DEFECTS FOUND", ".score": f"{inst['score']:g}%",
                        ".pass-count": str(inst["pass"]), ".fail-count": str(inst["fail"]),
                        ".high-count": str(inst["open_high"])},
              f"the rendered report shows the verdict and the key figures: {shown}")
        check(len(b.find("table.findings tr")) == inst["fail"] + 1 and
              len(b.find("details.framework")) == 5,
              "a row per failing finding and a section per framework")
        width, height, rows = b.screenshot()
        pixels = [px for row in rows for px in row]
        near = lambda px, rgb: all(abs(a - b) < 24 for a, b in zip(px, rgb))  # noqa: E731
        red = sum(1 for px in pixels if near(px, (0xc6, 0x28, 0x28)))
        green = sum(1 for px in pixels if near(px, (0x2e, 0x7d, 0x32)))
        inked = sum(1 for px in pixels if sum(px) < 600)
        check(red > 300 and green > 300 and inked > len(pixels) // 50,
              f"the screenshot ({width}x{height}) shows the page and its charts: {red} red, "
              f"{green} green, {inked} inked pixels")
        pdf = base64.b64decode(b._s("POST", "/print", {"background": True}))
        check(pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2,
              f"it prints to PDF ({len(pdf)} bytes, {pdf.count(b'/Type /Page') - 1}+ pages)")

        b.open((work / "timeline.html").as_uri())
        rows = b.find(".row")
        check(len(rows) == 3, f"the timeline page draws the three processes ({len(rows)} rows)")
        py_row = b.find(f".row[data-exec-id='{py[0]['exec_id']}']")[0]
        b.click(py_row)
        detail = b.text(b.find("#detail")[0])
        check(f"127.0.0.1:{port}" in detail and "sent 5 B" in detail,
              f"clicking a process shows its connections: {detail[-160:]!r}")
        toggle = b.find(f".row[data-exec-id='{outer[0]['exec_id']}'] .toggle")[0]
        b.click(toggle)
        hidden = not b.displayed(py_row)
        b.click(toggle)
        check(hidden and b.displayed(py_row), "a subtree collapses and expands")

    # A batch changed after sealing is named and left out; the rest stays.
    tampered = work / "tampered"
    shutil.copytree(evidence, tampered)
    gap_marker = "inside-the-gap-" + marker
    batch = next(f for f in sorted(tampered.rglob("*.jsonl")) if gap_marker in f.read_text())
    batch.write_text(batch.read_text().replace(gap_marker, gap_marker.upper()))
    report2, _ = demarc_json(demarc, "report", str(tampered), "--json", "-")
    kinds = [d["kind"] for d in report2["verification"]["agents"][0]["defects"]]
    check("modified_payload" in kinds and "unknown_key" not in kinds,
          f"the tampered batch is named: {kinds}")
    tl2, _ = demarc_json(demarc, "timeline", str(tampered), "--json")
    argvs = [" ".join(p["argv"]) for p in tl2["processes"]]
    check(not any(gap_marker.lower() in a.lower() for a in argvs) and
          any(marker in a for a in argvs),
          "its records are not in the timeline; the other batches' are")

if __name__ == "__main__":
    sys.exit(main())

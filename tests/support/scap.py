"""Shared by the OpenSCAP comparison test and the scan benchmark: a cached
Debian 11 root made with debootstrap, deliberate misconfigurations, and
running `oscap xccdf eval` and `demarc scan --root` on it.

Debian 11 because Debian 12's SCAP Security Guide package (0.1.65) ships
content for Debian 11 and older only."""

import json
import os
import shutil
import subprocess
import tempfile
import time

CACHE = os.environ.get("DEMARC_TEST_CACHE", "/var/cache/demarc-test")
SUITE = "bullseye"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = "openssh-server,sudo,auditd,cron,rsyslog"
DATASTREAM = "/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml"
SSG_PREFIX = "xccdf_org.ssgproject.content_rule_"


def cached_root(suite=SUITE, packages=PACKAGES):
    """A pristine debootstrap'd root of suite with packages, built once per
    machine (a few minutes)."""
    root = os.path.join(CACHE, f"{suite}-{packages.replace(',', '-')}")
    if os.path.isdir(root):
        return root
    os.makedirs(CACHE, exist_ok=True)
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"building {root} with debootstrap (cached for later runs)", flush=True)
    subprocess.run(["debootstrap", "--variant=minbase", f"--include={packages}", suite, tmp, MIRROR],
                   check=True, stdout=subprocess.DEVNULL)
    os.rename(tmp, root)
    return root


def write(root, path, text, mode=None):
    full = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(full, mode)


def misconfigured_copy(workdir):
    """A copy of the cached root with known problems (and a few fixes)."""
    root = os.path.join(workdir, "root")
    subprocess.run(["cp", "-a", cached_root(), root], check=True)
    # Problems.
    with open(os.path.join(root, "etc/ssh/sshd_config"), "a") as f:
        f.write("\nPermitRootLogin yes\nMaxAuthTries 10\nPermitEmptyPasswords yes\n")
    os.chmod(os.path.join(root, "etc/shadow"), 0o644)
    os.chmod(os.path.join(root, "etc/group"), 0o666)
    write(root, "/etc/sysctl.d/90-unsafe.conf",
          "net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.accept_redirects = 1\n")
    with open(os.path.join(root, "etc/passwd"), "a") as f:
        f.write("toor:x:0:0:second root:/root:/bin/bash\n")
    with open(os.path.join(root, "etc/shadow"), "a") as f:
        f.write("toor::19000:0:99999:7:::\n")
    # Things done right.
    write(root, "/etc/modprobe.d/cramfs.conf", "install cramfs /bin/false\nblacklist cramfs\n")
    write(root, "/etc/sysctl.d/60-good.conf",
          "net.ipv4.tcp_syncookies = 1\nkernel.randomize_va_space = 2\n"
          "net.ipv4.icmp_echo_ignore_broadcasts = 1\n")
    os.chmod(os.path.join(root, "etc/crontab"), 0o600)
    return root


def demarc_rules(rules_dir):
    """demarc rule id -> the SSG rule ids it names, from the shipped packs."""
    out = {}
    for name in sorted(os.listdir(rules_dir)):
        with open(os.path.join(rules_dir, name)) as f:
            doc = yaml_load(f.read())
        for r in doc["rules"]:
            ssg = r.get("references", {}).get("ssg", [])
            if ssg:
                out[r["id"]] = ssg
    return out


def yaml_load(text):
    import yaml  # python3-yaml, installed with Debian's python3 tooling
    return yaml.safe_load(text)


def available_ssg_rules():
    ids = set()
    with open(DATASTREAM) as f:
        for line in f:
            start = line.find(SSG_PREFIX)
            while start >= 0:
                end = start + len(SSG_PREFIX)
                while end < len(line) and (line[end].isalnum() or line[end] in "_-"):
                    end += 1
                ids.add(line[start + len(SSG_PREFIX):end])
                start = line.find(SSG_PREFIX, end)
    return ids


def tailoring(path, ssg_ids):
    selects = "\n".join(
        f'    <xccdf:select idref="{SSG_PREFIX}{i}" selected="true"/>' for i in sorted(ssg_ids))
    # CIS values where the SSG defaults differ.
    values = {"sshd_max_auth_tries_value": "4", "var_sshd_max_sessions": "10",
              "var_sshd_set_keepalive": "3", "var_sshd_set_maxstartups": "10:30:60",
              "var_sshd_set_login_grace_time": "60", "var_auditd_max_log_file_action": "keep_logs"}
    sets = "\n".join(
        f'    <xccdf:set-value idref="xccdf_org.ssgproject.content_value_{k}">{v}</xccdf:set-value>'
        for k, v in values.items())
    with open(path, "w") as f:
        f.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<xccdf:Tailoring xmlns:xccdf="http://checklists.nist.gov/xccdf/1.2" id="xccdf_demarc_tailoring_compare">
  <xccdf:benchmark href="{DATASTREAM}"/>
  <xccdf:version time="2026-01-01T00:00:00">1</xccdf:version>
  <xccdf:Profile id="xccdf_demarc_profile_compare">
    <xccdf:title>rules demarc also checks</xccdf:title>
{selects}
{sets}
  </xccdf:Profile>
</xccdf:Tailoring>
""")


def run_oscap(root, ssg_ids, workdir):
    """SSG rule id -> pass/fail/notapplicable/..., and the wall time."""
    path = os.path.join(workdir, "tailoring.xml")
    tailoring(path, ssg_ids)
    env = dict(os.environ, OSCAP_PROBE_ROOT=root)
    start = time.monotonic()
    proc = subprocess.run(["oscap", "xccdf", "eval", "--tailoring-file", path, "--profile",
                           "xccdf_demarc_profile_compare", DATASTREAM],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.monotonic() - start
    # Bytes, not text mode: oscap writes "Rule\r\tID" and universal newlines
    # would split that line in two.
    stdout = proc.stdout.decode(errors="replace")
    stderr = proc.stderr.decode(errors="replace")
    results = {}
    rule = None
    for line in stdout.split("\n"):
        words = line.split()  # "Rule\r\tID", "Result\r\tpass"
        if len(words) == 2 and words[0] == "Rule":
            rule = words[1].removeprefix(SSG_PREFIX)
        elif len(words) == 2 and words[0] == "Result" and rule:
            results[rule] = words[1]
            rule = None
    if not results:
        raise RuntimeError(f"oscap evaluated nothing (exit {proc.returncode}): {stderr[-2000:]}")
    return results, elapsed


def run_demarc(binary, root, rules_dir, rule_ids=None):
    args = [binary, "scan", "--root", root, "--rules", rules_dir, "--json"]
    for r in rule_ids or []:
        args += ["--rule", r]
    start = time.monotonic()
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"demarc scan failed ({proc.returncode}): {proc.stderr}")
    doc = json.loads(proc.stdout)
    statuses = {f["rule_id"]: f["status"].removeprefix("CHECK_STATUS_").lower()
                for f in doc["findings"]}
    return statuses, elapsed, doc


def workdir():
    return tempfile.mkdtemp(prefix="demarc-scap-")

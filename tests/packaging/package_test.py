#!/usr/bin/python3
"""Builds the .deb and .rpm (cpack) and checks them as an operator would:
contents and modes, conffiles / %config(noreplace), maintainer scripts;
then installs the .deb on this machine (root) and checks the installed
files, the state folder, `demarc --version`, `demarc config check`, the
unit (`systemd-analyze verify` and `systemd-analyze security`, exposure at
most 3.2: 0.2 of it is perf_event_open, which the probes' tracepoints need), that an upgrade keeps a changed config and the state, that
removal keeps the state and purge deletes it. A demarc state or config
folder already on the machine is set aside and put back.

usage: package_test.py BUILD_DIR"""

import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys
import tempfile

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(*argv, **kw):
    return subprocess.run(list(argv), capture_output=True, text=True, **kw)


def main():
    build = pathlib.Path(sys.argv[1]).resolve()
    out = pathlib.Path(tempfile.mkdtemp(prefix="demarc-pkg-"))
    r = run("cpack", "-G", "DEB;RPM", "-B", str(out), cwd=build)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        sys.exit("cpack failed")
    deb = next(out.glob("*.deb"))
    rpm = next(out.glob("*.rpm"))
    check_deb(deb)
    check_rpm(rpm)
    aside = pathlib.Path(tempfile.mkdtemp(prefix="demarc-aside-"))
    moved = []
    for p in (pathlib.Path("/var/lib/demarc"), pathlib.Path("/etc/demarc")):
        if p.exists():
            shutil.move(str(p), str(aside / p.name))
            moved.append(p)
    try:
        install_and_check(deb)
    finally:
        run("dpkg", "--purge", "demarc")
        for p in moved:
            shutil.rmtree(p, ignore_errors=True)
            shutil.move(str(aside / p.name), str(p))
    shutil.rmtree(out, ignore_errors=True)
    if failures:
        sys.exit(f"{len(failures)} package check(s) failed")


def check_deb(deb):
    listing = run("dpkg-deb", "-c", str(deb)).stdout
    modes = {}
    for line in listing.splitlines():
        fields = line.split()
        modes[fields[-1].lstrip(".")] = fields[0]
    for path, mode in (("/usr/bin/demarc", "-rwxr-xr-x"), ("/etc/demarc/demarc.yaml", "-rw-r--r--"),
                       ("/usr/lib/systemd/system/demarc.service", "-rw-r--r--"),
                       ("/usr/share/demarc/rules/40-ssh.yaml", "-rw-r--r--"),
                       ("/usr/share/doc/demarc/README.md", "-rw-r--r--")):
        check(modes.get(path) == mode, f"deb: {path} {mode} (got {modes.get(path)})")
    check(not any(p.startswith("/var/lib/demarc/") for p in modes),
          "deb: ships nothing inside /var/lib/demarc (made at install)")
    ctrl = pathlib.Path(tempfile.mkdtemp())
    run("dpkg-deb", "-e", str(deb), str(ctrl))
    check((ctrl / "conffiles").read_text().split() == ["/etc/demarc/demarc.yaml"],
          "deb: /etc/demarc/demarc.yaml is a conffile")
    for script in ("postinst", "prerm", "postrm"):
        st = (ctrl / script).stat()
        check(bool(st.st_mode & stat.S_IXUSR), f"deb: {script} is executable")
    control = (ctrl / "control").read_text()
    check("libbpf1" in control and "libsystemd0" in control,
          "deb: depends on the shared libraries it links (libbpf1, libsystemd0, ...)")
    shutil.rmtree(ctrl)


def check_rpm(rpm):
    config = run("rpm", "-qp", "--configfiles", str(rpm)).stdout.split()
    check(config == ["/etc/demarc/demarc.yaml"], f"rpm: config files {config}")
    dump = run("rpm", "-qp", "--dump", str(rpm)).stdout
    files = {line.split()[0]: line.split() for line in dump.splitlines()}
    check("/usr/bin/demarc" in files and files["/usr/bin/demarc"][4] == "0100755",
          "rpm: /usr/bin/demarc mode 0755")
    check("/usr/lib/systemd/system/demarc.service" in files, "rpm: the unit")
    check("/usr/share/demarc/rules/40-ssh.yaml" in files, "rpm: the rule packs")
    flags = run("rpm", "-qp", "--queryformat", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]",
                str(rpm)).stdout
    check(re.search(r"^/etc/demarc/demarc.yaml c?n", flags, re.M) is not None or
          "/etc/demarc/demarc.yaml cn" in flags, "rpm: %config(noreplace) on the config")
    scripts = run("rpm", "-qp", "--scripts", str(rpm)).stdout
    check("postinstall scriptlet" in scripts and "/var/lib/demarc" in scripts,
          "rpm: postinstall makes /var/lib/demarc")


def install_and_check(deb):
    r = run("dpkg", "-i", str(deb))
    check(r.returncode == 0, "dpkg -i " + (r.stderr.strip()[-300:] if r.returncode else ""))
    st = os.stat("/var/lib/demarc")
    check(stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0, "/var/lib/demarc is 0700 root")
    version = run("/usr/bin/demarc", "--version")
    check(version.returncode == 0 and version.stdout.startswith("demarc "),
          f"demarc --version: {version.stdout.strip()}")
    cfg = run("/usr/bin/demarc", "config", "check", "/etc/demarc/demarc.yaml")
    check(cfg.returncode == 0, "demarc config check /etc/demarc/demarc.yaml " + cfg.stderr[-300:])
    unit = "/usr/lib/systemd/system/demarc.service"
    verify = run("systemd-analyze", "verify", unit)
    complaints = [l for l in (verify.stdout + verify.stderr).splitlines() if "demarc" in l]
    check(verify.returncode == 0 and not complaints, f"systemd-analyze verify: {complaints}")
    security = run("systemd-analyze", "security", "--offline=true", "--no-pager", unit)
    m = re.search(r"Overall exposure level for demarc.service: ([0-9.]+)", security.stdout)
    # perf_event_open (in @debug) is allowed: plain tracepoints attach
    # through it (the privilege events on kernels in lockdown). That is the
    # 0.2 above the 3.0 the unit scored while it was, wrongly, denied.
    check(m is not None and float(m.group(1)) <= 3.2,
          f"systemd-analyze security: exposure {m.group(1) if m else '?'} (at most 3.2)")

    # An upgrade keeps a changed config (conffile) and the state.
    with open("/etc/demarc/demarc.yaml", "a") as f:
        f.write("# changed by the operator\n")
    pathlib.Path("/var/lib/demarc/signing.key").write_text("key\n")
    r = run("dpkg", "-i", "--force-confold", str(deb))
    check(r.returncode == 0, "dpkg -i again (upgrade)")
    check("# changed by the operator" in pathlib.Path("/etc/demarc/demarc.yaml").read_text(),
          "upgrade keeps the changed config")
    check(pathlib.Path("/var/lib/demarc/signing.key").exists(), "upgrade keeps the state")
    run("dpkg", "--remove", "demarc")
    check(not pathlib.Path("/usr/bin/demarc").exists(), "remove deletes the binary")
    check(pathlib.Path("/var/lib/demarc/signing.key").exists(), "remove keeps the signing key")
    run("dpkg", "--purge", "demarc")
    check(not pathlib.Path("/var/lib/demarc").exists() and not pathlib.Path("/etc/demarc").exists(),
          "purge deletes the state and the config")


if __name__ == "__main__":
    main()

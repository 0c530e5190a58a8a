#!/usr/bin/python3
"""The AMI bake and the cloud-init example in packaging/ami:

- demarc.pkr.hcl is formatted HCL (packer fmt -check) and validates
  (packer validate) with Debian's packer 1.6.6, whose Amazon builder
  predates two settings the template uses (metadata_options,
  imds_support): those two are left out of the validated copy and checked
  to be present in the template;
- the config the bake writes and the one cloud-init writes both pass
  `demarc config check`; the bake runs the pre-publish scan with --fail-on;
- cloud-init.yaml is YAML, #cloud-config, and uses known modules only.

usage: ami_test.py SOURCE_DIR DEMARC"""

import pathlib
import re
import subprocess
import sys
import tempfile

import yaml

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def config_check(demarc, text, what):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    r = subprocess.run([demarc, "config", "check", f.name], capture_output=True, text=True)
    pathlib.Path(f.name).unlink()
    check(r.returncode == 0, f"{what} passes demarc config check {r.stderr.strip()[-300:]}")


def main():
    top = pathlib.Path(sys.argv[1])
    demarc = sys.argv[2]
    ami = top / "packaging/ami"
    template = (ami / "demarc.pkr.hcl").read_text()

    r = subprocess.run(["packer", "fmt", "-check", str(ami / "demarc.pkr.hcl")],
                       capture_output=True, text=True)
    check(r.returncode == 0, "packer fmt -check " + r.stdout + r.stderr)
    check("http_tokens                 = \"required\"" in template and
          "imds_support = \"v2.0\"" in template, "the image requires IMDSv2")
    old = re.sub(r"  metadata_options \{.*?\n  \}\n", "", template, flags=re.S)
    old = old.replace('  imds_support = "v2.0"\n', "")
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "demarc.pkr.hcl"
        path.write_text(old)
        r = subprocess.run(["packer", "validate", "-var", "region=eu-west-1", "-var",
                            "evidence_bucket=evidence", "-var", "package=/etc/hostname",
                            str(path)], capture_output=True, text=True)
        check(r.returncode == 0, "packer validate " + r.stdout + r.stderr)
    baked = re.search(r"<<'YAML'\\n(.*?)\\nYAML", template, re.S)
    check(baked is not None, "the bake writes /etc/demarc/demarc.yaml")
    if baked:
        text = baked.group(1).replace("\\n", "\n")
        text = (text.replace("${var.evidence_bucket}", "my-evidence")
                .replace("${var.evidence_prefix}", "demarc")
                .replace("${var.log_group}", "/demarc/evidence")
                .replace("${var.region}", "eu-west-1"))
        config_check(demarc, text + "\n", "the baked config")
    check(re.search(r'demarc scan --root / --fail-on \$\{var.fail_on\}', template) is not None,
          "the pre-publish step scans the image and fails on var.fail_on")

    text = (ami / "cloud-init.yaml").read_text()
    check(text.startswith("#cloud-config\n"), "cloud-init: #cloud-config")
    data = yaml.safe_load(text)
    known = {"write_files", "runcmd", "packages", "package_update", "bootcmd"}
    check(set(data) <= known, f"cloud-init: modules {sorted(data)}")
    files = {f["path"]: f for f in data.get("write_files", [])}
    check("/etc/demarc/demarc.yaml" in files, "cloud-init writes /etc/demarc/demarc.yaml")
    if "/etc/demarc/demarc.yaml" in files:
        config_check(demarc, files["/etc/demarc/demarc.yaml"]["content"], "cloud-init's config")
    commands = [" ".join(c) if isinstance(c, list) else c for c in data.get("runcmd", [])]
    check(any("systemctl enable --now demarc.service" in c for c in commands),
          "cloud-init enables and starts the service")
    if failures:
        sys.exit(f"{len(failures)} AMI check(s) failed")


if __name__ == "__main__":
    main()

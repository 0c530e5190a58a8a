#!/usr/bin/python3
"""An independent round trip for the S3 sink: the agent uploads to s3rver
(npm; a different S3 implementation than the tests' own fake, which checks
signatures against its S3RVER/S3RVER keys), then the AWS CLI downloads the
objects and `demarc verify` checks them, and they must equal the local
folder's batches byte for byte. `demarc verify s3://` also reads them from
s3rver directly.

usage: s3rver_roundtrip.py DEMARC S3RVER AWS"""

import gzip
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def main():
    demarc, s3rver, aws = sys.argv[1:4]
    work = pathlib.Path(tempfile.mkdtemp(prefix="demarc-s3rver-"))
    (work / "data").mkdir()
    server = subprocess.Popen([s3rver, "-d", str(work / "data"), "-a", "127.0.0.1", "-p", "0",
                               "--configure-bucket", "evidence"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        run(demarc, aws, work, server)
    finally:
        server.kill()
        server.wait()


def run(demarc, aws, work, server):
    deadline = time.time() + 30
    port = None
    while port is None and time.time() < deadline:
        line = server.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            port = m.group(1)
    if port is None:
        fail("s3rver did not start")
    endpoint = f"http://127.0.0.1:{port}"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="S3RVER", AWS_SECRET_ACCESS_KEY="S3RVER",
               AWS_SHARED_CREDENTIALS_FILE=str(work / "none"), AWS_CONFIG_FILE=str(work / "none"),
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    config = work / "demarc.yaml"
    config.write_text(f"""agent:
  state_dir: {work}/state
  heartbeat_interval: 200ms
evidence:
  batch_max_age: 50ms
sinks:
  directory:
    path: {work}/evidence
  s3:
    enabled: true
    bucket: evidence
    prefix: fleet
posture:
  rule_packs: [{pathlib.Path(__file__).resolve().parents[1]}/data/rules/minimal.yaml]
telemetry:
  process_events: false
  network_events: false
  privilege_events: false
  udp_flows: false
aws:
  region: us-east-1
  s3_endpoint: {endpoint}
""")
    log = open(work / "agent.log", "w+")
    agent = subprocess.Popen([demarc, "run", "--config", str(config), "--log-format", "plain",
                              "--log-level", "debug"], stdout=log, stderr=subprocess.STDOUT,
                             env=env)
    deadline = time.time() + 30
    while time.time() < deadline and "delivered batch 6 to s3" not in (work / "agent.log").read_text():
        time.sleep(0.1)
    agent.send_signal(signal.SIGTERM)
    if agent.wait(timeout=30) != 0:
        fail("the agent did not stop cleanly:\n" + (work / "agent.log").read_text())
    text = (work / "agent.log").read_text()
    delivered = set(re.findall(r"delivered batch (\d+) to s3", text))
    if len(delivered) < 6:
        fail("fewer than 6 batches reached s3rver:\n" + text[-3000:])

    # The AWS CLI reads them back.
    down = work / "downloaded"
    cli = subprocess.run([aws, "--endpoint-url", endpoint, "s3", "cp", "--recursive",
                          "s3://evidence/fleet", str(down)], env=env, capture_output=True,
                         text=True)
    if cli.returncode != 0:
        fail("aws s3 cp: " + cli.stderr)
    objects = sorted(down.rglob("*.jsonl.gz"))
    if len(objects) < 6:
        fail(f"the AWS CLI found {len(objects)} objects")
    unpacked = work / "unpacked"
    matched = 0
    for obj in objects:
        rel = obj.relative_to(down)
        parts = dict(p.split("=", 1) for p in rel.parts[:-1])
        if set(parts) != {"account", "region", "instance", "dt"}:
            fail(f"{rel}: not a Hive-style key")
        body = gzip.decompress(obj.read_bytes())
        target = unpacked / rel.parent / obj.name[:-3]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        local = work / "evidence" / parts["instance"] / parts["dt"] / obj.name[:-3]
        if local.exists():
            if local.read_bytes() != body:
                fail(f"{rel} differs from the local folder's {local}")
            matched += 1
    if matched < 6:
        fail(f"only {matched} objects could be compared with the local folder")
    verify = subprocess.run([demarc, "verify", str(unpacked)], capture_output=True, text=True)
    if verify.returncode != 0:
        fail("demarc verify of the downloaded objects:\n" + verify.stdout + verify.stderr)
    remote = subprocess.run([demarc, "verify", "s3://evidence/fleet", "--region", "us-east-1",
                             "--endpoint", endpoint], capture_output=True, text=True, env=env)
    if remote.returncode != 0:
        fail("demarc verify s3:// on s3rver:\n" + remote.stdout + remote.stderr)
    print(f"ok: {len(objects)} objects uploaded to s3rver, read back with the AWS CLI, "
          f"{matched} equal to the local batches, verified both ways")


if __name__ == "__main__":
    main()

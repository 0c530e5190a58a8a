#!/usr/bin/python3
"""The IAM policies in packaging/iam: valid JSON policy documents whose
actions all exist (an operation in botocore's model of the service, or an
IAM action known to be named otherwise), and which allow every AWS call the
sources make: the agent's (sinks and EC2 posture calls) for the instance
role, `demarc verify`'s readers for the auditor.

usage: iam_test.py SOURCE_DIR"""

import json
import pathlib
import re
import sys

import botocore.loaders

# IAM actions that are not an API operation's name, with the operation.
IAM_ONLY = {"s3:ListBucket": "ListObjectsV2"}

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def actions_of(policy):
    out = set()
    for st in policy["Statement"]:
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        out.update(acts)
    return out


def main():
    top = pathlib.Path(sys.argv[1])
    loader = botocore.loaders.Loader()
    operations = {}

    def operation_exists(action):
        service, name = action.split(":", 1)
        if service not in operations:
            operations[service] = set(loader.load_service_model(service, "service-2")["operations"])
        return IAM_ONLY.get(action, name) in operations[service]

    policies = {}
    for name in ("instance-role-policy.json", "auditor-policy.json"):
        text = (top / "packaging/iam" / name).read_text()
        try:
            policy = json.loads(text)
        except ValueError as e:
            check(False, f"{name}: not JSON: {e}")
            continue
        policies[name] = policy
        check(policy.get("Version") == "2012-10-17", f"{name}: Version 2012-10-17")
        for st in policy["Statement"]:
            check(st.get("Effect") == "Allow" and "Resource" in st and "Sid" in st,
                  f"{name}: {st.get('Sid')}: Allow, Sid and Resource")
        for action in sorted(actions_of(policy)):
            check(re.fullmatch(r"[a-z0-9]+:[A-Za-z]+", action) is not None and
                  operation_exists(action), f"{name}: {action} is a real action")

    src = top / "agent"
    agent_calls = {"s3:PutObject"} if 'r.method = "PUT"' in (src / "sinks/s3_sink.cpp").read_text() else set()
    for f in (src / "sinks").glob("*.cpp"):
        agent_calls |= {"logs:" + a for a in re.findall(r'logsCall\(\*client_, "(\w+)"', f.read_text())}
    agent_calls |= {"ec2:" + a for a in re.findall(r'ec2Call\(client, "(\w+)"',
                                                    (src / "aws/ec2.cpp").read_text())}
    reader_calls = {"logs:" + a for a in re.findall(r'(?:logsCall|forEachPage)\(\s*client, "(\w+)"',
                                                     (src / "aws/logs.cpp").read_text())}
    s3_reader = (src / "aws/s3.cpp").read_text()
    if "list-type=2" in s3_reader:
        reader_calls.add("s3:ListBucket")
    if "getS3Object" in s3_reader:
        reader_calls.add("s3:GetObject")
    check(len(agent_calls) >= 7 and len(reader_calls) >= 4, "the sources' calls were found")
    role = actions_of(policies.get("instance-role-policy.json", {"Statement": []}))
    auditor = actions_of(policies.get("auditor-policy.json", {"Statement": []}))
    check(agent_calls <= role, f"the instance role allows the agent's calls {sorted(agent_calls)}"
          f" (missing {sorted(agent_calls - role)})")
    check(reader_calls <= auditor, f"the auditor policy allows verify's calls {sorted(reader_calls)}"
          f" (missing {sorted(reader_calls - auditor)})")
    check(not any(a.startswith("s3:Delete") or a == "s3:GetObject" for a in role),
          "the instance role cannot read or delete evidence")
    check(not any(a.startswith(("s3:Put", "logs:Put", "logs:Create")) for a in auditor),
          "the auditor policy writes nothing")
    if failures:
        sys.exit(f"{len(failures)} IAM check(s) failed")


if __name__ == "__main__":
    main()

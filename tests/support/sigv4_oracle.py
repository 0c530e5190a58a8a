#!/usr/bin/python3
"""Signs requests with botocore (Debian's python3-botocore), the reference
the agent's SigV4 signer is tested against.

usage: sigv4_oracle.py CASES.json
CASES.json is a list of {method, url, headers: [[name, value]...], body,
access_key, secret_key, token, region, service, time: "YYYYmmddTHHMMSSZ"};
prints a list of {header name (lower case): value} after signing."""

import datetime
import json
import sys
import types

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(case):
    fixed = datetime.datetime.strptime(case["time"], "%Y%m%dT%H%M%SZ")

    class FixedClock(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed

    # botocore reads the clock inside add_auth; the same instant for both.
    botocore.auth.datetime = types.SimpleNamespace(datetime=FixedClock)
    request = AWSRequest(method=case["method"], url=case["url"],
                         headers=dict(case["headers"]), data=case["body"].encode())
    credentials = Credentials(case["access_key"], case["secret_key"], case["token"] or None)
    auth_class = botocore.auth.S3SigV4Auth if case["service"] == "s3" else botocore.auth.SigV4Auth
    auth_class(credentials, case["service"], case["region"]).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    json.dump([sign(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()

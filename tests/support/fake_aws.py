#!/usr/bin/python3
"""Local fakes of the AWS services demarc talks to, for its tests: S3,
CloudWatch Logs, EC2 and the instance metadata service (IMDSv2), on one
loopback port.

Every signed request's SigV4 signature is checked with botocore (Debian's
python3-botocore), independently of the agent's signer: the fake signs the
request it received (same method, path, query, signed headers and body, at
the request's X-Amz-Date) with the secret it knows for the access key and
compares. The service is told by the credential scope. Requests are also
checked against the service's rules and limits (Content-MD5 and checksums,
PutLogEvents sizes, counts, order and span, ...). A request that breaks one
gets the service's error reply and is listed as a violation, so a test can
assert there were none.

usage: fake_aws.py [--key ID=SECRET ...] [--list-page N] [--logs-page N]
                   [--ec2-dir DIR] [--identity JSON]
Prints "port N" on stdout once listening.

Control endpoints (unsigned, for the test):
  POST /__fake/faults   JSON list of faults ([] clears), each applied to the next
                        matching requests: {"action": "PutObject" (or "*",
                        or "imds:token"), "kind": ..., "times": N,
                        "seconds": S}. kinds: 500, slowdown (503 SlowDown),
                        throttle, reset (connection reset, no reply),
                        timeout (no reply for S seconds), expired (expired
                        credentials; IMDS then serves new ones), truncated
                        (a 200 reply cut short), html (a 200 text/html
                        page), huge (a 200 reply of S MiB), delay (the
                        normal reply, after S seconds; the request is
                        applied first), lost-reply (the request is
                        applied, then the connection is reset).
  GET  /__fake/state    JSON: counts per action, violations, conflicts (S3
                        keys written again with other bytes), in_flight
                        (requests being answered), faults_left,
                        faults_applied, objects (key -> size).
  GET  /__fake/object?bucket=B&key=K   the stored bytes.
"""

import argparse
import base64
import datetime
import hashlib
import json
import socket
import struct
import threading
import time
import types
import urllib.parse
import xml.sax.saxutils
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_EVENT_BYTES = 262144  # a PutLogEvents event, message plus 26
MAX_CALL_BYTES = 1048576
MAX_EVENTS = 10000
EVENT_OVERHEAD = 26
DAY_MS = 24 * 3600 * 1000


class Fault:
    def __init__(self, spec):
        self.action = spec.get("action", "*")
        self.kind = spec["kind"]
        self.times = int(spec.get("times", 1))
        self.seconds = float(spec.get("seconds", 0))


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.keys = dict(k.split("=", 1) for k in args.key)
        self.tokens = {}  # session token -> expired?
        self.list_page = args.list_page
        self.logs_page = args.logs_page
        self.ec2_dir = args.ec2_dir
        self.identity = json.loads(args.identity) if args.identity else {
            "instanceId": "i-0fa4e", "accountId": "111122223333",
            "region": "eu-west-1", "imageId": "ami-0fa4e"}
        self.role_generation = 1
        self.imds_tokens = set()
        self.faults = []
        self.applied = []  # "ACTION:KIND" of each fault applied, in order
        self.counts = {}
        self.violations = []
        self.conflicts = []
        self.in_flight = 0
        self.objects = {}  # (bucket, key) -> bytes
        self.first_write = {}  # (bucket, key) -> sha256 of the first write
        self.groups = {}  # name -> {"streams": {name: [(ts, seq, message)]}}
        self.ingest = 0
        self.role_credentials()

    def role_credentials(self):
        gen = self.role_generation
        key, secret, token = f"ASIAROLE{gen}", f"role-secret-{gen}", f"role-token-{gen}"
        self.keys[key] = secret
        self.tokens.setdefault(token, False)
        return key, secret, token

    def take_fault(self, action):
        with self.lock:
            for f in self.faults:
                if f.times > 0 and f.action in ("*", action):
                    f.times -= 1
                    self.applied.append(f"{action}:{f.kind}")
                    return f
        return None


class Reject(Exception):
    def __init__(self, status, code, message, violation=True):
        super().__init__(message)
        self.status, self.code, self.message, self.violation = status, code, message, violation


def check_signature(state, method, raw_path, headers, body):
    """The service named by the credential scope, after botocore agrees
    with the request's signature."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        raise Reject(403, "MissingAuthenticationToken", "no SigV4 Authorization header")
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    key_id, day, region, service, terminator = fields["Credential"].split("/")
    if terminator != "aws4_request":
        raise Reject(403, "IncompleteSignature", "credential scope does not end in aws4_request")
    secret = state.keys.get(key_id)
    if secret is None:
        raise Reject(403, "InvalidAccessKeyId", f"unknown access key {key_id}")
    token = headers.get("x-amz-security-token")
    if token is not None and token not in state.tokens:
        raise Reject(403, "InvalidToken", "unknown session token")
    amz_date = headers.get("x-amz-date", "")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        raise Reject(403, "IncompleteSignature", f"bad X-Amz-Date '{amz_date}'")
    if amz_date[:8] != day:
        raise Reject(403, "SignatureDoesNotMatch", "credential scope date is not X-Amz-Date's")
    skew = abs((datetime.datetime.utcnow() - when).total_seconds())
    if skew > 15 * 60:
        raise Reject(403, "RequestTimeTooSkewed", f"request time is {skew:.0f} s off")
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed:
        raise Reject(403, "SignatureDoesNotMatch", "host is not signed")
    if service == "s3":
        if headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
            raise Reject(400, "XAmzContentSHA256Mismatch", "x-amz-content-sha256 is not the body's")
    # botocore signs every header it is given (but x-amz-date and the token,
    # which it sets): give it exactly the signed ones.
    to_sign = {n: headers[n] for n in signed if n in headers and n not in ("x-amz-date",
                                                                           "x-amz-security-token")}
    if len([n for n in signed if n in headers]) != len(signed):
        raise Reject(403, "SignatureDoesNotMatch", "a signed header is missing")

    class FixedClock(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

    request = AWSRequest(method=method, url="http://" + headers["host"] + raw_path,
                         headers=to_sign, data=body)
    with signing_lock:
        botocore.auth.datetime = types.SimpleNamespace(datetime=FixedClock)
        auth_class = botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth
        auth_class(Credentials(key_id, secret, token), service, region).add_auth(request)
    expected = request.headers["Authorization"]
    if expected != auth:
        raise Reject(403, "SignatureDoesNotMatch",
                     f"botocore signs this request as {expected!r}, got {auth!r}")
    if token is not None and state.tokens.get(token):
        raise Reject(400, "ExpiredToken", "The security token included in the request is expired",
                     violation=False)
    return service, region


signing_lock = threading.Lock()


def xml_error(code, message):
    e = xml.sax.saxutils.escape
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{e(code)}</Code>"
            f"<Message>{e(message)}</Message><RequestId>fake</RequestId></Error>").encode()


def ec2_error(code, message):
    e = xml.sax.saxutils.escape
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
            f"<Code>{e(code)}</Code><Message>{e(message)}</Message></Error></Errors>"
            f"<RequestID>fake</RequestID></Response>").encode()


def json_error(code, message):
    return json.dumps({"__type": code, "message": message}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set in main

    def log_message(self, *args):
        pass

    # --- plumbing ---------------------------------------------------------
    def reply(self, status, body=b"", content_type="application/xml", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def handle_any(self):
        st = self.state
        body = self.body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path
        if path.startswith("/__fake/"):
            return self.control(path, body)
        with st.lock:
            st.in_flight += 1
        try:
            self.dispatch(path, headers, body)
        finally:
            with st.lock:
                st.in_flight -= 1

    def dispatch(self, path, headers, body):
        st = self.state
        if path.startswith("/latest/"):
            return self.imds(path, headers)
        action = "?"
        service = None
        try:
            service, region = check_signature(st, self.command, path, headers, body)
            action, handler = self.route(service, path, headers, body)
            with st.lock:
                st.counts[action] = st.counts.get(action, 0) + 1
            fault = st.take_fault(action)
            if fault and fault.kind == "delay":
                result = handler()
                time.sleep(fault.seconds)
                return self.reply(*result)
            if fault and self.apply_fault(fault, service, handler):
                return
            return self.reply(*handler())
        except Reject as r:
            if r.violation:
                with st.lock:
                    st.violations.append(f"{self.command} {path} ({action}): {r.code}: {r.message}")
            if service == "logs" or (service is None and "x-amz-target" in headers):
                return self.reply(r.status, json_error(r.code, r.message),
                                  "application/x-amz-json-1.1")
            if service == "ec2":
                return self.reply(r.status, ec2_error(r.code, r.message))
            return self.reply(r.status, xml_error(r.code, r.message))

    def apply_fault(self, fault, service, handler=None):
        """Answers with the fault; False when the request goes on."""
        st = self.state
        kind = fault.kind
        if kind == "500":
            self.reply(500, json_error("InternalFailure", "injected")
                       if service == "logs" else xml_error("InternalError", "injected"))
        elif kind == "slowdown":
            self.reply(503, xml_error("SlowDown", "Please reduce your request rate."))
        elif kind == "throttle":
            if service == "logs":
                self.reply(400, json_error("ThrottlingException", "Rate exceeded"),
                           "application/x-amz-json-1.1")
            elif service == "ec2":
                self.reply(503, ec2_error("RequestLimitExceeded", "Request limit exceeded."))
            else:
                self.reply(503, xml_error("SlowDown", "Please reduce your request rate."))
        elif kind == "expired":
            with st.lock:
                for t in st.tokens:
                    st.tokens[t] = True
                st.role_generation += 1
                st.role_credentials()
            if service == "logs":
                self.reply(400, json_error("ExpiredTokenException", "The security token included "
                                           "in the request is expired"),
                           "application/x-amz-json-1.1")
            elif service == "ec2":
                self.reply(400, ec2_error("RequestExpired", "Request has expired."))
            else:
                self.reply(400, xml_error("ExpiredToken", "The provided token has expired."))
        elif kind == "reset":
            self.reset()
        elif kind == "lost-reply":  # applied, then the connection drops
            handler()
            self.reset()
        elif kind == "timeout":
            time.sleep(fault.seconds)
            self.reset()
        elif kind == "truncated":
            full = b"<?xml version=\"1.0\"?><ListBucketResult><Contents><Key>a</Key>"
            if service == "logs":
                full = b'{"rejectedLogEventsInfo": {"tooOldLogEv'
            self.reply(200, full, "application/x-amz-json-1.1" if service == "logs"
                       else "application/xml")
        elif kind == "html":
            self.reply(200, b"<html><body><h1>Proxy error</h1></body></html>", "text/html")
        elif kind == "huge":
            size = int(fault.seconds * (1 << 20))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b"x" * (1 << 16)
            try:
                sent = 0
                while sent < size:
                    self.wfile.write(chunk[:size - sent])
                    sent += len(chunk)
            except OSError:
                pass
        else:
            raise ValueError(f"unknown fault kind {kind}")
        return True

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def control(self, path, body):
        st = self.state
        if path == "/__fake/faults":
            faults = json.loads(body)
            with st.lock:
                st.faults = [Fault(f) for f in faults] + st.faults if faults else []
            return self.reply(200, b"{}", "application/json")
        if path == "/__fake/state":
            with st.lock:
                out = {"counts": st.counts, "violations": st.violations,
                       "conflicts": st.conflicts, "in_flight": st.in_flight,
                       "faults_left": sum(f.times for f in st.faults),
                       "faults_applied": st.applied,
                       "objects": {f"{b}/{k}": len(v) for (b, k), v in st.objects.items()}}
            return self.reply(200, json.dumps(out).encode(), "application/json")
        if path.startswith("/__fake/object?"):
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
            with st.lock:
                data = st.objects.get((q["bucket"][0], q["key"][0]))
            if data is None:
                return self.reply(404)
            return self.reply(200, data, "application/octet-stream")
        return self.reply(404)

    # --- IMDS -------------------------------------------------------------
    def imds(self, path, headers):
        st = self.state
        if path == "/latest/api/token":
            if self.command != "PUT":
                return self.reply(405)
            fault = st.take_fault("imds:token")
            if fault and self.apply_fault(fault, "imds"):
                return
            ttl = headers.get("x-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                with st.lock:
                    st.violations.append(f"IMDS token PUT with TTL '{ttl}'")
                return self.reply(400)
            token = base64.b64encode(hashlib.sha256(str(time.time()).encode()).digest()).decode()
            with st.lock:
                st.imds_tokens.add(token)
            return self.reply(200, token.encode(), "text/plain")
        token = headers.get("x-aws-ec2-metadata-token")
        if token is None:
            # IMDSv1 is never used for data (credentials, identity); a
            # tokenless request elsewhere tests whether IMDSv1 is refused.
            if "/iam/" in path or "/dynamic/" in path:
                with st.lock:
                    st.violations.append(f"IMDSv1 (no token) used for data: GET {path}")
            return self.reply(401)
        if token not in st.imds_tokens:
            return self.reply(401)
        ident = st.identity
        role = "demarc-role"
        if path == "/latest/dynamic/instance-identity/document":
            doc = dict(ident, availabilityZone=ident["region"] + "a", architecture="x86_64")
            return self.reply(200, json.dumps(doc).encode(), "text/plain")
        if path == "/latest/dynamic/instance-identity/pkcs7":
            return self.reply(200, b"MIIFAKEPKCS7", "text/plain")
        if path == "/latest/meta-data/placement/region":
            return self.reply(200, ident["region"].encode(), "text/plain")
        if path == "/latest/meta-data/instance-id":
            return self.reply(200, ident["instanceId"].encode(), "text/plain")
        if path == "/latest/meta-data/iam/security-credentials/":
            return self.reply(200, role.encode(), "text/plain")
        if path == "/latest/meta-data/iam/security-credentials/" + role:
            with st.lock:
                key, secret, session = st.role_credentials()
            expires = (datetime.datetime.utcnow() + datetime.timedelta(hours=6))
            doc = {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": key,
                   "SecretAccessKey": secret, "Token": session,
                   "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "LastUpdated": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
            return self.reply(200, json.dumps(doc).encode(), "text/plain")
        return self.reply(404, b"", "text/plain")

    # --- routing ----------------------------------------------------------
    def route(self, service, path, headers, body):
        if service == "s3":
            return self.s3_route(path, headers, body)
        if service == "logs":
            target = headers.get("x-amz-target", "")
            if not target.startswith("Logs_20140328."):
                raise Reject(400, "UnknownOperationException", f"X-Amz-Target '{target}'")
            if headers.get("content-type") != "application/x-amz-json-1.1":
                raise Reject(400, "SerializationException",
                             f"Content-Type '{headers.get('content-type')}'")
            action = target.split(".", 1)[1]
            try:
                request = json.loads(body)
            except ValueError as e:
                raise Reject(400, "SerializationException", f"body is not JSON: {e}")
            fn = getattr(self, "logs_" + action, None)
            if fn is None:
                raise Reject(400, "UnknownOperationException", action)
            return action, lambda: (200, json.dumps(fn(request)).encode(),
                                    "application/x-amz-json-1.1")
        if service == "ec2":
            if self.command != "POST" or not headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                raise Reject(400, "InvalidParameterValue", "EC2 queries are form POSTs")
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            action = form.get("Action", ["?"])[0]
            if form.get("Version", [""])[0] != "2016-11-15":
                raise Reject(400, "InvalidParameterValue", f"Version {form.get('Version')}")
            return action, lambda: (200, self.ec2(action))
        raise Reject(400, "InvalidService", f"service {service}")

    # --- S3 ---------------------------------------------------------------
    def s3_route(self, path, headers, body):
        st = self.state
        split = urllib.parse.urlsplit(path)
        parts = split.path.split("/", 2)
        bucket = parts[1]
        key = urllib.parse.unquote(parts[2]) if len(parts) > 2 else ""
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        if self.command == "PUT" and key:
            return "PutObject", lambda: self.s3_put(bucket, key, headers, body)
        if self.command == "GET" and key:
            def get():
                with st.lock:
                    data = st.objects.get((bucket, key))
                if data is None:
                    return 404, xml_error("NoSuchKey", "The specified key does not exist.")
                return 200, data, "application/octet-stream"
            return "GetObject", get
        if self.command == "GET" and query.get("list-type") == ["2"]:
            return "ListObjectsV2", lambda: self.s3_list(bucket, query)
        raise Reject(400, "NotImplemented", f"{self.command} {path}")

    def s3_put(self, bucket, key, headers, body):
        st = self.state
        md5 = headers.get("content-md5")
        if md5 is not None and md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
            raise Reject(400, "BadDigest", "Content-MD5 is not the body's")
        checksum = headers.get("x-amz-checksum-sha256")
        if checksum is not None and checksum != base64.b64encode(
                hashlib.sha256(body).digest()).decode():
            raise Reject(400, "BadDigest", "x-amz-checksum-sha256 is not the body's")
        sse = headers.get("x-amz-server-side-encryption")
        if sse not in (None, "AES256", "aws:kms", "aws:kms:dsse"):
            raise Reject(400, "InvalidArgument", f"x-amz-server-side-encryption '{sse}'")
        if "x-amz-server-side-encryption-aws-kms-key-id" in headers and sse != "aws:kms":
            raise Reject(400, "InvalidArgument", "a KMS key id without aws:kms")
        mode = headers.get("x-amz-object-lock-mode")
        until = headers.get("x-amz-object-lock-retain-until-date")
        if (mode is None) != (until is None):
            raise Reject(400, "InvalidArgument", "object lock mode and date go together")
        if mode is not None:
            if mode not in ("GOVERNANCE", "COMPLIANCE"):
                raise Reject(400, "InvalidArgument", f"object lock mode '{mode}'")
            try:
                d = datetime.datetime.strptime(until[:19], "%Y-%m-%dT%H:%M:%S")
            except ValueError:
                raise Reject(400, "InvalidArgument", f"retain-until date '{until}'")
            if d <= datetime.datetime.utcnow():
                raise Reject(400, "InvalidArgument", "retain-until date in the past")
            if md5 is None and checksum is None:
                raise Reject(400, "InvalidRequest", "Object Lock needs Content-MD5 or a checksum")
        digest = hashlib.sha256(body).hexdigest()
        with st.lock:
            first = st.first_write.setdefault((bucket, key), digest)
            if first != digest:
                st.conflicts.append(f"{bucket}/{key}")
            st.objects[(bucket, key)] = body
        headers = [("ETag", '"' + hashlib.md5(body).hexdigest() + '"')]
        if checksum is not None:
            headers.append(("x-amz-checksum-sha256", checksum))
        return 200, b"", "application/xml", headers

    def s3_list(self, bucket, query):
        st = self.state
        prefix = query.get("prefix", [""])[0]
        start = query.get("continuation-token", [""])[0]
        max_keys = min(int(query.get("max-keys", ["1000"])[0]), st.list_page)
        url = query.get("encoding-type") == ["url"]
        with st.lock:
            keys = sorted((k, len(v)) for (b, k), v in st.objects.items()
                          if b == bucket and k.startswith(prefix) and k > start)
        page, more = keys[:max_keys], len(keys) > max_keys
        e = xml.sax.saxutils.escape
        out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult>"]
        out.append(f"<Name>{e(bucket)}</Name><Prefix>{e(prefix)}</Prefix>")
        out.append(f"<KeyCount>{len(page)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>")
        for k, size in page:
            shown = urllib.parse.quote(k, safe="/~") if url else k
            out.append(f"<Contents><Key>{e(shown)}</Key><Size>{size}</Size></Contents>")
        out.append(f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>")
        if more:
            out.append(f"<NextContinuationToken>{e(page[-1][0])}</NextContinuationToken>")
        if url:
            out.append("<EncodingType>url</EncodingType>")
        out.append("</ListBucketResult>")
        return 200, "".join(out).encode()

    # --- CloudWatch Logs --------------------------------------------------
    def group(self, request):
        name = request.get("logGroupName")
        g = self.state.groups.get(name)
        if g is None:
            raise Reject(400, "ResourceNotFoundException", f"log group {name} does not exist",
                         violation=False)
        return g

    def logs_CreateLogGroup(self, r):
        with self.state.lock:
            if r["logGroupName"] in self.state.groups:
                raise Reject(400, "ResourceAlreadyExistsException", "exists", violation=False)
            self.state.groups[r["logGroupName"]] = {"streams": {}, "kms": r.get("kmsKeyId"),
                                                    "retention": None}
        return {}

    def logs_PutRetentionPolicy(self, r):
        days = r.get("retentionInDays")
        if days not in (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                        1827, 2192, 2557, 2922, 3288, 3653):
            raise Reject(400, "InvalidParameterException", f"retentionInDays {days}")
        with self.state.lock:
            self.group(r)["retention"] = days
        return {}

    def logs_CreateLogStream(self, r):
        with self.state.lock:
            g = self.group(r)
            if r["logStreamName"] in g["streams"]:
                raise Reject(400, "ResourceAlreadyExistsException", "exists", violation=False)
            g["streams"][r["logStreamName"]] = []
        return {}

    def stream(self, r):
        g = self.group(r)
        s = g["streams"].get(r.get("logStreamName"))
        if s is None:
            raise Reject(400, "ResourceNotFoundException",
                         f"log stream {r.get('logStreamName')} does not exist", violation=False)
        return s

    def logs_PutLogEvents(self, r):
        events = r.get("logEvents") or []
        if not events:
            raise Reject(400, "InvalidParameterException", "no logEvents")
        if len(events) > MAX_EVENTS:
            raise Reject(400, "InvalidParameterException", f"{len(events)} events in one call")
        size = sum(len(e["message"].encode()) + EVENT_OVERHEAD for e in events)
        if size > MAX_CALL_BYTES:
            raise Reject(413, "InvalidParameterException", f"{size} bytes in one call")
        for i, e in enumerate(events):
            if len(e["message"].encode()) + EVENT_OVERHEAD > MAX_EVENT_BYTES:
                raise Reject(400, "InvalidParameterException", f"event {i} is too large")
            if not e["message"]:
                raise Reject(400, "InvalidParameterException", f"event {i} is empty")
            if i and e["timestamp"] < events[i - 1]["timestamp"]:
                raise Reject(400, "InvalidParameterException",
                             "Log events in a single PutLogEvents request must be in "
                             "chronological order.")
        if events[-1]["timestamp"] - events[0]["timestamp"] > DAY_MS:
            raise Reject(400, "InvalidParameterException", "the events span more than 24 hours")
        now = int(time.time() * 1000)
        info = {}
        with self.state.lock:
            g = self.group(r)
            s = self.stream(r)
            oldest = now - 14 * DAY_MS
            if g["retention"]:
                oldest = max(oldest, now - g["retention"] * DAY_MS)
            for i, e in enumerate(events):
                if e["timestamp"] < oldest:
                    info["tooOldLogEventEndIndex"] = i
                elif e["timestamp"] > now + 2 * 3600 * 1000:
                    info.setdefault("tooNewLogEventStartIndex", i)
                else:
                    self.state.ingest += 1
                    s.append((e["timestamp"], self.state.ingest, e["message"]))
            s.sort()
        out = {"nextSequenceToken": "0"}
        if info:
            out["rejectedLogEventsInfo"] = info
        return out

    def logs_GetLogEvents(self, r):
        if r.get("startFromHead") is not True:
            raise Reject(400, "InvalidParameterException", "the fake reads from the head only")
        token = r.get("nextToken", "f/0")
        start = int(token.split("/")[1])
        limit = min(int(r.get("limit", 10000)), self.state.logs_page)
        with self.state.lock:
            s = list(self.stream(r))
        page = s[start:start + limit]
        next_token = f"f/{start + len(page)}"
        return {"events": [{"timestamp": t, "message": m, "ingestionTime": t}
                           for t, _, m in page],
                "nextForwardToken": next_token, "nextBackwardToken": f"b/{start}"}

    def logs_DescribeLogStreams(self, r):
        with self.state.lock:
            names = sorted(self.group(r)["streams"])
        prefix = r.get("logStreamNamePrefix", "")
        names = [n for n in names if n.startswith(prefix)]
        start = int(r.get("nextToken", "0"))
        page = names[start:start + 2]
        out = {"logStreams": [{"logStreamName": n} for n in page]}
        if start + 2 < len(names):
            out["nextToken"] = str(start + 2)
        return out

    # --- EC2 --------------------------------------------------------------
    def ec2(self, action):
        if self.state.ec2_dir:
            try:
                with open(f"{self.state.ec2_dir}/{action}.xml", "rb") as f:
                    return f.read()
            except FileNotFoundError:
                pass
        raise Reject(400, "InvalidAction", f"the fake has no reply for {action}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--key", action="append", default=[])
    p.add_argument("--list-page", type=int, default=1000)
    p.add_argument("--logs-page", type=int, default=10000)
    p.add_argument("--ec2-dir")
    p.add_argument("--identity")
    args = p.parse_args()
    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

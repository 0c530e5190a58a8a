#!/usr/bin/python3
"""The fleet queries in packaging/fleet, checked without AWS (no local Athena
or Logs Insights engine installs here):

- athena-table.sql: every struct field is a field of the record message it
  stands for (record.proto), every partition column is projected, and the
  storage template is the S3 sink's key layout;
- athena-queries.sql: each query parses as Athena SQL (node-sql-parser, from
  npm, installed by packaging/setup-deps.sh --test-tools) and uses only
  fields the table declares;
- logs-insights-queries.txt: each stage is an Insights command, brackets
  and quotes balance, and each record field named exists in record.proto.

usage: fleet_queries_test.py SOURCE_DIR NODE_MODULES"""

import json
import pathlib
import re
import subprocess
import sys

failures = []

KINDS = {"header": "BatchHeader", "enrollment": "Enrollment", "finding": "Finding",
         "inventory": "InventoryItem", "scan": "ScanSummary", "process": "ProcessEvent",
         "network": "NetworkEvent", "privilege": "PrivilegeEvent", "heartbeat": "Heartbeat",
         "gap": "Gap"}


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def proto_fields(proto):
    fields = {}
    for m in re.finditer(r"^message (\w+) \{(.*?)^\}", proto, re.M | re.S):
        body = re.sub(r"enum \w+ \{.*?\}", "", m.group(2), flags=re.S)
        fields[m.group(1)] = set(re.findall(r"^\s+(?:repeated\s+)?[\w.<>, ]+?\s(\w+) = \d+", body,
                                            re.M))
    return fields


def struct_fields(ddl):
    """column -> its struct's field names."""
    out = {}
    for m in re.finditer(r"^\s+`?(\w+)`? struct<(.*?)>,?\s*$", ddl, re.M | re.S):
        depth, name, names, token = 0, m.group(1), set(), ""
        for ch in m.group(2):
            if ch == "<":
                depth += 1
            elif ch == ">":
                depth -= 1
            elif ch == "," and depth == 0:
                names.add(token.split(":")[0].strip().strip("`"))
                token = ""
                continue
            token += ch if depth == 0 else ""
        names.add(token.split(":")[0].strip().strip("`"))
        out[name] = names
    return out


def main():
    top = pathlib.Path(sys.argv[1])
    modules = pathlib.Path(sys.argv[2])
    fleet = top / "packaging/fleet"
    fields = proto_fields((top / "agent/evidence/record.proto").read_text())
    ddl = (fleet / "athena-table.sql").read_text()
    columns = struct_fields(ddl)
    check(set(columns) == set(KINDS), f"athena: a column per record kind ({sorted(columns)})")
    for column, names in columns.items():
        unknown = names - fields.get(KINDS.get(column, ""), set())
        check(not unknown, f"athena: {column} fields are {KINDS.get(column)} fields"
              f"{' (unknown: ' + ', '.join(sorted(unknown)) + ')' if unknown else ''}")
    for part in ("account", "region", "instance", "dt"):
        check(f"'projection.{part}.type'" in ddl, f"athena: partition {part} is projected")
    template = re.search(r"'storage.location.template' = '([^']+)'", ddl)
    check(template is not None and template.group(1).endswith(
        "/account=${account}/region=${region}/instance=${instance}/dt=${dt}"),
        "athena: the storage template is the S3 sink's key layout")
    sink = (top / "agent/sinks/s3_sink.cpp").read_text()
    check(all(f'"{p}="' in sink or f"{p}=" in sink for p in ("account", "region", "instance", "dt")),
          "athena: the S3 sink writes account=/region=/instance=/dt= partitions")

    queries = re.split(r"^-- name: (.*)$", (fleet / "athena-queries.sql").read_text(), flags=re.M)
    named = [(queries[i].strip(), queries[i + 1]) for i in range(1, len(queries), 2)]
    check(len(named) >= 5, f"athena: {len(named)} named queries")
    script = ("const {Parser} = require('node-sql-parser'); const p = new Parser();"
              "const qs = JSON.parse(require('fs').readFileSync(0, 'utf8')); const out = [];"
              "for (const q of qs) { try { p.astify(q, {database: 'athena'}); out.push(''); }"
              " catch (e) { out.push(e.message.slice(0, 200)); } }"
              "console.log(JSON.stringify(out));")
    bodies = [re.sub(r"^--.*$", "", body, flags=re.M).strip().rstrip(";") for _, body in named]
    r = subprocess.run(["node", "-e", script], input=json.dumps(bodies), capture_output=True,
                       text=True, env={"NODE_PATH": str(modules), "PATH": "/usr/bin:/bin"})
    check(r.returncode == 0, "node-sql-parser ran " + r.stderr[-300:])
    errors = json.loads(r.stdout) if r.returncode == 0 else [""] * len(named)
    for (name, body), error in zip(named, errors):
        check(error == "", f"athena: '{name}' parses as Athena SQL {error}")
        for kind, field in re.findall(r"\b(" + "|".join(KINDS) + r")\.(\w+)", body):
            check(field in columns.get(kind, set()), f"athena: '{name}': {kind}.{field} is declared")

    text = (fleet / "logs-insights-queries.txt").read_text()
    blocks = re.split(r"^# name: (.*)$", text, flags=re.M)
    insights = [(blocks[i].strip(), re.sub(r"^#.*$", "", blocks[i + 1], flags=re.M).strip())
                for i in range(1, len(blocks), 2)]
    check(len(insights) >= 5, f"insights: {len(insights)} named queries")
    commands = {"fields", "filter", "stats", "sort", "limit", "parse", "display", "dedup"}
    for name, query in insights:
        stages = [s.strip() for s in query.split("|")]
        check(all(s.split()[0] in commands for s in stages if s),
              f"insights: '{name}': every stage is a command")
        check(query.count("(") == query.count(")") and query.count('"') % 2 == 0,
              f"insights: '{name}': brackets and quotes balance")
        for kind, field in re.findall(r"\b(" + "|".join(KINDS) + r")\.(\w+)", query):
            check(field in fields[KINDS[kind]], f"insights: '{name}': {kind}.{field} is a field")
    if failures:
        sys.exit(f"{len(failures)} fleet query check(s) failed")


if __name__ == "__main__":
    main()

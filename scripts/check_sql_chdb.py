#!/usr/bin/env python3
"""Check the ClickHouse SQL on a current ClickHouse engine, in process.

Runs every ClickHouse DDL migration (schemas/sql/clickhouse/NNN_*.sql) in
version order and then every documented ClickHouse query of
docs/queries.sql in chdb (pip install chdb-core; imported as `chdb`), once
on empty tables and once after inserting a few rows that include a
redelivered event. It exits non-zero on the first failure, naming the file,
line and statement. The same files are checked on ClickHouse 18.16 by the
Go tests of internal/store/clickhouse (AGENTWATCH_TEST_CLICKHOUSE).

Usage: python3 scripts/check_sql_chdb.py [repo-root]
"""

import os
import re
import sys
import tempfile

try:
    from chdb import session as chdb_session
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("check_sql_chdb: chdb is not installed; run: pip install chdb-core")

MIGRATION_RE = re.compile(r"^(\d+)_[A-Za-z0-9_]+\.sql$")

# chdb is a current engine, so it accepts what ClickHouse 18.16 (the Debian
# package) does not. These patterns catch the usual newer types and
# clauses before they reach an old server; the Go tests with
# AGENTWATCH_TEST_CLICKHOUSE run everything on a real 18.16.
NOT_ON_18_16 = [
    (re.compile(r"\bDateTime64\b"), "DateTime64 (use DateTime plus a sub-second column)"),
    (re.compile(r"\bDate32\b"), "Date32"),
    (re.compile(r"\bMap\s*\("), "Map (use JSON text or parallel arrays)"),
    (re.compile(r"\bLowCardinality\b"), "LowCardinality"),
    (re.compile(r"\b(JSON|Object)\s*(\(|,|\)|$)", re.M), "the JSON/Object type"),
    (re.compile(r"\bBool\b"), "Bool (use UInt8)"),
    (re.compile(r"\b(U?Int(128|256))\b"), "128/256-bit integers"),
    (re.compile(r"\bIPv[46]\b"), "IPv4/IPv6 types (use String)"),
    (re.compile(r"\bCODEC\s*\("), "column CODECs"),
    (re.compile(r"\bTTL\b"), "TTL (retention drops day partitions)"),
    (re.compile(r"\bSimpleAggregateFunction\b"), "SimpleAggregateFunction"),
    (re.compile(r"\bENGINE\s*=\s*\w*MergeTree\s*\([^)]*,"), "old-style MergeTree engine arguments"),
]


def check_18_16(where, stmt):
    for pattern, what in NOT_ON_18_16:
        if pattern.search(stmt):
            fail(where, stmt, f"uses {what}, which ClickHouse 18.16 does not have")

# A few rows so that joins and aggregates run on data, including one event
# stored twice (a redelivery) and two versions of one baseline.
SEED = [
    "INSERT INTO events (event_id, time, source, agent_id, credential_id, action, system, outcome) VALUES "
    "('e1', now(), 'cloudtrail', 'support-bot', 'AKIA1', 's3:GetObject', 'aws', 'success'), "
    "('e1', now(), 'cloudtrail', 'support-bot', 'AKIA1', 's3:GetObject', 'aws', 'success'), "
    "('e2', now(), 'cloudtrail', 'billing-bot', 'AKIA1', 's3:PutObject', 'aws', 'success')",
    "INSERT INTO agent_baselines (agent_id, feature, p99, version) VALUES "
    "('support-bot', 'events', 0.5, 1), ('support-bot', 'events', 5, 2)",
    "INSERT INTO agent_playground (agent_id, kind, system, action, count, version) VALUES "
    "('support-bot', 'triple', 'aws', 's3:GetObject', 3, 1), ('support-bot', 'triple', 'aws', 's3:GetObject', 4, 2)",
    "INSERT INTO alerts (id, owner, severity, status, first_seen, last_seen, version) VALUES "
    "('a1', 'team-a', 'high', 'firing', now(), now(), 1), ('a1', 'team-a', 'high', 'resolved', now(), now(), 2)",
]


def split_statements(text):
    """Mirror of store.SplitStatements: ';' at a line end ends a statement;
    whole-line '--' comments are dropped. Yields (first_line, statement)."""
    cur, start = [], None
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if stripped.startswith("--"):
            continue
        if start is None and stripped:
            start = n
        if stripped.endswith(";"):
            cur.append(line.rstrip().rstrip(";"))
            stmt = "\n".join(cur).strip()
            if stmt:
                yield start, stmt
            cur, start = [], None
            continue
        cur.append(line)
    stmt = "\n".join(cur).strip()
    if stmt:
        yield start, stmt


def parse_queries(text):
    """Mirror of store.ParseQueries. Yields dicts with name, dialect, line, sql."""
    cur, sql = None, []
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if stripped.startswith("-- name:"):
            if cur is not None:
                raise ValueError(f"line {cur['line']}: query {cur['name']} has no terminating semicolon")
            cur, sql = {"name": stripped[len("-- name:"):].strip(), "line": n, "dialect": None, "desc": None}, []
            continue
        if cur is None:
            continue
        if stripped.startswith("--") and not sql:
            body = stripped[2:].strip()
            if body.startswith("dialect:"):
                cur["dialect"] = body[len("dialect:"):].strip()
            elif cur["desc"] is None:
                cur["desc"] = body
            continue
        sql.append(line)
        if stripped.endswith(";"):
            cur["sql"] = "\n".join(sql).strip().rstrip(";")
            if not cur["desc"]:
                raise ValueError(f"line {cur['line']}: query {cur['name']} has no description")
            if cur["dialect"] not in ("clickhouse", "sqlite"):
                raise ValueError(f"line {cur['line']}: query {cur['name']} has dialect {cur['dialect']!r}")
            yield cur
            cur = None
    if cur is not None:
        raise ValueError(f"line {cur['line']}: query {cur['name']} has no terminating semicolon")


def fail(where, stmt, err):
    print(f"FAIL {where}\n---- statement ----\n{stmt}\n---- error ----\n{err}", file=sys.stderr)
    sys.exit(1)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    mig_dir = os.path.join(root, "schemas", "sql", "clickhouse")
    queries_file = os.path.join(root, "docs", "queries.sql")
    with tempfile.TemporaryDirectory(prefix="agentwatch-chdb-") as tmp:
        sess = chdb_session.Session(tmp)
        version = sess.query("SELECT version()", "TabSeparated").bytes().decode().strip()
        print(f"chdb ClickHouse engine {version}", flush=True)
        sess.query("CREATE DATABASE IF NOT EXISTS agentwatch_check")
        sess.query("USE agentwatch_check")

        files = sorted(f for f in os.listdir(mig_dir) if MIGRATION_RE.match(f))
        if not files:
            fail(mig_dir, "", "no NNN_name.sql migrations found")
        statements = 0
        for f in files:
            path = os.path.join(mig_dir, f)
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            for line, stmt in split_statements(text):
                check_18_16(f"{os.path.relpath(path, root)}:{line}", stmt)
                try:
                    sess.query(stmt)
                except Exception as e:  # chdb raises its own error types
                    fail(f"{os.path.relpath(path, root)}:{line}", stmt, e)
                statements += 1
        print(f"ok   {statements} DDL statements from {len(files)} migration(s)", flush=True)

        with open(queries_file, encoding="utf-8") as fh:
            try:
                queries = [q for q in parse_queries(fh.read()) if q["dialect"] == "clickhouse"]
            except ValueError as e:
                fail(os.path.relpath(queries_file, root), "", e)
        if not queries:
            fail(os.path.relpath(queries_file, root), "", "no clickhouse queries found")
        for q in queries:
            check_18_16(f"{os.path.relpath(queries_file, root)}:{q['line']} ({q['name']})", q["sql"])
        for phase in ("empty tables", "seeded tables"):
            if phase == "seeded tables":
                for stmt in SEED:
                    try:
                        sess.query(stmt)
                    except Exception as e:
                        fail("seed rows", stmt, e)
            for q in queries:
                try:
                    sess.query(q["sql"], "TabSeparated")
                except Exception as e:
                    fail(f"{os.path.relpath(queries_file, root)}:{q['line']} ({q['name']}, {phase})", q["sql"], e)
            print(f"ok   {len(queries)} documented queries on {phase}", flush=True)

        # The documented promise: a redelivered event is counted once.
        got = sess.query("SELECT uniqExact(event_id) FROM events WHERE agent_id = 'support-bot'", "TabSeparated").bytes().decode().strip()
        if got != "1":
            fail("redelivery check", "uniqExact(event_id)", f"got {got}, want 1")
        sess.close()
    print("all ClickHouse SQL checks passed")


if __name__ == "__main__":
    main()

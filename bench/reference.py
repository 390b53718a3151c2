"""Reference limits measured on the same machine in the same run.

- Raw XADD with redis-py into the same embedded Redis (append-only, fsync always), one by
  one and in pipelines of 1,000, with payloads of real encoded events.
- Raw INSERT of the very rows the aggregator stored, into a scratch table shaped like the
  `event` table (same columns, keys and indexes), no fold: executemany on SQLite (the
  project's PRAGMAs) and PostgreSQL, and COPY on PostgreSQL; one commit per 1,000 rows,
  the aggregator's batch size.
"""

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from redis import Redis
from sqlalchemy import make_url

from bench.database import libpq, sqlite_connect
from bench.workload import Workload
from shared.events import encode_event

XADD_KEY = "bench:{reference}:events"
PIPELINE = 1000
COMMIT_EVERY = 1000
COLUMNS = (
    "event_id, session_id, type, occurred_at, recorded_at, schema_version, source, position, "
    "payload, stored_at"
)


def payloads(count: int) -> list[bytes]:
    workload = Workload(7)
    at = datetime.now(UTC)
    return [encode_event(workload.event("bench-reference", at, "bench")) for _ in range(count)]


def _timed(seconds: float, step: Callable[[int], int]) -> float:
    """Run `step(n)` (returns how many it did) until `seconds` pass; ops per second."""
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        done += step(done)
    return done / elapsed


def xadd_limits(redis_url: str, seconds: float) -> dict[str, float]:
    data = payloads(5000)
    client = Redis.from_url(redis_url)

    def one(n: int) -> int:
        client.xadd(XADD_KEY, {"event": data[n % len(data)]})
        return 1

    def pipelined(n: int) -> int:
        with client.pipeline(transaction=False) as pipe:
            for k in range(PIPELINE):
                pipe.xadd(XADD_KEY, {"event": data[(n + k) % len(data)]})
            pipe.execute()
        return PIPELINE

    try:
        return {
            "xadd.one.per_s": _timed(seconds, one),
            "xadd.pipelined.per_s": _timed(seconds, pipelined),
        }
    finally:
        client.delete(XADD_KEY)
        client.close()


def insert_limits(database_url: str, session_ids: Sequence[str]) -> dict[str, float]:
    """Rows per second inserting the events these sessions hold into a scratch table."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return _sqlite_limits(database_url, session_ids)
    return _postgres_limits(database_url, session_ids)


def _chunks(rows: Sequence[Any]) -> list[Sequence[Any]]:
    return [rows[n : n + COMMIT_EVERY] for n in range(0, len(rows), COMMIT_EVERY)]


def _sqlite_limits(database_url: str, session_ids: Sequence[str]) -> dict[str, float]:
    conn = sqlite_connect(database_url)
    marks = ", ".join("?" * len(session_ids))
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM event WHERE session_id IN ({marks})",  # noqa: S608
        list(session_ids),
    ).fetchall()
    for (ddl,) in conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'event' AND sql IS NOT NULL"
    ).fetchall():
        conn.execute(_scratch(ddl))
    insert = f"INSERT INTO bench_event ({COLUMNS}) VALUES ({', '.join('?' * 10)})"  # noqa: S608
    started = time.perf_counter()
    for chunk in _chunks(rows):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, chunk)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.execute("DROP TABLE bench_event")
    conn.close()
    return {"insert.executemany.per_s": len(rows) / elapsed, "insert.rows": len(rows)}


def _scratch(ddl: str) -> str:
    """The DDL of the event table or of one of its indexes, for the scratch table."""
    ddl = re.sub(r'"?\bevent\b"?', "bench_event", ddl)
    return re.sub(r"INDEX (IF NOT EXISTS )?(\w+)", r"INDEX \1bench_\2", ddl)


def _postgres_limits(database_url: str, session_ids: Sequence[str]) -> dict[str, float]:
    with psycopg.connect(libpq(database_url)) as conn:
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM event WHERE session_id = ANY(%s)",  # noqa: S608
            [list(session_ids)],
        ).fetchall()
        conn.execute("CREATE TABLE bench_event (LIKE event INCLUDING ALL)")
        conn.commit()
        insert = f"INSERT INTO bench_event ({COLUMNS}) VALUES ({', '.join(['%s'] * 10)})"  # noqa: S608
        started = time.perf_counter()
        for chunk in _chunks(rows):
            with conn.cursor() as cursor:
                cursor.executemany(insert, chunk)
            conn.commit()
        executemany = len(rows) / (time.perf_counter() - started)
        conn.execute("TRUNCATE bench_event")
        conn.commit()
        started = time.perf_counter()
        for chunk in _chunks(rows):
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY bench_event ({COLUMNS}) FROM STDIN") as copy,
            ):
                for row in chunk:
                    copy.write_row(row)
            conn.commit()
        copied = len(rows) / (time.perf_counter() - started)
        conn.execute("DROP TABLE bench_event")
        conn.commit()
    return {
        "insert.executemany.per_s": executemany,
        "insert.copy.per_s": copied,
        "insert.rows": len(rows),
    }

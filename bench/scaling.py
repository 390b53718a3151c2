"""Fold throughput with 1, 2 and 4 aggregator processes in one consumer group (PostgreSQL).

For each shape (many sessions; one hot session whose figures row every fold locks) and
each number of aggregators, on one stack of its own:

1. the event store and projections are emptied, the previous streams deleted;
2. K aggregators are started (`expo aggregator --name bench-scale-K-i`, each on its own
   port) and are ready, following no session yet;
3. a backlog of real encoded events is appended with pipelined XADD to the streams of
   sessions that do not exist yet, so no aggregator reads them;
4. the sessions are created through the admin API: every aggregator follows them from its
   next read (the change mark), all at once;
5. the rate is timed from the first commit to the last (`session_figures.events` summed
   reaches the backlog), while `pg_stat_activity` is sampled every 50 ms to say where the
   aggregators' time goes: outside any transaction (Redis, decoding, acks), inside one on
   the client side, running in PostgreSQL, waiting for a row lock, or for WAL and I/O;
   the machine's CPU and the aggregators' own CPU are read from /proc.

The reference is the raw insert of the very rows stored (bench/reference.py), measured
once per shape in the same run, after the single-aggregator fold.
"""

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from redis import Redis

from bench import reference
from bench.cpu import cpu_ticks, others_seconds, process_seconds
from bench.database import libpq
from bench.stack import Stack, free_port, running_days, wait_until_ready
from bench.workload import Workload
from shared.events import encode_event
from shared.stream import stream_key

Result = dict[str, float]
PIPELINE = 1000
SAMPLE_SECONDS = 0.05
TIMEOUT = 900.0
TABLES = "event, session_figures, attendee_record, deal_record, exhibitor_record, country_ref"
# What one aggregator's transaction is doing, from pg_stat_activity (Lock waits: another
# transaction holds the session's figures row; IO and LWLock: WAL writes and flushes).
ACTIVITY = """
SELECT state, wait_event_type FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend' AND state <> 'idle'
"""


@dataclass(frozen=True)
class Shape:
    name: str  # "many" or "hot"
    sessions: int


def shapes(sessions: int) -> tuple[Shape, Shape]:
    return Shape("many", sessions), Shape("hot", 1)


def backlog(shape: Shape, events: int) -> list[tuple[int, bytes]]:
    """(session index, encoded event) for the whole backlog, sessions interleaved; the
    session id is filled in per configuration (the encoded event names it)."""
    at = datetime.now(UTC)
    workloads = [Workload(100 + n) for n in range(shape.sessions)]
    made = []
    for k in range(events):
        index = k % shape.sessions
        made.append((index, encode_event(workloads[index].event(_PLACEHOLDER, at, "bench"))))
    return made


_PLACEHOLDER = "bench-scale-placeholder"


def _session_ids(shape: Shape, aggregators: int) -> list[str]:
    return [f"scale-{shape.name}-{aggregators}-{n:02d}" for n in range(shape.sessions)]


@dataclass
class Aggregators:
    """K aggregator processes of one configuration."""

    stack: Stack
    count: int
    processes: list[subprocess.Popen[bytes]]

    @classmethod
    def start(cls, stack: Stack, count: int) -> "Aggregators":
        processes = []
        for n in range(count):
            env = {**stack.env, "EXPO_AGGREGATOR_PORT": str(free_port())}
            log = stack.var_dir / f"scale-aggregator-{count}-{n}.log"
            name = f"bench-scale-{count}-{n}"
            command = [sys.executable, "-m", "services.cli", "aggregator", "--name", name]
            with log.open("ab") as out:
                processes.append(subprocess.Popen(command, env=env, stdout=out, stderr=out))
            url = f"http://127.0.0.1:{env['EXPO_AGGREGATOR_PORT']}/readyz"
            wait_until_ready(url, processes[-1], log)
        return cls(stack, count, processes)

    def cpu_seconds(self) -> float:
        return sum(process_seconds(p.pid) for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


@contextmanager
def aggregators(stack: Stack, count: int) -> Iterator[Aggregators]:
    running = Aggregators.start(stack, count)
    try:
        yield running
    finally:
        running.stop()


def _empty(stack: Stack, redis: Redis, old_sessions: list[str]) -> None:
    with psycopg.connect(libpq(stack.database_url)) as conn:
        conn.execute(f"TRUNCATE {TABLES}")
    if old_sessions:
        redis.delete(*(stream_key(s) for s in old_sessions))


def _append(redis: Redis, made: list[tuple[int, bytes]], sessions: list[str]) -> None:
    placeholder = _PLACEHOLDER.encode()
    keys = [stream_key(s) for s in sessions]
    encoded = [s.encode() for s in sessions]
    for start in range(0, len(made), PIPELINE):
        with redis.pipeline(transaction=False) as pipe:
            for index, payload in made[start : start + PIPELINE]:
                event = payload.replace(placeholder, encoded[index], 1)
                pipe.xadd(keys[index], {"event": event})
            pipe.execute()


def _create_sessions(stack: Stack, shape: Shape, count: int, sessions: list[str]) -> None:
    """Created planned, then opened: the first opening moves the change mark, and every
    aggregator's next read follows all of them (all exist by then)."""
    expo = f"scale-{shape.name}-{count}"
    stack.admin("POST", "/v1/expos", {"id": expo, "name": f"Scaling {expo}"})
    for ordinal, session in enumerate(sessions, start=1):
        body = {
            "id": session,
            "ordinal": ordinal,
            "name": f"{ordinal}. {session}",
            **running_days(),
        }
        stack.admin("POST", f"/v1/expos/{expo}/sessions", body)
    for session in sessions:
        stack.admin("PATCH", f"/v1/sessions/{session}", {"status": "open"})


@dataclass
class Window:
    """What was seen while the backlog was folded."""

    rate: float = 0.0
    events: int = 0
    samples: int = 0
    activity: Counter[str] | None = None
    machine_busy: float = 0.0
    aggregator_cpu: float = 0.0
    wal_bytes: float = 0.0  # WAL written while folding, all of it the fold's
    others_busy: float = 0.0  # share of the machine other processes took meanwhile


def _classify(state: str, wait: str | None) -> str:
    if wait == "Lock":
        return "lock"
    if wait in {"IO", "LWLock", "IPC"}:
        return "wal_io"
    if state == "active":
        return "postgres"
    return "client"  # idle in transaction: the aggregator works between two statements


def _watch(stack: Stack, sessions: list[str], expected: int, running: Aggregators) -> Window:
    """Sample until the figures rows hold `expected` events; time first to last commit."""
    window, first = Window(activity=Counter()), None
    cpu0, ticks0, wal0, others0 = 0.0, (0, 0), "", 0.0
    deadline = time.perf_counter() + TIMEOUT
    with psycopg.connect(libpq(stack.database_url), autocommit=True) as conn:
        while time.perf_counter() < deadline:
            row = conn.execute(
                "SELECT COALESCE(SUM(events), 0) FROM session_figures WHERE session_id = ANY(%s)",
                [sessions],
            ).fetchone()
            folded, now = int(row[0] if row else 0), time.perf_counter()
            if folded and first is None:
                first, ticks0, cpu0 = (now, folded), cpu_ticks(), running.cpu_seconds()
                wal0, others0 = _wal(conn), others_seconds()
            if first is not None:
                if folded >= expected:
                    busy, total = cpu_ticks()
                    window.machine_busy = (busy - ticks0[0]) / max(total - ticks0[1], 1)
                    window.wal_bytes = _wal_since(conn, wal0)
                    cores = os.cpu_count() or 1
                    spent = (others_seconds() - others0) / (now - first[0]) / cores
                    window.others_busy = max(0.0, spent)
                    window.aggregator_cpu = running.cpu_seconds() - cpu0
                    window.events = folded - first[1]
                    window.rate = window.events / (now - first[0])
                    return window
                window.samples += 1
                for state, wait in conn.execute(ACTIVITY).fetchall():
                    window.activity[_classify(state, wait)] += 1  # type: ignore[index]
            time.sleep(SAMPLE_SECONDS)
    msg = f"{running.count} aggregators did not fold {expected} events within {TIMEOUT:.0f} s"
    raise RuntimeError(msg)


def _wal(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    return str(row[0]) if row else "0/0"


def _wal_since(conn: psycopg.Connection[Any], start: str) -> float:
    row = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", [start])
    found = row.fetchone()
    return float(found[0]) if found else 0.0


def _storage(database_url: str, events: int) -> Result:
    """Bytes on disk per stored event: the event store with its indexes, the projections."""
    with psycopg.connect(libpq(database_url)) as conn:
        row = conn.execute(
            "SELECT pg_total_relation_size('event'), pg_total_relation_size('session_figures')"
            " + pg_total_relation_size('attendee_record') + pg_total_relation_size('deal_record')"
            " + pg_total_relation_size('exhibitor_record') + pg_total_relation_size('country_ref')"
        ).fetchone()
    stored, projections = (row or (0, 0))[:2]
    return {
        "event_store_bytes_per_event": stored / max(events, 1),
        "projection_bytes_per_event": projections / max(events, 1),
    }


def _figures(shape: Shape, count: int, window: Window) -> Result:
    prefix = f"scale.{shape.name}.{count}"
    activity = window.activity or Counter()
    slots = max(window.samples * count, 1)  # aggregator-time, one transaction each at most
    in_sql = sum(activity.values())
    found = {
        f"{prefix}.per_s": window.rate,
        f"{prefix}.events": float(window.events),
        f"{prefix}.machine_busy": window.machine_busy,
        f"{prefix}.aggregator_cpu_us": 1e6 * window.aggregator_cpu / max(window.events, 1),
        f"{prefix}.outside_sql": max(0.0, 1 - in_sql / slots),
        f"{prefix}.wal_bytes_per_event": window.wal_bytes / max(window.events, 1),
        f"{prefix}.others_busy": window.others_busy,
    }
    for kind in ("client", "postgres", "lock", "wal_io"):
        found[f"{prefix}.{kind}"] = activity[kind] / slots
    return found


def measure(stack: Stack, events: int, sessions: int, say: Callable[[str], None]) -> Result:
    """Every configuration on this stack (its own database and Redis)."""
    stack.halt("aggregator")
    redis = Redis.from_url(stack.redis_url)
    found: Result = {"scale.sessions": float(sessions), "scale.backlog": float(events)}
    old: list[str] = []
    try:
        for shape in shapes(sessions):
            say(f"scaling, {shape.name}: making {events:,} events")
            made = backlog(shape, events)
            for count in (1, 2, 4):
                _empty(stack, redis, old)
                ids = _session_ids(shape, count)
                with aggregators(stack, count) as running:
                    _append(redis, made, ids)
                    _create_sessions(stack, shape, count, ids)
                    window = _watch(stack, ids, events, running)
                found |= _figures(shape, count, window)
                say(
                    f"scaling, {shape.name}, {count} aggregator(s): {window.rate:,.0f} events/s"
                    f", machine CPU {window.machine_busy:.0%}"
                )
                if count == 1:
                    limits = reference.insert_limits(stack.database_url, ids)
                    limits |= _storage(stack.database_url, events)
                    found |= {f"scale.{shape.name}.{k}": v for k, v in limits.items()}
                old = ids
    finally:
        redis.close()
    return found

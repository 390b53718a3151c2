"""One stack's measurements, in the order that keeps them apart: ingest with the aggregator
frozen, the fold of that backlog, the insert limit on the very rows stored, end to end,
freshness, display reads, then the seeded sessions for read cost, and peak RSS last."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from sqlalchemy import bindparam, create_engine, text

from bench import expos, reference, seed, wrk
from bench.expos import Expos
from bench.stack import Stack
from bench.wrk import Load, WrkSettings

Result = dict[str, float]


@dataclass(frozen=True)
class BatchSettings:
    """How the batch load (`bench/load.py`) posts: events a request, requests in flight."""

    size: int = 500
    concurrency: int = 4


@dataclass(frozen=True)
class Plan:
    events_small: int = 10_000
    events_large: int = 1_000_000
    fold_events: int = 30_000
    e2e_events: int = 30_000
    fresh_seconds: float = 15.0
    fresh_rate: float = 2000.0
    batch: BatchSettings = field(default_factory=BatchSettings)
    xadd_seconds: float = 3.0
    totals_reads: int = 300
    scale_events: int = 100_000
    scale_sessions: int = 32
    wrk: WrkSettings = field(default_factory=WrkSettings)


def run_load(mode: str, spec: dict[str, Any]) -> Any:
    """The load generator is its own process (bench/load.py)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", mode, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        msg = f"bench.load {mode} failed:\n{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    return json.loads(done.stdout)


def _stream_lengths(stack: Stack, sessions: Sequence[str]) -> int:
    """Entries in these sessions' streams, once ingest has finished what it had in hand."""
    client = Redis.from_url(stack.redis_url)
    keys = [f"expo:{{{s}}}:events" for s in sessions]
    total, before = 0, -1
    while total != before:
        before = total
        time.sleep(0.3)
        total = sum(int(client.xlen(k)) for k in keys)
    client.close()
    return total


def _wait_folded(stack: Stack, sessions: Sequence[str], expected: int) -> tuple[float, int]:
    """Poll the figures rows while the aggregator folds `expected` events. Returns the
    fold rate from its first commit to its last (the aggregator's start-up is not timed)
    and how many events those commits folded."""
    engine = create_engine(stack.database_url)  # plain reads: no write lock on SQLite
    query = text(
        "SELECT COALESCE(SUM(events), 0) FROM session_figures WHERE session_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    deadline, first = time.perf_counter() + 600, None
    try:
        while time.perf_counter() < deadline:
            with engine.connect() as conn:
                folded = int(conn.execute(query, {"ids": list(sessions)}).scalar_one())
            now = time.perf_counter()
            if folded and first is None:
                first = (now, folded)
            if first is not None and folded >= expected:
                timed = folded - first[1]
                return timed / (now - first[0]) if timed else float("nan"), timed
            time.sleep(0.02)
    finally:
        engine.dispose()
    msg = f"the aggregator did not fold {expected} events within 600 s"
    raise RuntimeError(msg)


def _batch_spec(stack: Stack, made: Expos, session: str, plan: Plan) -> dict[str, Any]:
    return {
        "ingest": stack.url("ingest"),
        "api": stack.url("api"),
        "token": made.batch_token,
        "session_id": session,
        "batch_size": plan.batch.size,
        "concurrency": plan.batch.concurrency,
    }


def ingest_and_fold(stack: Stack, made: Expos, plan: Plan) -> Result:
    """Ingest with the aggregator stopped (so it takes no CPU), then start it and time the
    fold of the backlog: the single events and the batched ones."""
    single, folded = made.sessions["single"], made.sessions["fold"]
    stack.halt("aggregator")
    load = Load(
        stack.url("ingest") + "/v1/checkins",
        headers=(f"Authorization: Bearer {made.desk_token}",),
        checkin_session=single,
    )
    one = wrk.run(load, plan.wrk)
    spec = _batch_spec(stack, made, folded, plan) | {"events": plan.fold_events, "visible": False}
    batched = run_load("batch", spec)
    backlog = _stream_lengths(stack, [single, folded])
    stack.spawn("aggregator")
    rate, timed = _wait_folded(stack, [single, folded], backlog)
    stack.wait_ready("aggregator")
    return {
        "ingest.single.rps": one.rps,
        "ingest.single.p50_ms": one.p50_ms,
        "ingest.single.p99_ms": one.p99_ms,
        "ingest.batch.per_s": batched["ingest_events_per_s"],
        "fold.per_s": rate,
        "fold.events": timed,
    }


def end_to_end(stack: Stack, made: Expos, plan: Plan) -> Result:
    spec = _batch_spec(stack, made, made.sessions["e2e"], plan)
    result = run_load("batch", spec | {"events": plan.e2e_events, "visible": True})
    return {
        "e2e.per_s": result["e2e_events_per_s"],
        "e2e.ingest_per_s": result["ingest_events_per_s"],
    }


def freshness(stack: Stack, made: Expos, plan: Plan) -> Result:
    spec = _batch_spec(stack, made, made.sessions["fresh"], plan) | {
        "batch_size": 20,
        "rate": plan.fresh_rate,
        "seconds": plan.fresh_seconds,
        "poll_ms": 5,
        "drain_seconds": 120,
    }
    result = run_load("fresh", spec)
    return {
        "fresh.p50_ms": result["p50_ms"],
        "fresh.p99_ms": result["p99_ms"],
        "fresh.max_ms": result["max_ms"],
        "fresh.offered_per_s": result["offered_events_per_s"],
        "fresh.poll_ms": result["poll_interval_ms"],
        "fresh.unseen": result["unseen_batches"],
        "fresh.refused": result["refused_batches"],
    }


def _etag(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - our own URL
        etag: str = answer.headers["ETag"]
    request = urllib.request.Request(url, headers={"If-None-Match": etag})  # noqa: S310
    try:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return etag
    msg = f"{url} did not answer 304 to its own ETag"
    raise RuntimeError(msg)


def display(stack: Stack, made: Expos, plan: Plan) -> Result:
    url = f"{stack.url('api')}/v1/display/{made.expo}"
    plain = wrk.run(Load(url), plan.wrk)
    hit = wrk.run(Load(url, headers=(f"If-None-Match: {_etag(url)}",)), plan.wrk)
    return {
        "display.plain.rps": plain.rps,
        "display.plain.p99_ms": plain.p99_ms,
        "display.etag.rps": hit.rps,
        "display.etag.p99_ms": hit.p99_ms,
    }


BREAKDOWN_READ = "/v1/sessions/{session}/breakdown?by=sector&limit=5"


def read_cost(stack: Stack, made: Expos, plan: Plan) -> Result:
    """Seed a small and a large session (made once per bench), then read both totals, and
    both breakdowns by sector."""
    small = seed.prepare(made.small, plan.events_small, 11)
    large = seed.prepare(made.large, plan.events_large, 12)
    stored = seed.store(stack.database_url, small) + seed.store(stack.database_url, large)
    spec = {
        "api": stack.url("api"),
        "sessions": [made.small, made.large],
        "requests": plan.totals_reads,
    }
    result = run_load("latency", spec)
    by_sector = run_load("latency", {**spec, "path": BREAKDOWN_READ})
    return {
        "breakdown.small.p50_ms": by_sector[made.small]["p50_ms"],
        "breakdown.small.p99_ms": by_sector[made.small]["p99_ms"],
        "breakdown.large.p50_ms": by_sector[made.large]["p50_ms"],
        "breakdown.large.p99_ms": by_sector[made.large]["p99_ms"],
        "totals.small.events": plan.events_small,
        "totals.small.p50_ms": result[made.small]["p50_ms"],
        "totals.small.p99_ms": result[made.small]["p99_ms"],
        "totals.large.events": plan.events_large,
        "totals.large.p50_ms": result[made.large]["p50_ms"],
        "totals.large.p99_ms": result[made.large]["p99_ms"],
        "seed.prepare.seconds": small.seconds + large.seconds,
        "seed.store.seconds": stored,
    }


def measure_stack(stack: Stack, plan: Plan, say: Any) -> Result:
    made = expos.create(stack)
    say("raw XADD limits")
    found = reference.xadd_limits(stack.redis_url, plan.xadd_seconds)
    say("ingest (single and batch) with the aggregator stopped, then the fold")
    found |= ingest_and_fold(stack, made, plan)
    say("raw insert limits")
    found |= reference.insert_limits(
        stack.database_url, [made.sessions["single"], made.sessions["fold"]]
    )
    say("end to end")
    found |= end_to_end(stack, made, plan)
    say("freshness")
    found |= freshness(stack, made, plan)
    say("display reads")
    found |= display(stack, made, plan)
    say(f"seeding {plan.events_small:,} and {plan.events_large:,} events, totals latency")
    found |= read_cost(stack, made, plan)
    found |= {f"rss.{name}_mb": mb for name, mb in stack.peak_rss().items()}
    return found


def measure_display(stack: Stack, plan: Plan, say: Any) -> Result:
    """The display rows alone (`--only display`), on the bench's expos with no events."""
    made = expos.create(stack)
    say("display reads")
    return display(stack, made, plan)

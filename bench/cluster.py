"""`python -m bench.cluster`: Expo tally on a local Redis Cluster (three masters, a replica
each, append-only with fsync always) beside one Redis server, on PostgreSQL.

Rows, each measured in this run:
- raw pipelined XADD of encoded events (1,000 per pipeline): into one server, and through
  redis-py's cluster client into 24 session streams spread over the three masters;
- ingest (`events:batch`, 1,000 events per batch, 4 clients, one load process per shard's
  session): into one server, into the cluster, and into the cluster waiting for a replica
  to confirm each append (EXPO_REDIS_WAIT_REPLICAS=1);
- the fold of that backlog by one aggregator process (a server: one blocking read over all
  streams; a cluster: every stream read in one pipeline per round).

Not part of `make test`; results in bench/results/cluster.json. The machine has 2 cores:
the load generator, ingest, aggregator and the Redis processes share them, so the figures
bound what one process does here, not what a cluster of machines does.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from redis import Redis, RedisCluster
from sqlalchemy import insert

from bench.database import scratch_postgres
from bench.reference import PIPELINE, payloads
from bench.stack import BENCH_SETTINGS, free_port, running_days, wait_until_ready
from shared import embedded_redis, migration
from shared.db import make_engine
from shared.runtime import cluster_nodes
from shared.stream import stream_key
from shared.tables import Expo, ExpoSession
from tests.cluster import running

RESULTS = Path(__file__).parent / "results" / "cluster.json"
TOKEN = secrets.token_urlsafe(24)  # EXPO_ADMIN_TOKEN of the services under test
SESSIONS = 24


def say(what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


def raw_xadd(url: str, seconds: float) -> float:
    """Events per second appended by pipelines of 1,000 across the session streams."""
    data = payloads(2000)
    seed = cluster_nodes(url)
    client: Any = RedisCluster.from_url(seed) if seed else Redis.from_url(url)
    keys = [stream_key(f"raw-{n}") for n in range(SESSIONS)]
    done, started = 0, time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            with client.pipeline(transaction=False) as pipe:
                for k in range(PIPELINE):
                    pipe.xadd(keys[k % SESSIONS], {"event": data[(done + k) % len(data)]})
                pipe.execute()
            done += PIPELINE
        return done / (time.perf_counter() - started)
    finally:
        for key in keys:
            client.delete(key)
        client.close()


def sessions(database_url: str) -> list[str]:
    """An expo with open sessions, written straight into SQL (ingest reads them there)."""
    engine = make_engine(database_url)
    migration.upgrade(engine)
    ids = [f"bench-{n}" for n in range(SESSIONS)]
    with engine.begin() as conn:
        conn.execute(insert(Expo), [{"id": "bench", "name": "Bench", "timezone": "Asia/Shanghai"}])
        conn.execute(
            insert(ExpoSession),
            [
                {
                    "id": session,
                    "expo_id": "bench",
                    "ordinal": n + 1,
                    "name": session,
                    **{day: date.fromisoformat(on) for day, on in running_days().items()},
                    "status": "open",
                    "opened_at": datetime.now(UTC),
                }
                for n, session in enumerate(ids)
            ],
        )
    engine.dispose()
    return ids


@contextmanager
def service(name: str, env: dict[str, str], logs: Path) -> Iterator[str]:
    port = free_port()
    variable = {"ingest": "EXPO_INGEST_PORT", "aggregator": "EXPO_AGGREGATOR_PORT"}[name]
    env = {**env, variable: str(port)}
    log = logs / f"{name}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", name], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url + "/readyz", process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def ingest_rate(ingest: str, chosen: list[str], events: int, seed: int) -> float:
    """Events per second acknowledged by one load process per chosen session, together."""
    per = events // len(chosen)
    specs = [
        {
            "ingest": ingest,
            "token": TOKEN,
            "session_id": session,
            "batch_size": 1000,
            "concurrency": 4,
            "events": per,
            "visible": False,
            "seed": seed + n,  # new event ids: the same ones again would be duplicates
        }
        for n, session in enumerate(chosen)
    ]
    started = time.perf_counter()
    loads = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.load", "batch", json.dumps(spec)],
            stdout=subprocess.PIPE,
        )
        for spec in specs
    ]
    accepted = 0
    for load in loads:
        out, _ = load.communicate(timeout=900)
        if load.returncode != 0:
            msg = "bench.load batch failed"
            raise RuntimeError(msg)
        accepted += json.loads(out)["accepted"]
    return accepted / (time.perf_counter() - started)


def folded(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            found = conn.exec_driver_sql("SELECT coalesce(sum(events), 0) FROM session_figures")
            return int(found.scalar_one())
    finally:
        engine.dispose()


def fold_rate(env: dict[str, str], logs: Path, database_url: str, expected: int) -> float:
    """Events per second one aggregator folds a backlog of `expected` events."""
    started = time.perf_counter()
    with service("aggregator", env, logs):
        while (done := folded(database_url)) < expected:
            if time.perf_counter() - started > 900:
                msg = f"folded {done} of {expected} in 900 s"
                raise RuntimeError(msg)
            time.sleep(0.2)
    return expected / (time.perf_counter() - started)


def one_shape(  # noqa: PLR0913 - the knobs of one bench row
    label: str, redis_url: str, server_url: str, events: int, *, wait: int, seed: int
) -> dict[str, Any]:
    """Ingest into `redis_url` on a fresh database, then fold the backlog."""
    with (
        scratch_postgres(server_url, "expo_bench_cluster") as database_url,
        tempfile.TemporaryDirectory() as logs,
    ):
        ids = sessions(database_url)
        chosen = spread(redis_url, ids)
        env = {
            **os.environ,
            **BENCH_SETTINGS,
            "EXPO_DATABASE_URL": database_url,
            "EXPO_REDIS_URL": redis_url,
            "EXPO_ADMIN_TOKEN": TOKEN,
            "EXPO_REDIS_WAIT_REPLICAS": str(wait),
            "EXPO_CONSUMER_NAME": f"bench-{label}",
        }
        say(f"{label}: ingest of {events} events into {len(chosen)} sessions")
        with service("ingest", env, Path(logs)) as ingest:
            ingested = ingest_rate(ingest, chosen, events, seed)
        say(f"{label}: fold of the backlog")
        fold = fold_rate(env, Path(logs), database_url, events - events % len(chosen))
    return {"shape": label, "ingest_events_per_s": ingested, "fold_events_per_s": fold}


def spread(redis_url: str, ids: list[str]) -> list[str]:
    """One session per master (each shard takes a load process), or one for a server."""
    seed = cluster_nodes(redis_url)
    if seed is None:
        return ids[:1]
    client: Any = RedisCluster.from_url(seed)
    try:
        by_node: dict[str, str] = {}
        for session in ids:
            by_node.setdefault(client.get_node_from_key(stream_key(session)).name, session)
        return list(by_node.values())
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="for each raw XADD row")
    args = parser.parse_args()
    server_url = os.environ.get(
        "EXPO_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as work:
        server = embedded_redis.start(Path(work) / "single")
        try:
            single = embedded_redis.url_of(server)
            rows.append({"shape": "one server", "raw_xadd_per_s": raw_xadd(single, args.seconds)})
            rows.append(one_shape("one server", single, server_url, args.events, wait=0, seed=1))
        finally:
            server.stop()
        with running(Path(work) / "cluster") as cluster:
            rows.append({"shape": "cluster", "raw_xadd_per_s": raw_xadd(cluster.url, args.seconds)})
            rows.append(
                one_shape("cluster", cluster.url, server_url, args.events, wait=0, seed=101)
            )
            rows.append(
                one_shape("cluster, WAIT 1", cluster.url, server_url, args.events, wait=1, seed=201)
            )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2))
    print(f"{'shape':18} {'raw XADD/s':>12} {'ingest ev/s':>12} {'fold ev/s':>10}")
    for row in rows:
        print(
            f"{row['shape']:18} {row.get('raw_xadd_per_s', 0):12,.0f} "
            f"{row.get('ingest_events_per_s', 0):12,.0f} {row.get('fold_events_per_s', 0):10,.0f}"
        )


if __name__ == "__main__":
    main()

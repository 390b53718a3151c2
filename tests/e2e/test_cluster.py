"""The pipeline on a real Redis Cluster: three masters, each with a replica, on loopback;
three aggregators in one consumer group on PostgreSQL. Mid-load one aggregator is SIGKILLed
(and stays dead) and one Redis master is SIGKILLed: its replica takes over its slots, and
the killed node, started again, rejoins as a replica. Two ingest replicas take the load
side by side (nothing one needs lives in the other's memory). Ingest acknowledges an event only once
a replica holds it (EXPO_REDIS_WAIT_REPLICAS=1), so the failover loses none, and the figures
equal the pure fold of exactly the acknowledged events."""

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from shared.stream import stream_key
from tests.cluster import LocalCluster, Node, failed_over, running
from tests.conftest import migrated, new_id, postgres_database
from tests.faults.audit import Fault, judge, pending_entries
from tests.faults.load import ADMIN, Load, LoadPlan
from tests.faults.scenario import open_sessions
from tests.faults.stack import Stack
from tests.wait import wait_until

AGGREGATORS = ("aggregator-a", "aggregator-b", "aggregator-c")
VICTIM = AGGREGATORS[2]
CLAIM_IDLE_MS = 1000
SETTINGS = {
    "EXPO_CLAIM_IDLE_MS": str(CLAIM_IDLE_MS),
    "EXPO_FOLD_BATCH_SIZE": "100",
    "EXPO_REDIS_WAIT_REPLICAS": "1",
    "EXPO_REDIS_WAIT_MS": "300",
}


@pytest.fixture(params=["postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database: the production shape at scale."""
    for url in postgres_database():
        migrated(url)
        yield url


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    with running(tmp_path / "cluster", masters=3, replicas=1) as started:
        yield started


@pytest.fixture
def stack(database_url: str, cluster: LocalCluster, tmp_path: Path) -> Iterator[Stack]:
    started = Stack.over_url(tmp_path, database_url, cluster.url)
    try:
        for name in ("api", "ingest"):
            started.add(name, name, **SETTINGS)
        started.add("ingest-2", "ingest", **SETTINGS)  # a second replica behind no balancer
        for name in AGGREGATORS:
            started.add(name, "aggregator", **SETTINGS)
            started.instances[name].args = ["--name", new_id(name)]
        started.start_all()
        yield started
    finally:
        started.close()


def test_a_cluster_with_a_master_and_an_aggregator_killed_counts_every_event_once(
    stack: Stack, cluster: LocalCluster
) -> None:
    sessions = open_sessions(stack, count=6)
    victim_master = cluster.master_of(stream_key(sessions[0]))
    on_it = [s for s in sessions if cluster.master_of(stream_key(s)) is victim_master]
    load = Load(stack.url("ingest"), LoadPlan(sessions, rate=800, batch=50, resend_share=0.05))
    other = Load(stack.url("ingest-2"), LoadPlan(sessions, rate=200, batch=10, seed=7))
    load.start()
    other.start()
    try:
        wait_until(
            lambda: all(stack.fold_batches(name) > 0 for name in AGGREGATORS),
            timeout=30,
            what="all three aggregators to fold batches",
        )
        victim = stack.instances[VICTIM].args[1]
        wait_until(
            lambda: pending_entries(stack, sessions, victim) > 0,
            timeout=30,
            what="the victim aggregator to hold a batch in hand",
        )
        stack.kill(VICTIM)
        acknowledged_before = len(load.acknowledged)
        victim_master.kill()
        wait_until(
            lambda: failed_over(cluster, victim_master), timeout=30, what="the replica to take over"
        )
        victim_master.start()  # back as a replica of the master that replaced it
        wait_until(cluster.replicas_in_sync, timeout=30, what="the old master to follow")
        wait_until(
            lambda: len(load.acknowledged) > acknowledged_before + 500,
            timeout=60,
            what="the load to go on after the failover",
        )
    finally:
        other.stop()
        load.stop()
    assert other.acknowledged, "the second ingest replica took nothing"
    load.acknowledged.update(other.acknowledged)
    assert on_it, "the killed master held no session: the test proved nothing"
    verdict = judge(stack, load, Fault("a master and an aggregator SIGKILLed", 2, 1.0))
    print(f"\n{verdict.line}; sessions on the killed master: {len(on_it)} of {len(sessions)}")
    assert verdict.clean, str(verdict)


def replica_of(cluster: LocalCluster, master: Node) -> Node:
    with master.client() as client:
        port = int(client.info("replication")["slave0"]["port"])
    return next(node for node in cluster.nodes if node.port == port)


def test_an_append_no_replica_confirmed_is_not_acknowledged(
    stack: Stack, cluster: LocalCluster
) -> None:
    sessions = open_sessions(stack, count=6)
    alone = cluster.master_of(stream_key(sessions[0]))
    elsewhere = next(s for s in sessions if cluster.master_of(stream_key(s)) is not alone)
    replica_of(cluster, alone).kill()
    checkin = {"attendee_id": "A-1", "category": "general", "country": "CN"}
    with httpx2.Client(base_url=stack.url("ingest"), timeout=30) as ingest:
        refused = ingest.post(
            "/v1/checkins", json={**checkin, "session_id": sessions[0]}, headers=ADMIN
        )
        accepted = ingest.post(
            "/v1/checkins", json={**checkin, "session_id": elsewhere}, headers=ADMIN
        )
    assert refused.status_code == 503, refused.text
    assert refused.json()["reason"] == "unavailable"
    assert accepted.status_code == 202, accepted.text

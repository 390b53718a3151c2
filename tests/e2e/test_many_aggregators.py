"""Three aggregators in one consumer group on PostgreSQL, each started with its own
`expo aggregator --name`; one is SIGKILLed mid-load and stays dead. The other two take over
what it left pending (XAUTOCLAIM after EXPO_CLAIM_IDLE_MS) and the figures equal the pure
fold of exactly the acknowledged events."""

import signal
import threading
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from shared.stream import GROUP, stream_key
from tests.conftest import migrated, new_id, postgres_database
from tests.faults.audit import Fault, judge, pending_entries
from tests.faults.load import ADMIN, Item, Load, LoadPlan, Traffic
from tests.faults.scenario import open_sessions
from tests.faults.stack import Stack
from tests.wait import wait_until

AGGREGATORS = ("aggregator-a", "aggregator-b", "aggregator-c")
VICTIM = AGGREGATORS[1]
CLAIM_IDLE_MS = 1000
SETTINGS = {"EXPO_CLAIM_IDLE_MS": str(CLAIM_IDLE_MS), "EXPO_FOLD_BATCH_SIZE": "100"}


@pytest.fixture(params=["postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database: the production shape of many aggregators."""
    for url in postgres_database():
        migrated(url)
        yield url


@pytest.fixture
def stack(database_url: str, tmp_path: Any) -> Iterator[Stack]:
    started = Stack.over(tmp_path, database_url)
    try:
        for name in ("api", "ingest"):
            started.add(name, name, **SETTINGS)
        for name in AGGREGATORS:
            # A decoy in the environment: the command line's name is the one that counts.
            started.add(name, "aggregator", **SETTINGS, EXPO_CONSUMER_NAME="aggregator-1")
            started.instances[name].args = ["--name", new_id(name)]
        started.start_all()
        yield started
    finally:
        started.close()


def consumer(stack: Stack, name: str) -> str:
    return stack.instances[name].args[1]


class Singles:
    """Single check-ins posted one by one beside the batches; every tenth is posted again
    with the same event_id (a desk retrying after a lost answer)."""

    def __init__(self, ingest_url: str, sessions: tuple[str, ...]) -> None:
        self.url = ingest_url
        self.traffic = Traffic(sessions, seed=99)
        self.acknowledged: dict[str, Item] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="singles", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "a single check-in was never acknowledged"

    def _run(self) -> None:
        with httpx2.Client(base_url=self.url, timeout=15) as client:
            while not self.stopping.wait(0.02):
                item = self.traffic.item()
                if item["type"] != "attendee.checked_in":
                    continue
                for _ in range(2 if self.traffic.rng.random() < 0.1 else 1):
                    self._post(client, item)

    def _post(self, client: httpx2.Client, item: Item) -> None:
        body = {key: value for key, value in item.items() if key != "type"}
        for _ in range(100):  # until acknowledged, as the desk page does
            try:
                response = client.post("/v1/checkins", json=body, headers=ADMIN)
            except httpx2.TransportError:
                continue
            if response.status_code == 202:
                self.acknowledged[item["event_id"]] = item
                return
            assert response.status_code in {429, 503}, response.text


def test_three_aggregators_one_killed_mid_load_count_every_event_once(stack: Stack) -> None:
    sessions = open_sessions(stack, count=4)
    load = Load(stack.url("ingest"), LoadPlan(sessions, rate=1200, batch=100, resend_share=0.05))
    singles = Singles(stack.url("ingest"), sessions)
    load.start()
    singles.start()
    try:
        wait_until(
            lambda: all(stack.fold_batches(name) > 0 for name in AGGREGATORS),
            timeout=30,
            what="all three aggregators to fold batches",
        )
        victim = consumer(stack, VICTIM)
        process = stack.instances[VICTIM].process
        assert process is not None

        def caught_holding() -> int:
            """Freeze the victim; keep it frozen once it holds entries it has not acked."""
            process.send_signal(signal.SIGSTOP)
            held = pending_entries(stack, sessions, victim)
            if not held:
                process.send_signal(signal.SIGCONT)
            return held

        orphaned = wait_until(caught_holding, timeout=30, what="the victim to hold a batch")
        stack.kill(VICTIM)  # SIGKILL ends a stopped process too
        load.wait(5.0)  # the other two fold on alone, and claim what it left
    finally:
        singles.stop()
        load.stop()
    assert orphaned > 0, "the victim held nothing when killed: the test proved nothing"
    assert "aggregator-1" not in consumer_names(stack, sessions)  # --name overrides the env
    load.acknowledged.update(singles.acknowledged)
    verdict = judge(stack, load, Fault("three aggregators, one SIGKILLed", 1, CLAIM_IDLE_MS / 1000))
    print(
        f"\n{verdict.line}; {len(singles.acknowledged)} single check-ins among them; "
        f"{orphaned} entries the victim left pending, claimed by the others"
    )
    assert verdict.clean, str(verdict)


def consumer_names(stack: Stack, sessions: tuple[str, ...]) -> set[str]:
    """The consumer names the group knows on these sessions' streams."""
    client = stack.redis_client()
    try:
        names: set[str] = set()
        for session in sessions:
            found: Any = client.xinfo_consumers(stream_key(session), GROUP)
            names |= {c["name"].decode() for c in found}
        return names
    finally:
        client.close()

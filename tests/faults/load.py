"""A steady load of batches on ingest, and the record of every event it acknowledged.

One thread posts `events:batch` requests at a fixed rate, as a fleet of desks and
ceremonies would. Every event carries its own `event_id` and `occurred_at`. A request that
fails (connection refused or reset, timeout, 5xx, 429) is sent again with the same events
until it is acknowledged, as the desk page does; so the record holds exactly the events a
client was told were accepted.
"""

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2

from tests.conftest import ADMIN_TOKEN

Item = dict[str, Any]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
COUNTRIES = ["CN", "HK", "MO", "TW", "DE", "JP", "ID", "SG", "FR", "BR", "KE", "US"]
CATEGORIES = ["professional", "general", "exhibitor", "media", "vip", "delegate"]
RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}
MAX_BACKOFF = 1.0
MAX_CATCH_UP = 1.0  # seconds of schedule a late sender may make up
GIVE_UP_SECONDS = 120.0


@dataclass(frozen=True)
class LoadPlan:
    """What the load sends: `rate` events per second in batches of `batch`."""

    sessions: tuple[str, ...]
    rate: float = 2500.0
    batch: int = 250
    seed: int = 2025
    resend_share: float = 0.02  # items that repeat an already acknowledged event


@dataclass
class LoadStats:
    """What the clients went through."""

    requests: int = 0
    failed_attempts: Counter[str] = field(default_factory=Counter)
    resent_events: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    stopped: float = 0.0

    @property
    def failures(self) -> int:
        return sum(self.failed_attempts.values())


class Traffic:
    """Events of an expo day: entries and exits, deals in CNY and USD, voids, exhibitors."""

    def __init__(self, sessions: tuple[str, ...], seed: int) -> None:
        self.sessions = sessions
        self.rng = random.Random(seed)
        self.day_start = datetime.now(UTC) - timedelta(hours=9)

    def items(self, n: int) -> list[Item]:
        return [self.item() for _ in range(n)]

    def item(self) -> Item:
        rng = self.rng
        common: Item = {
            "session_id": rng.choice(self.sessions),
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "occurred_at": (
                self.day_start + timedelta(seconds=rng.uniform(0, 8 * 3600))
            ).isoformat(),
        }
        roll = rng.random()
        if roll < 0.78:
            return self.check_in(common)
        if roll < 0.90:
            return self.deal(common)
        if roll < 0.94:
            return {"type": "deal.voided", **common, "deal_id": self.deal_id(), "reason": "void"}
        return {
            "type": "exhibitor.registered",
            **common,
            "exhibitor_id": f"X{rng.randint(1, 1500)}",
            "name": "Maker Co.",
            "country": rng.choice(COUNTRIES),
            "projects_on_display": rng.randint(0, 20),
        }

    def check_in(self, common: Item) -> Item:
        rng = self.rng
        return {
            "type": "attendee.checked_in",
            **common,
            "attendee_id": f"A{rng.randint(1, 30000)}",
            "category": rng.choice(CATEGORIES),
            "country": rng.choice(COUNTRIES),
            "desk_id": f"desk-{rng.randint(1, 40)}",
            "direction": "exit" if rng.random() < 0.2 else "entry",
        }

    def deal(self, common: Item) -> Item:
        rng = self.rng
        money: Item = {"amount": f"{rng.randint(1, 10**9)}.{rng.randint(0, 99):02d}"}
        if rng.random() < 0.2:
            money.update(currency="USD", fx_rate_to_cny="7.1234")
        return {
            "type": "deal.signed",
            **common,
            **money,
            "deal_id": self.deal_id(),
            "title": "Supply contract",
            "kind": rng.choice(["contract", "agreement", "intent"]),
            "counterparty_country": rng.choice(COUNTRIES),
        }

    def deal_id(self) -> str:
        return f"D{self.rng.randint(1, 4000)}"


class Load:
    """The posting thread. `acknowledged` holds every event a 2xx accepted, by id."""

    def __init__(self, ingest_url: str, plan: LoadPlan) -> None:
        self.url = ingest_url
        self.plan = plan
        self.traffic = Traffic(plan.sessions, plan.seed)
        self.acknowledged: dict[str, Item] = {}
        self._order: list[Item] = []  # acknowledged events in order, to resend some
        self._refused: set[str] = set()
        self.stats = LoadStats()
        self.in_flight = threading.Event()  # set while a request is on its way
        self._stopping = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)

    def start(self) -> None:
        self.stats.started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        """Stop sending new batches; the batch in flight is retried until acknowledged."""
        self._stopping.set()
        self._thread.join(timeout=GIVE_UP_SECONDS + 30)
        self.stats.stopped = time.monotonic()
        if self._thread.is_alive():
            msg = "the load did not stop: a batch was never acknowledged"
            raise AssertionError(msg)
        if self._error is not None:
            raise AssertionError("the load failed") from self._error

    def wait(self, seconds: float) -> None:
        """Let the load run for `seconds`; fail at once if it broke down."""
        self._thread.join(timeout=seconds)
        if self._error is not None:
            raise AssertionError("the load failed") from self._error

    def running_for(self) -> float:
        return time.monotonic() - self.stats.started

    @property
    def rate(self) -> float:
        """Events acknowledged per second over the run."""
        return len(self.acknowledged) / max(self.stats.stopped - self.stats.started, 1e-9)

    def _run(self) -> None:
        try:
            with httpx2.Client(base_url=self.url, timeout=15) as client:
                for batch in self._batches():
                    self._send(client, batch)
        except BaseException as error:  # reported by stop()
            self._error = error

    def _batches(self) -> Iterator[list[Item]]:
        plan, origin, sent = self.plan, self.stats.started, 0
        while not self._stopping.is_set():
            now = time.monotonic()
            # After an outage, carry on at the steady rate rather than burst to catch up.
            origin = max(origin, now - MAX_CATCH_UP - sent / plan.rate)
            if (pause := origin + sent / plan.rate - now) > 0:
                self._stopping.wait(pause)
                continue
            batch = self.traffic.items(plan.batch)
            resend = int(plan.batch * plan.resend_share)
            if resend and len(self._order) > resend:
                batch[:resend] = self.traffic.rng.sample(self._order[-5000:], resend)
                self.stats.resent_events += resend
            sent += len(batch)
            yield batch

    def _send(self, client: httpx2.Client, batch: list[Item]) -> None:
        """Post until every item is acknowledged (or refused for good)."""
        deadline, backoff = time.monotonic() + GIVE_UP_SECONDS, 0.05
        while batch:
            if time.monotonic() > deadline:
                msg = f"a batch of {len(batch)} events was not acknowledged in time"
                raise RuntimeError(msg)
            wait = self._attempt(client, batch)
            if wait is None:
                return
            done = self.acknowledged.keys() | self._refused
            batch = [item for item in batch if item["event_id"] not in done]
            time.sleep(max(wait, backoff))
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _attempt(self, client: httpx2.Client, batch: list[Item]) -> float | None:
        """One request; None when the batch is settled, else seconds to wait first."""
        self.stats.requests += 1
        self.in_flight.set()
        try:
            response = client.post("/v1/events:batch", json={"events": batch}, headers=ADMIN)
        except httpx2.TransportError as error:
            self.stats.failed_attempts[type(error).__name__] += 1
            return 0.0
        finally:
            self.in_flight.clear()
        if response.status_code in RETRYABLE_STATUS:
            self.stats.failed_attempts[f"http {response.status_code}"] += 1
            return float(response.headers.get("Retry-After", 0))
        if response.status_code != 200:
            msg = f"ingest answered {response.status_code}: {response.text[:500]}"
            raise RuntimeError(msg)
        transient = False
        for result in response.json()["results"]:
            item = batch[result["index"]]
            if result["status"] == "accepted":
                if item["event_id"] not in self.acknowledged:
                    self._order.append(item)
                self.acknowledged[item["event_id"]] = item
            elif result["reason"] == "unavailable":
                transient = True
            else:
                self._refused.add(item["event_id"])
                self.stats.refused[result["reason"]] += 1
        return 0.0 if transient else None

"""The fold loop: read the streams as one consumer of the group, decode, commit each batch
in ONE SQL transaction (services.aggregator.batch), and only then XACK. A crash anywhere in
that sequence loses nothing (unacked entries are read again) and doubles nothing (the event
store already holds what was committed).

One error policy for every stream: an entry that cannot be decoded, or does not belong to
its stream, is dead-lettered at once; while Redis or SQL is away the loop backs off and
reads its pending entries again; any other failure of a batch is narrowed down by folding
its entries one by one, and an entry that fails `max_deliveries` times is dead-lettered."""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy import Engine, select
from sqlalchemy.exc import InterfaceError, OperationalError

from services.aggregator import batch, report
from services.aggregator.event_store import Entry
from services.aggregator.group import ConsumerConfig, GroupConsumer, RawEntry
from shared import metrics, rejection
from shared.db import read_only
from shared.runtime import SyncRedis
from shared.stream import UndecodableEntryError, from_fields, session_of
from shared.tables import ExpoSession

logger = logging.getLogger(__name__)

TRANSIENT_SQL = (OperationalError, InterfaceError)
EVERY = {"refresh": 2.0, "claim": 5.0, "trim": 10.0}  # seconds between chores
Decoded = tuple[bytes, Any]  # an entry id and what it holds (an event, a refused scan)


@dataclass
class Consumer:
    redis: SyncRedis
    engine: Engine
    config: ConsumerConfig = field(default_factory=ConsumerConfig)
    failures: Counter[bytes] = field(default_factory=Counter)
    done: dict[str, float] = field(default_factory=lambda: dict.fromkeys(EVERY, 0.0))
    dead_letters: int = 0
    now: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.group = GroupConsumer(self.redis, self.config)

    def run(self, stop: threading.Event) -> None:
        """Fold until `stop` is set; backs off (bounded) while Redis or SQL is away."""
        backoff, started = 0.1, False
        while not stop.is_set():
            try:
                if not started:  # first what this consumer read and never acked
                    self.refresh()
                    self.read_own_pending()
                    started = True
                self.step()
                backoff = 0.1
            except (RedisError, *TRANSIENT_SQL) as error:
                logger.warning("fold paused, retrying in %.1fs: %s", backoff, error)
                started = False  # the batch in hand stays pending to us: read it again first
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def step(self) -> int:
        """One round: the chores that are due, then one read of new entries, folded.

        A session opened a moment ago moves the change mark (shared.reference), so its
        stream is followed from the next round on, not only at the periodic refresh."""
        if self.due("refresh") or self.group.mark_moved():
            self.refresh()
        if self.due("claim"):
            self.claim_stale()
        if self.due("trim"):
            self.trim()
        if not self.group.streams:
            time.sleep(self.config.block_ms / 1000)
            return 0
        handled = self._handle(dict.fromkeys(self.group.streams, ">"), self.config.block_ms)
        if handled == 0:
            metrics.LAG_SECONDS.set(0)  # nothing new for a whole read: caught up
        return handled

    def due(self, chore: str) -> bool:
        now = self.now()
        if now - self.done[chore] < EVERY[chore]:
            return False
        self.done[chore] = now
        return True

    def drain(self) -> int:
        """Fold everything currently in the streams (used by tests and rebuild checks)."""
        self.refresh()
        total = self.read_own_pending()
        while handled := self._handle(dict.fromkeys(self.group.streams, ">"), None):
            total += handled
        return total

    def refresh(self) -> None:
        self.done["refresh"] = self.now()
        with read_only(self.engine).connect() as conn:
            sessions = conn.execute(select(ExpoSession.id)).scalars().all()  # type: ignore[call-overload]
        self.group.follow(sessions)

    def read_own_pending(self) -> int:
        """Entries this consumer read before a crash and never acked: fold them first."""
        total = 0
        for key in self.group.streams:
            while handled := self._handle({key: "0"}, None, own=True):
                total += handled
        return total

    def claim_stale(self) -> None:
        """Take over entries a dead consumer left pending (XAUTOCLAIM)."""
        for key in self.group.streams:
            for entries in self.group.claim(key):
                self._fold(key, self._decode(key, entries))

    def trim(self) -> None:
        self.dead_letters = self.group.trim()

    def _handle(self, streams: dict[Any, Any], block: int | None, own: bool = False) -> int:
        handled = 0
        for key, entries in self.group.read(streams, block, own):
            handled += len(entries)
            self._fold(key, self._decode(key, entries))
        return handled

    def _decode(self, key: str, entries: list[RawEntry]) -> list[Decoded]:
        decoded = []
        for entry_id, fields in entries:
            try:
                decoded.append((entry_id, _decode(key, fields)))
            except (UndecodableEntryError, ValidationError) as error:
                self.group.dead_letter(key, entry_id, fields, f"undecodable: {error}")
            except WrongStreamError:
                self.group.dead_letter(key, entry_id, fields, "wrong_stream")
        return decoded

    def _fold(self, key: str, items: list[Decoded]) -> None:
        if not items:
            return
        started = time.perf_counter()
        try:
            self._commit(key, items)
        except TRANSIENT_SQL:
            raise  # SQL is away: nothing committed, nothing acked; run() backs off
        except Exception:
            logger.exception("fold of %d entries of %s failed", len(items), session_of(key))
            self._fold_one_by_one(key, items)
            return
        self.group.ack(key, [entry_id for entry_id, _ in items])
        metrics.FOLD_SECONDS.observe(time.perf_counter() - started)

    def _commit(self, key: str, items: list[Decoded]) -> None:
        if key == rejection.STREAM:
            batch.keep_rejected(self.engine, [scan for _, scan in items])
            return
        entries = [Entry(entry_id.decode(), event) for entry_id, event in items]
        session_id = session_of(key)
        folded = batch.fold_batch(self.engine, session_id, entries, self.config.late_after)
        report.folded(session_id, len(entries), folded)

    def _fold_one_by_one(self, key: str, items: list[Decoded]) -> None:
        """Isolate a poison entry: fold each alone; one that keeps failing is dead-lettered."""
        if len(items) > 1:
            for item in items:
                self._fold(key, [item])
            return
        position = items[0][0]
        self.failures[position] += 1
        if self.failures[position] >= self.config.max_deliveries:
            del self.failures[position]
            fields = self.group.fields_of(key, position)
            self.group.dead_letter(key, position, fields, "fold_failed_repeatedly")


class WrongStreamError(ValueError):
    """An event appended to another session's stream than its own."""


def _decode(key: str, fields: dict[bytes, bytes]) -> Any:
    if key == rejection.STREAM:
        return rejection.from_fields(fields)
    event = from_fields(fields)
    if event.session_id != session_of(key):
        raise WrongStreamError(event.session_id)
    return event

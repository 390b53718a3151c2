"""Reads the session streams with a consumer group and folds each batch exactly once.

For each batch: ONE SQL transaction (event store insert skipping known event ids, then the
projection deltas of the new events only), commit, and only then XACK. A crash anywhere in
that sequence loses nothing (unacked entries are re-read) and doubles nothing (the event
store already holds what was committed).
"""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from redis import RedisCluster
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import Engine, select
from sqlalchemy.exc import InterfaceError, OperationalError

from services.aggregator import rejections
from services.aggregator.projection import (
    Entry,
    folding_of,
    lock_session,
    project,
    store_new,
)
from shared import dead_letters, metrics, rejection
from shared.db import read_only
from shared.fold import LATE_AFTER
from shared.reference import CHANGED_KEY
from shared.runtime import SyncRedis
from shared.stream import (
    GROUP,
    UndecodableEntryError,
    dead_letter_key,
    from_fields,
    session_of,
    stream_key,
)
from shared.tables import ExpoSession

logger = logging.getLogger(__name__)

TRANSIENT_SQL = (OperationalError, InterfaceError)
RawEntry = tuple[bytes, dict[bytes, bytes]]
REFRESH_SECONDS = 2.0
CLAIM_SECONDS = 5.0
TRIM_SECONDS = 10.0
CLUSTER_POLL_MS = 20  # a cluster cannot block on many streams at once: it polls them


@dataclass
class ConsumerConfig:
    name: str = "aggregator-1"
    batch_size: int = 1000
    block_ms: int = 100
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5
    late_after: timedelta = LATE_AFTER


@dataclass
class _Clock:
    refreshed: float = 0.0
    claimed: float = 0.0
    trimmed: float = 0.0


@dataclass
class Consumer:
    redis: SyncRedis
    engine: Engine
    config: ConsumerConfig = field(default_factory=ConsumerConfig)
    streams: list[str] = field(default_factory=list)
    failures: Counter[bytes] = field(default_factory=Counter)
    clock: _Clock = field(default_factory=_Clock)
    dead_letters: int = 0
    now: Callable[[], float] = time.monotonic
    mark: Any = None  # the reference change mark when the stream list was last refreshed

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
        """One round: refresh the stream list, reclaim stale entries, read and fold.

        A session opened a moment ago moves the change mark (shared.reference), so its
        stream is followed from the next round on, not only at the periodic refresh."""
        now = self.now()
        if now - self.clock.refreshed >= REFRESH_SECONDS or self._mark_moved():
            self.refresh()
        if now - self.clock.claimed >= CLAIM_SECONDS:
            self.clock.claimed = now
            self.claim_stale()
        if now - self.clock.trimmed >= TRIM_SECONDS:
            self.clock.trimmed = now
            self.trim()
        if not self.streams:
            time.sleep(self.config.block_ms / 1000)
            return 0
        handled = self._read(dict.fromkeys(self.streams, ">"), block=self.config.block_ms)
        if handled == 0:
            metrics.LAG_SECONDS.set(0)  # nothing new for a whole read: caught up
        return handled

    def drain(self) -> int:
        """Fold everything currently in the streams (used by tests and rebuild checks)."""
        self.refresh()
        total = self.read_own_pending()
        while handled := self._read(dict.fromkeys(self.streams, ">"), block=None):
            total += handled
        return total

    def _mark_moved(self) -> bool:
        return bool(self.redis.get(CHANGED_KEY) != self.mark)

    def refresh(self) -> None:
        """Follow every session: a consumer group per stream, created at id 0 so nothing
        appended before the group existed is missed."""
        self.clock.refreshed = self.now()
        self.mark = self.redis.get(CHANGED_KEY)
        with read_only(self.engine).connect() as conn:
            sessions = conn.execute(select(ExpoSession.id)).scalars().all()  # type: ignore[call-overload]
        keys = [rejection.STREAM, *(stream_key(s) for s in sorted(sessions))]
        for key in set(keys) - set(self.streams):
            try:
                self.redis.xgroup_create(key, GROUP, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        self.streams = keys

    def read_own_pending(self) -> int:
        """Entries this consumer read before a crash and never acked: fold them first."""
        total = 0
        for key in self.streams:
            while handled := self._read({key: "0"}, block=None, own=True):
                total += handled
        return total

    def claim_stale(self) -> None:
        """Take over entries a dead consumer left pending (XAUTOCLAIM)."""
        for key in self.streams:
            cursor = "0-0"
            while True:
                reply: Any = self.redis.xautoclaim(
                    key, GROUP, self.config.name, self.config.claim_idle_ms, cursor, count=500
                )
                cursor, entries = reply[0], reply[1]
                if entries:
                    self._fold_stream(key, self._count_attempts(key, entries))
                if cursor in (b"0-0", "0-0"):
                    break

    def trim(self) -> None:
        """Drop entries below the lowest one not yet durable in SQL and acked."""
        pending = lag = 0
        for key in self.streams:
            groups: Any = self.redis.xinfo_groups(key)
            group = next((g for g in groups if g["name"] in (GROUP, GROUP.encode())), None)
            if group is None:
                continue
            pending += int(group["pending"])
            lag += int(group.get("lag") or 0)
            summary: Any = self.redis.xpending(key, GROUP)
            floor = summary["min"] if summary["pending"] else _next_id(group["last-delivered-id"])
            self.redis.xtrim(key, minid=floor, approximate=True)
        metrics.PENDING.set(pending)
        metrics.LAG.set(lag)
        self.dead_letters = dead_letters.count(self.redis, map(session_of, self.streams[1:]))
        metrics.DEAD_LETTERS_WAITING.set(self.dead_letters)

    def _read(self, streams: dict[Any, Any], block: int | None, own: bool = False) -> int:
        reply: Any
        if isinstance(self.redis, RedisCluster) and len(streams) > 1:
            reply = self._read_each(streams, block)
        else:
            reply = self.redis.xreadgroup(
                GROUP, self.config.name, streams, count=self.config.batch_size, block=block
            )
        handled = 0
        for key, read in reply or []:
            key_str = key.decode() if isinstance(key, bytes) else key
            # An own pending entry with no fields was trimmed or deleted meanwhile.
            entries = [(entry_id, f) for entry_id, f in read if f] if own else read
            handled += len(entries)
            self._fold_stream(key_str, entries)
        return handled

    def _read_each(self, streams: dict[Any, Any], block: int | None) -> list[Any]:
        """A cluster refuses one read across streams in different hash slots: each stream
        is read on its own, without blocking, all in one pipeline (one round trip per
        node). When none has anything, wait a short poll interval instead of blocking."""
        with self.redis.pipeline() as pipe:
            for key, start in streams.items():
                pipe.xreadgroup(GROUP, self.config.name, {key: start}, count=self.config.batch_size)
            replies = pipe.execute()
        found = [read for reply in replies if reply for read in reply]
        if not found and block:
            time.sleep(min(block, CLUSTER_POLL_MS) / 1000)
        return found

    def _count_attempts(self, key: str, entries: list[RawEntry]) -> list[RawEntry]:
        """Reclaimed entries that were delivered too often go to the dead letters."""
        keep = []
        for entry_id, fields in entries:
            details: Any = self.redis.xpending_range(key, GROUP, entry_id, entry_id, 1)
            delivered = int(details[0]["times_delivered"]) if details else 0
            if not fields:
                self.redis.xack(key, GROUP, entry_id)  # trimmed or deleted meanwhile
            elif delivered > self.config.max_deliveries:
                self._dead_letter(key, entry_id, fields, "fold_failed_repeatedly")
            else:
                keep.append((entry_id, fields))
        return keep

    def _fold_stream(self, key: str, entries: list[RawEntry]) -> None:
        if key == rejection.STREAM:
            self._fold_rejected(entries)
            return
        session_id = session_of(key)
        batch: list[Entry] = []
        for entry_id, fields in entries:
            try:
                event = from_fields(fields)
            except UndecodableEntryError as error:
                self._dead_letter(key, entry_id, fields, f"undecodable: {error}")
                continue
            if event.session_id != session_id:
                self._dead_letter(key, entry_id, fields, "wrong_stream")
                continue
            batch.append(Entry(entry_id.decode(), event))
        if batch:
            self._fold(key, session_id, batch)

    def _fold(self, key: str, session_id: str, batch: list[Entry]) -> None:
        started = time.perf_counter()
        try:
            with self.engine.begin() as conn:
                figures = lock_session(conn, session_id)
                folding = folding_of(conn, session_id, self.config.late_after)
                new = store_new(conn, session_id, batch, folding)
                positions = [e.position for e in batch]
                conflicts = project(conn, session_id, new, positions, figures)
        except TRANSIENT_SQL:
            raise  # SQL is away: nothing committed, nothing acked; run() backs off
        except Exception:
            logger.exception("fold of %d entries of session %s failed", len(batch), session_id)
            self._fold_one_by_one(key, session_id, batch)
            return
        self.redis.xack(key, GROUP, *[e.position for e in batch])
        metrics.FOLD_SECONDS.observe(time.perf_counter() - started)
        metrics.DUPLICATES.inc(len(batch) - len(new))
        for event, _ in new:
            metrics.FOLDED.labels(event.type).inc()
        if new:
            newest = max(e.recorded_at for e, _ in new)
            metrics.LAG_SECONDS.set(max(0.0, time.time() - newest.timestamp()))
        for conflict in conflicts:
            metrics.CONFLICTS.inc()
            logger.warning(
                "deal conflict in session %s: deal %s counted from event %s, event %s differs",
                conflict.session_id,
                conflict.deal_id,
                conflict.counted_event_id,
                conflict.ignored_event_id,
                extra={"session_id": conflict.session_id, "event_id": conflict.ignored_event_id},
            )
        logger.debug(
            "session %s: folded %d new of %d entries",
            session_id,
            len(new),
            len(batch),
            extra={"session_id": session_id},
        )

    def _fold_rejected(self, entries: list[RawEntry]) -> None:
        if not entries:
            return
        scans = []
        for entry_id, fields in entries:
            try:
                scans.append(rejection.from_fields(fields))
            except ValidationError as error:
                self._dead_letter(rejection.STREAM, entry_id, fields, f"undecodable: {error}")
        with self.engine.begin() as conn:
            rejections.store(conn, scans)
        self.redis.xack(rejection.STREAM, GROUP, *[entry_id for entry_id, _ in entries])

    def _fold_one_by_one(self, key: str, session_id: str, batch: list[Entry]) -> None:
        """Isolate a poison entry: fold each alone; one that keeps failing is dead-lettered."""
        if len(batch) > 1:
            for entry in batch:
                self._fold(key, session_id, [entry])
            return
        position = batch[0].position.encode()
        self.failures[position] += 1
        if self.failures[position] >= self.config.max_deliveries:
            del self.failures[position]
            entries: Any = self.redis.xrange(key, position, position)
            fields: dict[bytes, bytes] = entries[0][1] if entries else {}
            self._dead_letter(key, position, fields, "fold_failed_repeatedly")

    def _dead_letter(self, key: str, entry_id: bytes, fields: dict[bytes, bytes], why: str) -> None:
        """Move an entry to its session's dead-letter stream and ack it, atomically."""
        session_id = session_of(key)
        target = rejection.DEAD_LETTERS if key == rejection.STREAM else dead_letter_key(session_id)
        reason = why.split(":", 1)[0]
        logger.error(
            "dead-lettering entry %s of session %s: %s",
            entry_id,
            session_id,
            why,
            extra={"session_id": session_id, "entry_id": _text(entry_id)},
        )
        letter = {**fields, b"dl_reason": why.encode(), b"dl_entry_id": entry_id}
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(target, letter)  # type: ignore[arg-type]
            pipe.xack(key, GROUP, entry_id)
            pipe.execute()
        metrics.DEAD_LETTERS.labels(reason).inc()


def _text(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def _next_id(entry_id: bytes | str) -> str:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return f"{ms}-{int(seq or 0) + 1}"

"""The aggregator's side of the Redis streams, as one consumer of the group: which streams
it follows, reading them, taking over what a dead consumer left, acking, dead letters and
trimming. Nothing here knows what an entry means."""

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from redis import RedisCluster
from redis.exceptions import ResponseError

from shared import consumer_group, dead_letters, metrics, rejection
from shared.fold import LATE_AFTER
from shared.reference import CHANGED_KEY
from shared.runtime import SyncRedis
from shared.stream import GROUP, dead_letter_key, session_of, stream_key

logger = logging.getLogger(__name__)

RawEntry = tuple[bytes, dict[bytes, bytes]]
Read = tuple[str, list[RawEntry]]  # a stream and the entries read from it
CLUSTER_POLL_MS = 20  # a cluster cannot block on many streams at once: it polls them


@dataclass
class ConsumerConfig:
    """An aggregator's settings (read live: a change applies from the next read)."""

    name: str = "aggregator-1"
    batch_size: int = 1000
    block_ms: int = 100
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5
    late_after: timedelta = LATE_AFTER  # used by the fold, not here


@dataclass
class GroupConsumer:
    redis: SyncRedis
    config: ConsumerConfig
    streams: list[str] = field(default_factory=list)
    mark: Any = None  # the reference change mark when the stream list was last set

    def mark_moved(self) -> bool:
        return bool(self.redis.get(CHANGED_KEY) != self.mark)

    def follow(self, sessions: Iterable[str]) -> None:
        """Follow the rejected scans and every session: a group per stream, created at id 0
        so nothing appended before the group existed is missed."""
        self.mark = self.redis.get(CHANGED_KEY)
        keys = [rejection.STREAM, *(stream_key(s) for s in sorted(sessions))]
        for key in set(keys) - set(self.streams):
            try:
                self.redis.xgroup_create(key, GROUP, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        self.streams = keys

    def read(self, streams: dict[Any, Any], block: int | None, own: bool = False) -> list[Read]:
        """Entries of `streams` from the given ids (">": new ones); `own`: pending to us,
        those trimmed or deleted meanwhile (no fields) left out."""
        reply: Any
        if isinstance(self.redis, RedisCluster) and len(streams) > 1:
            reply = self._read_each(streams, block)
        else:
            reply = self.redis.xreadgroup(
                GROUP, self.config.name, streams, count=self.config.batch_size, block=block
            )
        found = []
        for key, entries in reply or []:
            kept = [(entry_id, f) for entry_id, f in entries if f] if own else entries
            found.append((_text(key), kept))
        return found

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

    def claim(self, key: str) -> Iterator[list[RawEntry]]:
        """Take over, page by page, entries of `key` a dead consumer left pending
        (XAUTOCLAIM); those delivered too often go to the dead letters instead."""
        cursor: Any = "0-0"
        while True:
            reply: Any = self.redis.xautoclaim(
                key, GROUP, self.config.name, self.config.claim_idle_ms, cursor, count=500
            )
            cursor, entries = reply[0], reply[1]
            if kept := self._count_attempts(key, entries):
                yield kept
            if cursor in (b"0-0", "0-0"):
                return

    def _count_attempts(self, key: str, entries: list[RawEntry]) -> list[RawEntry]:
        keep = []
        for entry_id, fields in entries:
            record = consumer_group.pending(self.redis, key, _text(entry_id))
            delivered = int(record["times_delivered"]) if record else 0
            if not fields:
                self.redis.xack(key, GROUP, entry_id)  # trimmed or deleted meanwhile
            elif delivered > self.config.max_deliveries:
                self.dead_letter(key, entry_id, fields, "fold_failed_repeatedly")
            else:
                keep.append((entry_id, fields))
        return keep

    def ack(self, key: str, entry_ids: Iterable[bytes | str]) -> None:
        self.redis.xack(key, GROUP, *entry_ids)

    def fields_of(self, key: str, entry_id: bytes) -> dict[bytes, bytes]:
        entries: Any = self.redis.xrange(key, entry_id, entry_id)
        return entries[0][1] if entries else {}

    def dead_letter(self, key: str, entry_id: bytes, fields: dict[bytes, bytes], why: str) -> None:
        """Move an entry to its dead-letter stream and ack it, atomically."""
        session_id = session_of(key)
        target = rejection.DEAD_LETTERS if key == rejection.STREAM else dead_letter_key(session_id)
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
        metrics.DEAD_LETTERS.labels(why.split(":", 1)[0]).inc()

    def trim(self) -> int:
        """Drop entries below the lowest one not yet durable in SQL and acked; export the
        group's pending entries and lag. Returns the dead letters waiting."""
        pending = lag = 0
        for key in self.streams:
            group = consumer_group.find(self.redis.xinfo_groups(key))
            if group is None:
                continue
            pending += int(group["pending"])
            lag += int(group.get("lag") or 0)
            summary: Any = self.redis.xpending(key, GROUP)
            floor = summary["min"] if summary["pending"] else _next_id(group["last-delivered-id"])
            self.redis.xtrim(key, minid=floor, approximate=True)
        metrics.PENDING.set(pending)
        metrics.LAG.set(lag)
        waiting = dead_letters.count(self.redis, map(session_of, self.streams[1:]))
        metrics.DEAD_LETTERS_WAITING.set(waiting)
        return waiting


def _text(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def _next_id(entry_id: bytes | str) -> str:
    ms, _, seq = _text(entry_id).partition("-")
    return f"{ms}-{int(seq or 0) + 1}"

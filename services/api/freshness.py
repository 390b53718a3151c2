"""How fresh a session's figures are: the events ingest accepted that are not folded yet.

The aggregator's consumer group on the session's stream says it (shared.stream): `pending`
entries were delivered and are not acknowledged (it acknowledges only after its SQL commit),
`lag` entries were not delivered yet. So the unfolded events are `pending + lag`, and the
oldest of them is the older of the smallest pending id (XPENDING's summary) and the first
entry after `last-delivered-id`. Entry ids are millisecond timestamps of the Redis clock.

- No stream: nothing was appended to the session, nothing is unfolded.
- A stream with no group yet: the aggregator has not followed it, every entry is unfolded.
- `lag` nil (Redis cannot tell after an entry was deleted ahead of the group): the entries
  after `last-delivered-id` are counted, at most COUNT_LIMIT of them.
- Dead letters were acknowledged: they are not unfolded. The rejected-scans stream holds no
  session's events and is never read here.

Every command names one key, and a session's keys share a hash slot: a Redis Cluster client
pipelines them per node. Read the backlog before the figures: an entry folded in between is
then counted as unfolded although the figures hold it, never the other way round.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from redis.exceptions import RedisError, ResponseError

from shared import consumer_group
from shared.runtime import SyncRedis
from shared.stream import GROUP, position_key, stream_key

logger = logging.getLogger(__name__)
COUNT_LIMIT = 10_000  # undelivered entries counted one by one when Redis cannot tell


class Freshness(BaseModel):
    """How fresh the figures of an answer are (a mixin of every answer that has figures)."""

    as_of: datetime | None = Field(
        description="The latest `recorded_at` of the events folded into the figures; null "
        "before the first one."
    )
    lag_seconds: float | None = Field(
        description="Age in seconds (to 0.1 s) of the oldest event ingest accepted that the "
        "figures do not hold yet; 0 when there is none. Null when Redis cannot be reached: "
        "the figures are answered all the same, how far behind they are is unknown."
    )
    unfolded: int | None = Field(
        description="How many events ingest accepted that the figures do not hold yet; 0 "
        "when none. Null when Redis cannot be reached."
    )

    def freshness_only(self) -> "Freshness":
        """The three fields alone, out of an answer that has them among its figures."""
        return Freshness(as_of=self.as_of, lag_seconds=self.lag_seconds, unfolded=self.unfolded)


@dataclass(frozen=True, slots=True)
class Backlog:
    """A session's events in Redis that its figures do not hold yet."""

    unfolded: int
    lag_seconds: float


NONE = Backlog(0, 0.0)


def freshness(as_of: datetime | None, backlog: Backlog | None) -> Freshness:
    """The freshness of figures folded up to `as_of`; `backlog` None: Redis was away."""
    if backlog is None:
        return Freshness(as_of=as_of, lag_seconds=None, unfolded=None)
    return Freshness(as_of=as_of, lag_seconds=backlog.lag_seconds, unfolded=backlog.unfolded)


def combined(parts: Iterable[Freshness]) -> Freshness:
    """Figures over several sessions: the newest `as_of`, the largest lag, the sum of the
    unfolded events (unknown if one of them is)."""
    found = list(parts)
    stamps = [p.as_of for p in found if p.as_of is not None]
    lags = [p.lag_seconds for p in found]
    counts = [p.unfolded for p in found]
    known = None not in lags and None not in counts
    return Freshness(
        as_of=max(stamps, default=None),
        lag_seconds=max((x for x in lags if x is not None), default=0.0) if known else None,
        unfolded=sum(x for x in counts if x is not None) if known else None,
    )


def backlog(redis: SyncRedis, session_id: str, now: datetime | None = None) -> Backlog | None:
    """The session's backlog, or None while Redis is away."""
    return backlogs(redis, [session_id], now)[session_id]


def backlogs(
    redis: SyncRedis, session_ids: Iterable[str], now: datetime | None = None
) -> dict[str, Backlog | None]:
    """Each session's backlog in two round trips at most (None for all while Redis is
    away); lags are measured against `now` (default: this host's clock)."""
    ids = list(dict.fromkeys(session_ids))
    try:
        return dict(zip(ids, _read(redis, ids, now or datetime.now(UTC)), strict=True))
    except RedisError as error:
        logger.warning("cannot tell how fresh sessions %s are: %s", ", ".join(ids), error)
        return dict.fromkeys(ids)


@dataclass(frozen=True, slots=True)
class Group:
    """The aggregator's consumer group on one stream, as XINFO GROUPS and XPENDING say."""

    pending: int
    smallest_pending: str | None
    last_delivered: str
    lag: int | None


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _group(groups: Any, summary: Any) -> Group | None:
    """None for a stream without the group (every entry unfolded)."""
    found = consumer_group.find(groups)
    if found is None:
        return None
    if isinstance(summary, Exception):
        raise summary
    return Group(
        pending=int(summary["pending"]),
        smallest_pending=_text(summary["min"]) if summary["pending"] else None,
        last_delivered=_text(found["last-delivered-id"]) or "0-0",
        lag=None if found["lag"] is None else int(found["lag"]),
    )


def _absent(reply: Any) -> bool:
    """True for the error XINFO GROUPS gives for a stream that does not exist."""
    if not isinstance(reply, Exception):
        return False
    if isinstance(reply, ResponseError) and "no such key" in str(reply).lower():
        return True
    raise reply


@dataclass(frozen=True, slots=True)
class _Stream:
    """What the first round trip learnt of one session's stream."""

    exists: bool
    group: Group | None

    def ask(self, pipe: Any, key: str) -> int:
        """Queue what the second round trip needs; how many replies it will give."""
        if not self.exists:
            return 0
        if self.group is None:
            pipe.xlen(key)
            pipe.xrange(key, "-", "+", count=1)
            return 2
        if self.group.lag == 0:
            return 0
        count = 1 if self.group.lag is not None else COUNT_LIMIT
        pipe.xrange(key, f"({self.group.last_delivered}", "+", count=count)
        return 1

    def settle(self, replies: list[Any]) -> tuple[int, str | None]:
        """How many entries are unfolded and the id of the oldest."""
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        if not self.exists:
            return 0, None
        if self.group is None:
            return int(replies[0]), _first(replies[1])
        oldest = [self.group.smallest_pending, _first(replies[0]) if replies else None]
        known = [i for i in oldest if i is not None]
        undelivered = self.group.lag if self.group.lag is not None else len(replies[0])
        return self.group.pending + undelivered, min(known, key=position_key, default=None)


def _first(entries: Any) -> str | None:
    return _text(entries[0][0]) if entries else None


def _read(redis: SyncRedis, ids: list[str], now: datetime) -> list[Backlog]:
    keys = [stream_key(s) for s in ids]
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.xinfo_groups(key)
        pipe.xpending(key, GROUP)
    first = pipe.execute(raise_on_error=False)
    streams = [
        _Stream(False, None) if _absent(groups) else _Stream(True, _group(groups, summary))
        for groups, summary in zip(first[::2], first[1::2], strict=True)
    ]
    pipe = redis.pipeline(transaction=False)
    sizes = [stream.ask(pipe, key) for stream, key in zip(streams, keys, strict=True)]
    second = iter(pipe.execute(raise_on_error=False) if any(sizes) else [])
    found = []
    for stream, size in zip(streams, sizes, strict=True):
        unfolded, oldest = stream.settle([next(second) for _ in range(size)])
        found.append(Backlog(unfolded, _age(oldest, now) if unfolded else 0.0))
    return found


def _age(entry_id: str | None, now: datetime) -> float:
    """Seconds from the entry's append to `now`, to 0.1 s (0 for a clock behind Redis's)."""
    if entry_id is None:
        return 0.0
    millis, _ = position_key(entry_id)
    return round(max(0.0, now.timestamp() - millis / 1000), 1)

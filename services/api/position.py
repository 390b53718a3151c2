"""Whether a stream entry (a `position` ingest answered with) has been folded.

`session_figures.position` is the newest entry folded into a session. With one aggregator
every entry below it was folded before it; with several in one consumer group, batches of
a session commit in any order (one aggregator may commit entries 1001-2000 while another
still folds 1-1000), so the newest says nothing about an older one. The entry itself does:

- still in the stream: folded once the event store holds its event (a lookup by primary
  key), or settled once the group acknowledged it without storing it (a dead letter);
- gone from a stream that had reached it: trimmed, which happens only below the oldest
  entry still pending, that is after it was folded or dead-lettered;
- beyond the newest entry the stream ever had: not appended yet.

Each "yes" rests on a commit that came before it (an entry is acknowledged after its SQL
transaction committed), so figures read after it include the entry.
"""

import logging
from typing import Any

from redis.exceptions import RedisError, ResponseError
from sqlalchemy import Engine, select

from shared.consumer_group import acknowledged, after
from shared.runtime import SyncRedis
from shared.stream import UndecodableEntryError, from_fields, stream_key
from shared.tables import EVENTS

logger = logging.getLogger(__name__)


def folded(redis: SyncRedis, engine: Engine, session_id: str, position: str) -> bool:
    """True once the entry at `position` of the session's stream is in the figures (or
    was set aside as a dead letter); False while it may still change them, or while Redis
    cannot tell."""
    try:
        return _folded(redis, engine, stream_key(session_id), position)
    except ResponseError:  # no such stream: nothing appended to this session yet
        return False
    except RedisError:
        logger.warning(
            "cannot tell whether %s of session %s is folded: Redis is away",
            position,
            session_id,
            extra={"session_id": session_id},
        )
        return False


def _folded(redis: SyncRedis, engine: Engine, key: str, position: str) -> bool:
    info: Any = redis.xinfo_stream(key)
    if after(position, info["last-generated-id"]):
        return False
    # Read after the newest id: an entry missing now was there and is gone, never to come.
    found: Any = redis.xrange(key, position, position, count=1)
    if not found:
        return True
    identity = _identity(found[0][1])
    return (identity is not None and _stored(engine, *identity)) or acknowledged(
        redis, key, position
    )


def _identity(fields: dict[bytes, bytes]) -> tuple[str, str] | None:
    """The entry's event as the event store keys it: its session and event_id."""
    try:
        event = from_fields(fields)
    except UndecodableEntryError:
        return None  # dead-lettered by the aggregator: settled once acknowledged
    return event.session_id, str(event.event_id)


def _stored(engine: Engine, session_id: str, event_id: str) -> bool:
    with engine.connect() as conn:
        query = select(EVENTS.c.event_id).where(
            EVENTS.c.session_id == session_id, EVENTS.c.event_id == event_id
        )
        return conn.execute(query).first() is not None

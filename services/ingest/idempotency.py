"""Appending with an idempotency check: one script, atomic on the session's hash slot.

A client that sends an `event_id` may retry: the same request again is a duplicate (the
original position is returned and nothing is appended twice); another request under the
same `event_id` is refused. Fingerprints live for `EXPO_IDEMPOTENCY_TTL_SECONDS`; after
that a retry is appended again and the SQL event store still counts it once.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio.client import Pipeline

from services.ingest.coalesce import Coalescer
from shared.events import Event
from shared.stream import FIELD, seen_key, stream_key, to_fields

# KEYS: fingerprint key, stream key. ARGV: fingerprint, ttl seconds, encoded event.
APPEND_ONCE = """
local seen = redis.call('GET', KEYS[1])
if seen then
  local fingerprint, position = string.match(seen, '^([^|]*)|(.*)$')
  if fingerprint == ARGV[1] then return {'duplicate', position} end
  return {'conflict', position}
end
local position = redis.call('XADD', KEYS[2], '*', 'event', ARGV[3])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. position, 'EX', ARGV[2])
return {'appended', position}
"""
assert FIELD == b"event"  # the script writes the same field the codec reads

Status = Literal["appended", "duplicate", "conflict"]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    position: str


def fingerprint(event_type: str, fields: dict[str, Any]) -> str:
    """What a retry must repeat: the event's type and the fields the client sent."""
    content = json.dumps([event_type, fields], sort_keys=True, default=str)
    return hashlib.sha256(content.encode()).hexdigest()[:32]


class Appender:
    def __init__(self, coalescer: Coalescer, ttl_seconds: int) -> None:
        self.redis = coalescer.redis
        self.ttl = ttl_seconds
        self.script = self.redis.register_script(APPEND_ONCE)
        self.coalescer = coalescer

    async def append(self, event: Event, print_: str | None) -> Outcome:
        """Append `event`; with a fingerprint, at most once per event_id."""

        async def queue(pipe: Pipeline) -> None:
            await self._queue(pipe, event, print_)

        [reply] = await self.coalescer.run(queue)
        return _outcome(reply) if print_ is not None else Outcome("appended", reply.decode())

    async def append_many(self, events: list[tuple[Event, str | None]]) -> list[Outcome]:
        async def queue(pipe: Pipeline) -> None:
            for event, print_ in events:
                await self._queue(pipe, event, print_)

        replies = await self.coalescer.run(queue) if events else []
        return [
            _outcome(reply) if print_ is not None else Outcome("appended", reply.decode())
            for (_, print_), reply in zip(events, replies, strict=True)
        ]

    async def _queue(self, pipe: Pipeline, event: Event, print_: str | None) -> None:
        if print_ is None:
            pipe.xadd(stream_key(event.session_id), to_fields(event))  # type: ignore[arg-type]
        else:
            await self.script(keys=self._keys(event), args=self._args(event, print_), client=pipe)

    def _keys(self, event: Event) -> list[str]:
        return [seen_key(event.session_id, str(event.event_id)), stream_key(event.session_id)]

    def _args(self, event: Event, print_: str) -> list[Any]:
        return [print_, self.ttl, to_fields(event)[FIELD]]


def _outcome(reply: Any) -> Outcome:
    status, position = (part.decode() if isinstance(part, bytes) else str(part) for part in reply)
    return Outcome(status, position)  # type: ignore[arg-type]

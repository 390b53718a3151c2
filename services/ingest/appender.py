"""Appending to the session streams with an idempotency check: one script, atomic on the
session's hash slot.

A client that sends an `event_id` may retry: the same request again is a duplicate (the
original position is returned and nothing is appended twice); another request under the
same `event_id` is refused. Fingerprints live for `EXPO_IDEMPOTENCY_TTL_SECONDS`; after
that a retry is appended again and the SQL event store still counts it once.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.exceptions import NoScriptError, RedisError

from services.ingest.coalesce import AnyPipeline, Coalescer, Queue
from shared.events import Event
from shared.runtime import AsyncClient
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
# The events of one session from a batch, in one call (one reply array instead of a reply
# per event). KEYS[1]: the stream; KEYS[2..]: the fingerprint keys of the events that have
# one, in order. ARGV[1]: ttl seconds; then per event its fingerprint ('' for none) and the
# encoded event. Returns status, position, status, position, ...
APPEND_MANY = """
local replies, k = {}, 2
for i = 2, #ARGV, 2 do
  local fingerprint, status, position = ARGV[i], 'appended', nil
  local seen = fingerprint ~= '' and redis.call('GET', KEYS[k])
  if seen then
    local before
    before, position = string.match(seen, '^([^|]*)|(.*)$')
    status = before == fingerprint and 'duplicate' or 'conflict'
  else
    position = redis.call('XADD', KEYS[1], '*', 'event', ARGV[i + 1])
    if fingerprint ~= '' then
      redis.call('SET', KEYS[k], fingerprint .. '|' .. position, 'EX', ARGV[1])
    end
  end
  if fingerprint ~= '' then k = k + 1 end
  replies[#replies + 1] = status
  replies[#replies + 1] = position
end
return replies
"""
assert FIELD == b"event"  # the scripts write the same field the codec reads

Status = Literal["appended", "duplicate", "conflict"]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    position: str


def fingerprint(event_type: str, fields: dict[str, Any]) -> str:
    """What a retry must repeat: the event's type and the fields the client sent."""
    content = json.dumps([event_type, fields], sort_keys=True, default=str)
    return hashlib.sha256(content.encode()).hexdigest()[:32]


class NotReplicatedError(RedisError):
    """Fewer replicas than required confirmed an append in time: it is not acknowledged
    (503); the client retries with the same event_id, which counts once."""


@dataclass(frozen=True, slots=True)
class Replication:
    """How many replicas must hold an append before ingest answers (Redis WAIT on the
    connection that wrote it). With 0, an append is acknowledged once the primary has it
    (in its append-only file, with appendfsync always)."""

    replicas: int = 0
    timeout_ms: int = 1000

    def queue_wait(self, pipe: AnyPipeline, redis: AsyncClient, key: str) -> int:
        """Queue a WAIT behind the write to `key`, on the node that holds it (a cluster
        pipeline sends a node's commands on one connection, in order); returns how many
        replies it adds."""
        if self.replicas == 0:
            return 0
        if isinstance(redis, AsyncRedisCluster):
            node = redis.get_node_from_key(key)
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms, target_nodes=node)
        else:
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms)
        return 1

    def check(self, acknowledged: Any) -> None:
        if int(acknowledged) < self.replicas:
            msg = f"{acknowledged} of {self.replicas} replicas confirmed the append in time"
            raise NotReplicatedError(msg)


class Appender:
    def __init__(
        self, coalescer: Coalescer, ttl_seconds: int, replication: Replication | None = None
    ) -> None:
        self.redis = coalescer.redis
        self.ttl = ttl_seconds
        self.replication = replication or Replication()
        # Called by SHA (EVALSHA): a pipeline holding Script objects would first ask Redis
        # whether they exist, one more round trip per pipeline. A Redis that lost them
        # answers NOSCRIPT, ran nothing, and `_run` loads them and tries once more.
        self.once = hashlib.sha1(APPEND_ONCE.encode()).hexdigest()  # noqa: S324 - Redis's id
        self.many = hashlib.sha1(APPEND_MANY.encode()).hexdigest()  # noqa: S324 - Redis's id
        self.coalescer = coalescer

    async def append(self, event: Event, print_: str | None) -> Outcome:
        """Append `event`; with a fingerprint, at most once per event_id."""

        async def queue(pipe: AnyPipeline) -> None:
            await self._queue(pipe, event, print_)

        [reply, *wait] = await self._run(queue)
        for acknowledged in wait:
            self.replication.check(acknowledged)
        return _outcome(reply) if print_ is not None else Outcome("appended", reply.decode())

    async def append_all(self, events: list[tuple[Event, str | None]]) -> list[Outcome]:
        """Append events in order; one alone goes by the single-event script."""
        if len(events) == 1:
            return [await self.append(*events[0])]
        return await self.append_many(events)

    async def append_many(self, events: list[tuple[Event, str | None]]) -> list[Outcome]:
        """Append a batch's events in order: one script call per session."""
        by_session: dict[str, list[int]] = {}
        for index, (event, _) in enumerate(events):
            by_session.setdefault(event.session_id, []).append(index)

        async def queue(pipe: AnyPipeline) -> None:
            for session_id, indexes in by_session.items():
                keys, args = [stream_key(session_id)], list[Any]([self.ttl])
                for index in indexes:
                    event, print_ = events[index]
                    if print_ is not None:
                        keys.append(seen_key(session_id, str(event.event_id)))
                    args += [print_ or "", to_fields(event)[FIELD]]
                _evalsha(pipe, self.many, keys, args)
                self.replication.queue_wait(pipe, self.redis, keys[0])

        replies = await self._run(queue) if events else []
        if self.replication.replicas:
            for acknowledged in replies[1::2]:
                self.replication.check(acknowledged)
            replies = replies[::2]
        outcomes: list[Outcome | None] = [None] * len(events)
        for indexes, reply in zip(by_session.values(), replies, strict=True):
            for n, index in enumerate(indexes):
                outcomes[index] = _outcome(reply[2 * n : 2 * n + 2])
        return [outcome for outcome in outcomes if outcome is not None]

    async def _run(self, queue: Queue) -> list[Any]:
        if self.replication.replicas and isinstance(self.redis, AsyncRedisCluster):
            await self.redis.initialize()  # the slot map WAIT is routed by; once, then a no-op
        try:
            return await self.coalescer.run(queue)
        except NoScriptError:
            for script in (APPEND_ONCE, APPEND_MANY):
                await self.redis.script_load(script)
            return await self.coalescer.run(queue)

    async def _queue(self, pipe: AnyPipeline, event: Event, print_: str | None) -> None:
        if print_ is None:
            pipe.xadd(stream_key(event.session_id), to_fields(event))  # type: ignore[arg-type]
        else:
            keys = self._keys(event)
            _evalsha(pipe, self.once, keys, self._args(event, print_))
        self.replication.queue_wait(pipe, self.redis, stream_key(event.session_id))

    def _keys(self, event: Event) -> list[str]:
        return [seen_key(event.session_id, str(event.event_id)), stream_key(event.session_id)]

    def _args(self, event: Event, print_: str) -> list[Any]:
        return [print_, self.ttl, to_fields(event)[FIELD]]


def _evalsha(pipe: AnyPipeline, sha: str, keys: list[str], args: list[Any]) -> None:
    """EVALSHA as a plain command: a cluster pipeline refuses its `evalsha` method, but
    routes the command by its keys (all in one session's slot) like any other."""
    pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)


def _outcome(reply: Any) -> Outcome:
    status, position = (part.decode() if isinstance(part, bytes) else str(part) for part in reply)
    return Outcome(status, position)  # type: ignore[arg-type]

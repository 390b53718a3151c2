"""Live push: Server-Sent Events of a session's totals whenever they change.

One watcher per watched session polls the projections (a few indexed reads) and its backlog
in Redis, and fans the newest totals out to every subscriber, however many screens listen; a
slow screen only ever gets the latest totals, never a backlog.

Totals are pushed when they change: their figures, `as_of` or `unfolded`. A `lag_seconds`
that only grew does not push (it grows every poll while events wait); each heartbeat carries
the freshness as of the latest poll instead.
"""

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from services.api.deps import ReaderDep, ResourcesDep
from services.api.freshness import Freshness
from services.api.reads import HEARTBEAT_SECONDS, read_totals
from services.api.schemas import Totals
from shared.openapi import READ, problems
from shared.runtime import SyncRedis

logger = logging.getLogger(__name__)
router = APIRouter(tags=["figures"])


def heartbeat_of(fresh: Freshness | None) -> str:
    """A named event, not a comment: pages can see it and need not poll while the stream
    lives. It carries the freshness of the latest poll (`{}` before the first)."""
    data = fresh.model_dump_json() if fresh is not None else "{}"
    return f"event: heartbeat\ndata: {data}\n\n"


@dataclass(frozen=True, slots=True)
class Update:
    id: str
    data: str

    def message(self) -> str:
        return f"id: {self.id}\nevent: totals\ndata: {self.data}\n\n"


def update_of(totals: Totals) -> Update:
    """The message of these totals; its id names them up to a lag that only grew."""
    data = totals.model_dump_json()
    steady = totals.model_dump_json(exclude={"lag_seconds"})
    return Update(hashlib.sha256(steady.encode()).hexdigest()[:16], data)


@dataclass
class Hub:
    engine: Engine
    redis: SyncRedis
    poll_seconds: float = 0.25
    subscribers: dict[str, set[asyncio.Queue[Update]]] = field(default_factory=dict)
    watchers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    latest: dict[str, Update] = field(default_factory=dict)
    freshness: dict[str, Freshness] = field(default_factory=dict)

    @asynccontextmanager
    async def subscribe(self, session_id: str) -> AsyncIterator[asyncio.Queue[Update]]:
        queue: asyncio.Queue[Update] = asyncio.Queue(maxsize=1)
        self.subscribers.setdefault(session_id, set()).add(queue)
        if session_id in self.latest:
            _offer(queue, self.latest[session_id])
        if session_id not in self.watchers:
            self.watchers[session_id] = asyncio.create_task(self._watch(session_id))
        try:
            yield queue
        finally:
            listeners = self.subscribers.get(session_id, set())
            listeners.discard(queue)
            if not listeners:
                self.subscribers.pop(session_id, None)
                self.latest.pop(session_id, None)
                self.freshness.pop(session_id, None)
                self.watchers.pop(session_id).cancel()

    async def close(self) -> None:
        tasks = list(self.watchers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, session_id: str) -> None:
        pause = self.poll_seconds
        while True:
            try:
                totals = await run_in_threadpool(read_totals, self.engine, self.redis, session_id)
            except Exception as error:  # the database may be away: keep the screens, retry
                logger.warning(
                    "totals of session %s unreadable, retry in %.1fs: %s", session_id, pause, error
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            pause = self.poll_seconds
            self.freshness[session_id] = totals.freshness_only()
            update = update_of(totals)
            if session_id not in self.latest or self.latest[session_id].id != update.id:
                self.latest[session_id] = update
                for queue in self.subscribers.get(session_id, ()):
                    _offer(queue, update)
            await asyncio.sleep(self.poll_seconds)


def _offer(queue: asyncio.Queue[Update], update: Update) -> None:
    """Latest wins: a listener that has not taken the previous totals gets these instead."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(update)


async def _events(
    hub: Hub, session_id: str, heartbeat: float, last_event_id: str | None
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    async with hub.subscribe(session_id) as queue:
        while True:
            try:
                update = await asyncio.wait_for(queue.get(), timeout=heartbeat)
            except TimeoutError:
                yield heartbeat_of(hub.freshness.get(session_id))
                continue
            if update.id != last_event_id:
                last_event_id = update.id
                yield update.message()


# OpenAPI 3.1 has no item schema for streams; as schemathesis does, `schema` is each event's.
EVENT_STREAM = {
    "description": "`totals` events (data as `/totals` answers) and `heartbeat` events "
    "(data: `as_of`, `lag_seconds` and `unfolded` of the latest look).",
    "content": {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": {"enum": ["totals", "heartbeat"]},
                    "data": {"type": "string", "contentMediaType": "application/json"},
                    "id": {"type": "string"},
                },
            }
        }
    },
}


@router.get(
    "/v1/sessions/{session_id}/stream",
    response_class=StreamingResponse,
    responses={200: EVENT_STREAM, **problems(*READ)},
)
async def stream(
    session_id: str,
    _: ReaderDep,
    res: ResourcesDep,
    heartbeat: Annotated[float, Query(ge=1, le=60)] = HEARTBEAT_SECONDS,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-Sent Events: `totals` (as `/totals` answers) at once and on every change of
    the figures or of `unfolded`, a `heartbeat` event every 15 s with the latest freshness;
    a reconnect with `Last-Event-ID` skips unchanged totals."""
    await run_in_threadpool(read_totals, res.engine, res.redis, session_id)  # 404
    return StreamingResponse(
        _events(res.hub, session_id, heartbeat, last_event_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

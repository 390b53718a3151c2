"""The display feed that hall screens poll: compact figures of the shown session and of all
editions, with an ETag so an unchanged feed costs a screen a 304.

Thousands of screens poll one expo, so each expo's body is rendered once per change and
kept in memory. Whether it changed is one small indexed query (the expo's version,
`display_body.py`). An answer is at least as new as every fold committed `FRESH_SECONDS`
or more before the request arrived: a poll is answered from memory when the kept body's
version was read less than that long ago, and otherwise waits for a read. While an expo is
being polled, its version is read again every `RECHECK_SECONDS` in the background, so its
polls find a fresh body and do not wait (docs/adr/0006-display-feed-cache.md).
"""

import asyncio
import hashlib
import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api import freshness
from services.api.deps import read_access, resources_of
from services.api.display_body import render, version_of
from services.api.projections import sessions_of
from services.api.schemas import Display
from shared.openapi import READ, problems
from shared.runtime import SyncRedis

logger = logging.getLogger(__name__)
router = APIRouter(tags=["figures"])
PREFIX = "/v1/display/"
FRESH_SECONDS = 0.1  # an answer shows every fold committed this long before the request
RECHECK_SECONDS = 0.05  # how often the version of an expo being polled is read again
IDLE_SECONDS = 1.0  # an expo is being polled while its polls come at most this far apart
# The header the other reads take through their dependency, documented the same way.
AUTHORIZATION = {
    "name": "authorization",
    "in": "header",
    "required": False,
    "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Authorization"},
}


@dataclass(frozen=True, slots=True)
class Rendered:
    version: tuple[Any, ...]  # the expo's version, and its sessions' backlogs in Redis
    etag: str
    body: bytes
    checked: float  # time.monotonic() just before `version` was read
    sessions: tuple[str, ...] = ()


@dataclass
class Displays:
    """Each expo's rendered display body, never older than `fresh_seconds` when answered."""

    engine: Engine  # read-only
    redis: SyncRedis  # where the sessions' events not folded yet wait
    fresh_seconds: float = FRESH_SECONDS
    recheck_seconds: float = RECHECK_SECONDS
    idle_seconds: float = IDLE_SECONDS
    rendered: dict[str, Rendered] = field(default_factory=dict)
    polled: dict[str, float] = field(default_factory=dict)  # latest poll of a kept expo
    checking: dict[str, asyncio.Task[Rendered]] = field(default_factory=dict)
    refreshing: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    def fresh(self, expo_id: str) -> Rendered | None:
        """The kept body, if its version was read less than `fresh_seconds` ago. Such an
        answer counts as a poll of the expo: it keeps the expo's background reads going."""
        kept = self.rendered.get(expo_id)
        if kept is None:
            return None
        now = time.monotonic()
        if now - kept.checked >= self.fresh_seconds:
            return None
        self.polled[expo_id] = now
        return kept

    async def get(self, expo_id: str) -> Rendered:
        """The expo's body, read `fresh_seconds` before this call or later. A poll that
        finds no such body waits for a read (one per expo at a time, shared by every poll
        waiting); when the previous poll came less than `idle_seconds` before, it also
        starts the background reads, so the polls after it are answered from memory."""
        if (fresh := self.fresh(expo_id)) is not None:
            return fresh
        asked = time.monotonic()
        previous = self.polled.get(expo_id, -math.inf)
        if expo_id in self.rendered:  # only known expos: any path could name an expo
            self.polled[expo_id] = asked
        if asked - previous < self.idle_seconds and expo_id not in self.refreshing:
            self.refreshing[expo_id] = asyncio.create_task(self._refresh(expo_id))
        while True:  # a read that started too early is followed by one that did not
            found = await asyncio.shield(self._check(expo_id))
            if found.checked >= asked - self.fresh_seconds:
                return found

    async def close(self) -> None:
        """Stop the background reads; let the reads in flight end (each is one short read)."""
        for task in list(self.refreshing.values()):
            task.cancel()
        await asyncio.gather(*self.refreshing.values(), return_exceptions=True)
        await asyncio.gather(*self.checking.values(), return_exceptions=True)

    def check(self, expo_id: str, found: Rendered | None) -> Rendered:
        """Read the sessions' backlogs in Redis, then the expo's version; render its body
        again only when either moved. The version and the body share one transaction, so
        the body is exactly of that version; the backlogs are read first, so an event folded
        in between shows as unfolded rather than missing from both."""
        checked = time.monotonic()
        sessions = found.sessions if found is not None else self._sessions(expo_id)
        backlogs = freshness.backlogs(self.redis, sessions)
        with self.engine.connect() as conn:
            figures = version_of(conn, expo_id)
            version = (figures, tuple(sorted(backlogs.items(), key=lambda item: item[0])))
            if found is not None and found.version == version:
                return replace(found, checked=checked)
            body = render(conn, expo_id, figures[0][0], backlogs)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return Rendered(version, etag, body, checked, sessions_of(figures))

    def _sessions(self, expo_id: str) -> tuple[str, ...]:
        with self.engine.connect() as conn:
            return sessions_of(version_of(conn, expo_id))

    def _check(self, expo_id: str) -> asyncio.Task[Rendered]:
        """The expo's read in flight, or a new one: one per expo at a time, so bodies
        replace each other in the order their versions were read."""
        task = self.checking.get(expo_id)
        # A read that has ended but whose callbacks have not run yet is no read in flight:
        # awaiting it again would return at once, so a poll waiting for a newer read would
        # spin without ever yielding to the loop that runs those callbacks.
        if task is None or task.done():
            kept = self.rendered.get(expo_id)
            task = asyncio.create_task(run_in_threadpool(self.check, expo_id, kept))
            self.checking[expo_id] = task
            task.add_done_callback(lambda done: self._keep(expo_id, done))
        return task

    def _keep(self, expo_id: str, done: asyncio.Task[Rendered]) -> None:
        if self.checking.get(expo_id) is done:
            del self.checking[expo_id]
        if done.cancelled() or done.exception() is not None:
            self.rendered.pop(expo_id, None)
            self.polled.pop(expo_id, None)
            return
        kept = self.rendered.get(expo_id)
        if kept is None or done.result().checked >= kept.checked:  # never an older body
            self.rendered[expo_id] = done.result()

    async def _refresh(self, expo_id: str) -> None:
        """Read the version every `recheck_seconds` until no poll came for `idle_seconds`.
        A failed read ends it; the polls that wait for their own read report the error."""
        try:
            while time.monotonic() - self.polled.get(expo_id, -math.inf) < self.idle_seconds:
                found = await asyncio.shield(self._check(expo_id))
                await asyncio.sleep(found.checked + self.recheck_seconds - time.monotonic())
        except Exception:
            logger.debug("background reads of the display of %s ended", expo_id, exc_info=True)
        finally:
            del self.refreshing[expo_id]


@router.get(
    PREFIX + "{expo_id}",
    response_model=Display,
    responses={
        **problems(*READ),
        304: {"description": "Unchanged since the ETag sent in If-None-Match."},
    },
    openapi_extra={"parameters": [AUTHORIZATION]},
)
async def display(expo_id: str, request: Request) -> Response:
    """Compact figures for hall screens. Poll with If-None-Match: 304 while unchanged.
    An answer shows every fold committed 0.1 s or more before the request."""
    # Not a dependency: FastAPI's dependency handling cost more than the rest of a hit.
    res = resources_of(request.app)
    await read_access(res, request.headers.get("authorization"))
    shown = await res.displays.get(expo_id)
    if matches(shown.etag, request.headers.get("if-none-match")):
        return not_modified(shown.etag)
    return Response(
        shown.body,
        media_type="application/json",
        headers={"ETag": shown.etag, "Cache-Control": "no-cache"},
    )


ROUTE = router.routes[0]  # the display route, the one route of this router


class Hits:
    """ASGI middleware for the hot path: a poll the route would answer with a 304 from
    memory is answered here, before FastAPI routes it. That is a GET of the feed without an
    `Authorization` header while reads are public, for an expo whose body was checked less
    than `FRESH_SECONDS` ago, with an If-None-Match naming that body. Anything else goes on
    to the route. FastAPI's routing and parameter handling cost more than the rest of such
    an answer: they held hits to 60-80 % of a constant FastAPI route's rate."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hit = _hit(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if hit is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = ROUTE  # request metrics label it as the route's own answers
        await not_modified(hit.etag)(scope, receive, send)


def _hit(scope: Scope) -> Rendered | None:
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    res = resources_of(scope["app"])
    headers = Headers(scope=scope)
    if "authorization" in headers or not res.settings.public_reads:
        return None
    found = res.displays.fresh(path.removeprefix(PREFIX))
    if found is None or not matches(found.etag, headers.get("if-none-match")):
        return None
    return found


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})


def matches(etag: str, if_none_match: str | None) -> bool:
    """Whether If-None-Match names this ETag (weakly, as RFC 9110 says for GET) or is *."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags

"""The display feed that hall screens poll: compact figures of the shown session and of all
editions, with an ETag so an unchanged feed costs a screen a 304.

Thousands of screens poll one expo, so each expo's body is rendered once per change and
kept in memory. Whether it changed is one small indexed query (the expo's `version`: its
sessions, their figures rows and its baselines), made at most once per `FRESH_SECONDS` per
expo and process; every other request is answered from memory, so a change shows within
that window and the time of one read (docs/adr/0006-display-feed-cache.md).
"""

import asyncio
import hashlib
import time
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine, bindparam, func, select
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.deps import read_access
from services.api.schemas import Display, DisplayFigures, DisplaySession, RevisionsPublic
from services.api.standing import BASELINES, FIGURES, SESSIONS, Part, expo_parts
from shared.figures import Figures, total
from shared.fold import Revisions
from shared.openapi import READ, problems
from shared.problem import DomainError, Reason
from shared.tables import Expo

router = APIRouter(tags=["figures"])
PREFIX = "/v1/display/"
FRESH_SECONDS = 0.1
EXPOS = Expo.__table__  # type: ignore[attr-defined]
# The header the other reads take through their dependency, documented the same way.
AUTHORIZATION = {
    "name": "authorization",
    "in": "header",
    "required": False,
    "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Authorization"},
}

# Everything a display body is made of, except what never changes without it: a session's
# countries and inside count change only in a fold, which moves its figures row; a baseline
# is never edited.
VERSION = (
    select(
        EXPOS.c.name,
        select(func.count()).where(BASELINES.c.expo_id == EXPOS.c.id).scalar_subquery(),
        select(func.max(BASELINES.c.id)).where(BASELINES.c.expo_id == EXPOS.c.id).scalar_subquery(),
        SESSIONS.c.id,
        SESSIONS.c.name,
        SESSIONS.c.ordinal,
        SESSIONS.c.status,
        *FIGURES.c,
    )
    .select_from(
        EXPOS.outerjoin(SESSIONS, SESSIONS.c.expo_id == EXPOS.c.id).outerjoin(
            FIGURES, FIGURES.c.session_id == SESSIONS.c.id
        )
    )
    .where(EXPOS.c.id == bindparam("expo_id"))
    .order_by(SESSIONS.c.id)
)


@dataclass(frozen=True, slots=True)
class Rendered:
    version: tuple[Any, ...]
    etag: str
    body: bytes
    checked: float  # time.monotonic() when `version` was read


def version_of(conn: Connection, expo_id: str) -> tuple[Any, ...]:
    rows = conn.execute(VERSION, {"expo_id": expo_id}).all()
    if not rows:
        raise DomainError(Reason.UNKNOWN_EXPO, f"there is no expo {expo_id!r}")
    return tuple(tuple(row) for row in rows)


def _compact(figures: Figures) -> DisplayFigures:
    return DisplayFigures.model_validate(
        figures.model_dump(include=set(DisplayFigures.model_fields))
    )


def _shown(parts: list[Part]) -> Part | None:
    """The open session (the latest, if several), else the latest that is not planned."""
    sessions = [p for p in parts if p.session is not None]
    for wanted in ({"open"}, {"closed"}, {"planned"}):
        candidates = [p for p in sessions if p.session and p.session.status in wanted]
        if candidates:
            return candidates[-1]
    return None


def render(conn: Connection, expo_id: str, expo_name: str) -> bytes:
    parts = expo_parts(conn, expo_id)
    shown = _shown(parts)
    upto = [p for p in parts if shown is None or p.last_ordinal <= shown.last_ordinal]
    body = Display(
        expo_id=expo_id,
        expo_name=expo_name,
        editions=max((p.last_ordinal for p in upto), default=0),
        session=None
        if shown is None or shown.session is None
        else DisplaySession(
            id=shown.session.id,
            name=shown.session.name,
            ordinal=shown.session.ordinal,
            status=shown.session.status,
            as_of=shown.as_of,
            revisions=RevisionsPublic.of(shown.revisions or Revisions()),
        ),
        current=None if shown is None else _compact(shown.tally.figures()),
        cumulative=_compact(total(p.tally for p in upto).figures()),
    )
    return body.model_dump_json().encode()


@dataclass
class Displays:
    """Each expo's rendered display body, checked at most once per `fresh_seconds`."""

    engine: Engine  # read-only
    fresh_seconds: float = FRESH_SECONDS
    rendered: dict[str, Rendered] = field(default_factory=dict)
    checking: dict[str, asyncio.Task[Rendered]] = field(default_factory=dict)

    def fresh(self, expo_id: str) -> Rendered | None:
        """The kept body, if its version was read less than `fresh_seconds` ago."""
        kept = self.rendered.get(expo_id)
        if kept is not None and time.monotonic() - kept.checked < self.fresh_seconds:
            return kept
        return None

    async def get(self, expo_id: str) -> Rendered:
        """The expo's body. When its version was read `fresh_seconds` ago or longer, one
        check starts; meanwhile the kept body is the answer, so no poll waits for the check
        (waiting made hits queue for tens of milliseconds: the check's thread contends for
        the GIL with the busy event loop). Only an expo with no kept body waits."""
        if (fresh := self.fresh(expo_id)) is not None:
            return fresh
        kept = self.rendered.get(expo_id)
        task = self.checking.get(expo_id)
        if task is None:  # one check per expo at a time
            task = asyncio.create_task(run_in_threadpool(self.check, expo_id, kept))
            self.checking[expo_id] = task
            task.add_done_callback(lambda done: self._keep(expo_id, done))
        return kept if kept is not None else await asyncio.shield(task)

    async def close(self) -> None:
        """Let the checks in flight end (each is one short read)."""
        await asyncio.gather(*self.checking.values(), return_exceptions=True)

    def check(self, expo_id: str, found: Rendered | None) -> Rendered:
        """Read the expo's version; render its body again only when the version moved.
        Both reads share one transaction, so the body is exactly of that version."""
        checked = time.monotonic()
        with self.engine.connect() as conn:
            version = version_of(conn, expo_id)
            if found is not None and found.version == version:
                return replace(found, checked=checked)
            body = render(conn, expo_id, version[0][0])
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return Rendered(version, etag, body, checked)

    def _keep(self, expo_id: str, done: asyncio.Task[Rendered]) -> None:
        del self.checking[expo_id]
        if done.cancelled() or done.exception() is not None:
            self.rendered.pop(expo_id, None)
        else:
            self.rendered[expo_id] = done.result()


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
    A change shows within 0.1 s (and the time of one read)."""
    # Not a dependency: FastAPI's dependency handling cost more than the rest of a hit.
    await read_access(request.app.state.resources, request.headers.get("authorization"))
    displays: Displays = request.app.state.displays
    shown = await displays.get(expo_id)
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
    state = scope["app"].state
    headers = Headers(scope=scope)
    if "authorization" in headers or not state.resources.settings.public_reads:
        return None
    found: Rendered | None = state.displays.fresh(path.removeprefix(PREFIX))
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

"""Figures for people and screens: a session's totals, an expo's history, the display."""

import asyncio
import hashlib
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session

from services.api.admin import get_expo, get_session
from services.api.deps import ReadDbDep, ReaderDep, ResourcesDep
from services.api.schemas import (
    Display,
    DisplayFigures,
    DisplaySession,
    History,
    HistoryRow,
    Totals,
)
from services.api.standing import Part, expo_parts, session_totals
from shared.figures import Figures, Tally, total
from shared.openapi import READ, problems
from shared.stream import position_key

router = APIRouter(tags=["figures"])
MIN_POSITION_WAIT = 5.0
HEARTBEAT_SECONDS = 15.0


def _parts(db: Session, expo_id: str) -> list[Part]:
    return expo_parts(db.connection(), expo_id)


def read_totals(engine: Engine, session_id: str) -> Totals:
    """Through a read-only engine: on SQLite it never waits for a fold's write lock."""
    with Session(engine) as db:
        return session_totals(db.connection(), get_session(db, session_id))


def _folded(totals: Totals, min_position: str) -> bool:
    return totals.position is not None and position_key(totals.position) >= position_key(
        min_position
    )


@router.get("/v1/sessions/{session_id}/totals", responses=problems(*READ))
async def totals(
    session_id: str,
    _: ReaderDep,
    res: ResourcesDep,
    min_position: Annotated[
        str | None,
        Query(
            pattern=r"^\d{1,20}-\d{1,20}$",
            description="A `position` from ingest: wait (up to 5 s) until it is folded.",
        ),
    ] = None,
) -> Totals:
    """This edition's figures, those of every edition before it, and both together."""
    deadline = time.monotonic() + MIN_POSITION_WAIT
    while True:
        found = await run_in_threadpool(read_totals, res.reader, session_id)
        if min_position is None or _folded(found, min_position):
            return found
        if time.monotonic() >= deadline:
            return found.model_copy(update={"caught_up": False})
        await asyncio.sleep(0.05)


@router.get("/v1/expos/{expo_id}/history", responses=problems(*READ))
def history(expo_id: str, _: ReaderDep, db: ReadDbDep) -> History:
    """One row per baseline and session in ordinal order, with the running cumulative."""
    get_expo(db, expo_id)
    rows, running = [], Tally()
    for part in _parts(db, expo_id):
        running = running + part.tally
        rows.append(
            HistoryRow(
                kind="session" if part.session else "baseline",
                label=part.label,
                first_ordinal=part.first_ordinal,
                last_ordinal=part.last_ordinal,
                session_id=part.session.id if part.session else None,
                status=part.session.status if part.session else None,
                as_of=part.as_of,
                figures=part.tally.figures(),
                cumulative=running.figures(),
            )
        )
    return History(expo_id=expo_id, rows=rows)


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


@router.get(
    "/v1/display/{expo_id}",
    response_model=Display,
    responses={
        **problems(*READ),
        304: {"description": "Unchanged since the ETag sent in If-None-Match."},
    },
)
def display(expo_id: str, request: Request, _: ReaderDep, db: ReadDbDep) -> Response:
    """Compact figures for hall screens. Poll with If-None-Match: 304 while unchanged."""
    expo = get_expo(db, expo_id)
    parts = _parts(db, expo_id)
    shown = _shown(parts)
    upto = [p for p in parts if shown is None or p.last_ordinal <= shown.last_ordinal]
    body = Display(
        expo_id=expo.id,
        expo_name=expo.name,
        editions=max((p.last_ordinal for p in upto), default=0),
        session=None
        if shown is None or shown.session is None
        else DisplaySession(
            id=shown.session.id,
            name=shown.session.name,
            ordinal=shown.session.ordinal,
            status=shown.session.status,
            as_of=shown.as_of,
        ),
        current=None if shown is None else _compact(shown.tally.figures()),
        cumulative=_compact(total(p.tally for p in upto).figures()),
    ).model_dump_json()
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


class PageConfig(BaseModel):
    ingest_url: str | None
    ingest_port: int
    heartbeat_seconds: float


@router.get("/v1/config")
def page_config(res: ResourcesDep) -> PageConfig:
    """Where the desk and ceremony pages send events."""
    return PageConfig(
        ingest_url=res.settings.public_ingest_url,
        ingest_port=res.settings.ingest_port,
        heartbeat_seconds=HEARTBEAT_SECONDS,
    )

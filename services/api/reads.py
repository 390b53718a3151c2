"""Figures for people: a session's totals and an expo's history (the display feed for
screens is in `display.py`)."""

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session

from services.api import freshness, position
from services.api.admin import get_expo, get_session
from services.api.deps import ReaderDep, ResourcesDep, Sources, SourcesDep
from services.api.freshness import Freshness
from services.api.projections import exhibitor_names
from services.api.schemas import History, HistoryRow, RevisionsPublic, Totals
from services.api.standing import Part, expo_parts, session_ids, session_totals
from shared.figures import Tally
from shared.openapi import READ, problems
from shared.runtime import SyncRedis
from shared.stream import EntryId

router = APIRouter(tags=["figures"])
MIN_POSITION_WAIT = 5.0
HEARTBEAT_SECONDS = 15.0


def _parts(db: Session, expo_id: str) -> list[Part]:
    return expo_parts(db.connection(), expo_id)


NOTHING_TO_FOLD = Freshness(as_of=None, lag_seconds=0.0, unfolded=0)  # a baseline's


def read_totals(engine: Engine, redis: SyncRedis, session_id: str) -> Totals:
    """Through a read-only engine: on SQLite it never waits for a fold's write lock. The
    backlog is read first, so the figures read after it hold at least what it calls folded."""
    backlog = freshness.backlog(redis, session_id)
    with Session(engine) as db:
        return session_totals(db.connection(), get_session(db, session_id), backlog)


@router.get("/v1/sessions/{session_id}/totals", responses=problems(*READ))
async def totals(
    session_id: str,
    _: ReaderDep,
    res: ResourcesDep,
    min_position: Annotated[
        EntryId | None,
        Query(description="A `position` from ingest: wait (up to 5 s) until it is folded."),
    ] = None,
) -> Totals:
    """This edition's figures, those of every edition before it, and both together."""
    # The entry at min_position is looked at before the figures are read: the session's
    # newest folded position proves nothing about an older entry with several aggregators.
    deadline = time.monotonic() + MIN_POSITION_WAIT
    redis = res.redis
    while True:
        settled = min_position is None or await run_in_threadpool(
            position.folded, redis, res.reader, session_id, min_position
        )
        found = await run_in_threadpool(read_totals, res.reader, redis, session_id)
        if settled:
            return found
        if time.monotonic() >= deadline:
            return found.model_copy(update={"caught_up": False})
        await asyncio.sleep(0.05)


@router.get("/v1/expos/{expo_id}/history", responses=problems(*READ))
def history(expo_id: str, _: ReaderDep, sources: SourcesDep) -> History:
    """One row per baseline and session in ordinal order, with the running cumulative;
    each session row has its own freshness, the answer that of them all."""
    return expo_history(sources, expo_id)


def expo_history(sources: Sources, expo_id: str) -> History:
    """The history of an expo (404 for an unknown one), as the route and exports give it."""
    db = sources.db
    get_expo(db, expo_id)
    ids = session_ids(db.connection(), expo_id)
    db.rollback()  # the figures come from a snapshot taken after the backlogs were read
    backlogs = freshness.backlogs(sources.redis, ids)
    rows, running = [], Tally()
    for part in _parts(db, expo_id):
        running = running + part.tally
        fresh = (
            freshness.freshness(part.as_of, backlogs.get(part.session.id))
            if part.session
            else NOTHING_TO_FOLD
        )
        rows.append(
            HistoryRow(
                **fresh.model_dump(),
                kind="session" if part.session else "baseline",
                label=part.label,
                first_ordinal=part.first_ordinal,
                last_ordinal=part.last_ordinal,
                session_id=part.session.id if part.session else None,
                status=part.session.status if part.session else None,
                revisions=RevisionsPublic.of(part.revisions) if part.revisions else None,
                figures=part.tally.figures(),
                cumulative=running.figures(),
            )
        )
    sessions = freshness.combined(r for r in rows if r.kind == "session")
    return History(**sessions.model_dump(), expo_id=expo_id, rows=rows)


class Exhibitor(BaseModel):
    exhibitor_id: str
    name: str = Field(description="As its counted registration gives it.")


@router.get("/v1/sessions/{session_id}/exhibitors", responses=problems(*READ))
def session_exhibitors(session_id: str, _: ReaderDep, sources: SourcesDep) -> list[Exhibitor]:
    """The exhibitors registered for the session, by name: what the ceremony page offers
    as the exhibitor that signs a deal."""
    get_session(sources.db, session_id)
    names = exhibitor_names(sources.db.connection(), [session_id])
    return [
        Exhibitor(exhibitor_id=key, name=name)
        for key, name in sorted(names.items(), key=lambda item: (item[1], item[0]))
    ]


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

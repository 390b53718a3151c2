"""A session over time: its figures per bucket of the expo's clock, and where it stands
against the previous edition at the same point (day 2, 14:00)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Connection
from sqlmodel import Session

from services.api import changes, freshness, projections
from services.api.admin import get_expo, get_session
from services.api.buckets import Amount, Bucket, elapsed, revisions, spans
from services.api.changes import Metric
from services.api.deps import ReaderDep, ResourcesDep, SourcesDep
from services.api.freshness import Backlog, Freshness
from services.api.standing import expo_parts
from shared.errors import DomainError, Reason
from shared.openapi import READ, problems
from shared.tables import ExpoSession

router = APIRouter(tags=["figures"])
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)
Value = int | str  # a count, or an amount in CNY as a decimal string ("13550000000.00")


def _wire(amount: Amount) -> Value:
    return amount if isinstance(amount, int) else f"{amount:.2f}"


class SeriesBucket(BaseModel):
    start: datetime = Field(description="Local to the expo, with its offset.")
    end: datetime
    value: Value = Field(description="What the figure gained in the bucket (a void: lost).")
    running_total: Value = Field(description="The figure as it stood at the bucket's end.")
    revised_at: datetime | None = Field(
        default=None,
        description="When the bucket last gained a late event (folded more than "
        "EXPO_LATE_AFTER_SECONDS after it occurred) after the bucket had ended; null if never.",
    )


class Series(Freshness):
    session_id: str
    expo_id: str
    metric: Metric
    bucket: Bucket
    timezone: str
    total: Value
    buckets: list[SeriesBucket] = Field(
        description="Oldest first; a bucket with no change is left out."
    )


@router.get("/v1/sessions/{session_id}/timeseries", responses=problems(*READ))
def timeseries(
    session_id: str,
    _: ReaderDep,
    sources: SourcesDep,
    res: ResourcesDep,
    metric: Metric,
    bucket: Bucket = Bucket.HOUR,
) -> Series:
    """A figure per bucket of the expo's local clock, each with its running total. Events
    count where they occurred: a late upload lands in the bucket of its `occurred_at`."""
    db = sources.db
    backlog = freshness.backlog(sources.redis, session_id)  # before the figures
    session = get_session(db, session_id)
    zone = get_expo(db, session.expo_id).timezone
    found = changes.changes(db.connection(), session_id, metric)
    rows = spans(found, ZoneInfo(zone), bucket, metric.zero)
    late_after = timedelta(seconds=res.settings.late_after_seconds)
    stored = changes.revised(db.connection(), session_id, metric, late_after)
    revised = revisions(stored, ZoneInfo(zone), bucket)
    return Series(
        **freshness.freshness(projections.as_of(db.connection(), session_id), backlog).model_dump(),
        session_id=session_id,
        expo_id=session.expo_id,
        metric=metric,
        bucket=bucket,
        timezone=zone,
        total=_wire(rows[-1].running_total if rows else metric.zero),
        buckets=[
            SeriesBucket(
                start=r.start,
                end=r.end,
                value=_wire(r.value),
                running_total=_wire(r.running_total),
                revised_at=revised.get(r.start),
            )
            for r in rows
        ],
    )


class PointFigures(BaseModel):
    checkins: int
    attendees: int
    deals: int
    deal_value_cny: str


class Point(Freshness):
    session_id: str
    ordinal: int
    name: str
    at: datetime = Field(description="The moment, local to the expo.")
    figures: PointFigures


class Comparison(Freshness):
    """Freshness over both points: the newest `as_of`, the largest lag, the sum of the
    unfolded events."""

    session_id: str
    timezone: str
    day: int = Field(description="1 on the first day of the session (its `starts_on`).")
    time: str = Field(pattern=r"^\d{2}:\d{2}:\d{2}$", description="Local time of day.")
    current: Point
    previous: Point | None
    previous_missing: str | None = Field(
        None, description="Why there is no previous point, when there is none."
    )


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a point is taken: the moment, the expo's clock and the session's backlog."""

    at: datetime
    zone: ZoneInfo
    backlog: Backlog | None


def _point(db: Session, session: ExpoSession, where: _Where) -> Point:
    conn, at = db.connection(), where.at
    totals = {
        metric: sum(changes.changes(conn, session.id, metric, at).values(), metric.zero)
        for metric in Metric
    }
    return Point(
        **freshness.freshness(projections.as_of(conn, session.id), where.backlog).model_dump(),
        session_id=session.id,
        ordinal=session.ordinal,
        name=session.name,
        at=at.astimezone(where.zone),
        figures=PointFigures.model_validate({m.value: _wire(v) for m, v in totals.items()}),
    )


def _moment(session: ExpoSession, at: datetime | None) -> datetime:
    """Now (or `at`), but never past the session's closing."""
    moment = at or datetime.now(UTC)
    if session.closed_at is not None:
        moment = min(moment, session.closed_at)
    return moment


def _before(conn: Connection, session: ExpoSession) -> tuple[ExpoSession | None, str | None]:
    """The session of the previous edition, or why there is none."""
    earlier = [p for p in expo_parts(conn, session.expo_id) if p.last_ordinal < session.ordinal]
    if not earlier:
        return None, "there is no earlier edition"
    if earlier[-1].session is None:
        label = earlier[-1].label
        return None, f"the previous edition ({label}) predates the system: a baseline only"
    return earlier[-1].session, None


@router.get("/v1/sessions/{session_id}/compare", responses=problems(*READ))
def compare(
    session_id: str,
    _: ReaderDep,
    sources: SourcesDep,
    _with: Annotated[Literal["previous"], Query(alias="with")] = "previous",
    at: Annotated[
        AwareDatetime | None,
        Query(description="A moment of this session (RFC 3339); default now, or its close."),
    ] = None,
) -> Comparison:
    """This session's figures at a point (day 2, 14:00 in the expo's timezone) beside those
    of the previous edition at the same day and time of its own run, where the system
    recorded it. A previous edition known only from a baseline has no figures by the hour."""
    db = sources.db
    session = get_session(db, session_id)
    zone = ZoneInfo(get_expo(db, session.expo_id).timezone)
    if at is not None and not EARLIEST <= at <= LATEST:
        raise DomainError(Reason.VALIDATION_FAILED, "at must be between 1970 and 2999")
    moment = _moment(session, at)
    point = elapsed(moment, session.starts_on, zone)
    before, missing = _before(db.connection(), session)
    ids = [session.id, *([before.id] if before else [])]
    db.rollback()  # the figures come from a snapshot taken after the backlogs were read
    backlogs = freshness.backlogs(sources.redis, ids)
    previous = None
    if before is not None:
        try:
            then = point.within(before.starts_on, zone)
        except OverflowError:
            missing = "the same point of the previous edition is outside the calendar"
        else:
            previous = _point(db, before, _Where(then, zone, backlogs[before.id]))
    current = _point(db, session, _Where(moment, zone, backlogs[session.id]))
    return Comparison(
        **freshness.combined([current, *([previous] if previous else [])]).model_dump(),
        session_id=session.id,
        timezone=zone.key,
        day=point.day,
        time=point.clock.strftime("%H:%M:%S"),
        current=current,
        previous=previous,
        previous_missing=missing,
    )

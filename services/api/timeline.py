"""A session over time: its figures per bucket of the expo's clock, and where it stands
against the previous edition at the same point (day 2, 14:00)."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Connection

from services.api import changes
from services.api.admin import get_expo, get_session
from services.api.buckets import Amount, Bucket, elapsed, revisions, spans
from services.api.changes import Metric
from services.api.deps import ReadDbDep, ReaderDep, ResourcesDep
from services.api.standing import expo_parts
from shared.openapi import READ, problems
from shared.problem import DomainError, Reason
from shared.tables import ExpoSession, SessionFigures

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


class Series(BaseModel):
    session_id: str
    expo_id: str
    metric: Metric
    bucket: Bucket
    timezone: str
    as_of: datetime | None
    total: Value
    buckets: list[SeriesBucket] = Field(
        description="Oldest first; a bucket with no change is left out."
    )


@router.get("/v1/sessions/{session_id}/timeseries", responses=problems(*READ))
def timeseries(
    session_id: str,
    _: ReaderDep,
    db: ReadDbDep,
    res: ResourcesDep,
    metric: Metric,
    bucket: Bucket = Bucket.HOUR,
) -> Series:
    """A figure per bucket of the expo's local clock, each with its running total. Events
    count where they occurred: a late upload lands in the bucket of its `occurred_at`."""
    session = get_session(db, session_id)
    zone = get_expo(db, session.expo_id).timezone
    figures = db.get(SessionFigures, session_id)
    found = changes.changes(db.connection(), session_id, metric)
    rows = spans(found, ZoneInfo(zone), bucket, metric.zero)
    late_after = timedelta(seconds=res.settings.late_after_seconds)
    stored = changes.revised(db.connection(), session_id, metric, late_after)
    revised = revisions(stored, ZoneInfo(zone), bucket)
    return Series(
        session_id=session_id,
        expo_id=session.expo_id,
        metric=metric,
        bucket=bucket,
        timezone=zone,
        as_of=figures.as_of if figures else None,
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


class Point(BaseModel):
    session_id: str
    ordinal: int
    name: str
    at: datetime = Field(description="The moment, local to the expo.")
    figures: PointFigures


class Comparison(BaseModel):
    session_id: str
    timezone: str
    day: int = Field(description="1 on the first day of the session (its `starts_on`).")
    time: str = Field(pattern=r"^\d{2}:\d{2}:\d{2}$", description="Local time of day.")
    current: Point
    previous: Point | None
    previous_missing: str | None = Field(
        None, description="Why there is no previous point, when there is none."
    )


def _point(conn: Connection, session: ExpoSession, at: datetime, zone: ZoneInfo) -> Point:
    totals = {
        metric: sum(changes.changes(conn, session.id, metric, at).values(), metric.zero)
        for metric in Metric
    }
    return Point(
        session_id=session.id,
        ordinal=session.ordinal,
        name=session.name,
        at=at.astimezone(zone),
        figures=PointFigures.model_validate({m.value: _wire(v) for m, v in totals.items()}),
    )


def _moment(session: ExpoSession, at: datetime | None) -> datetime:
    """Now (or `at`), but never past the session's closing."""
    moment = at or datetime.now(UTC)
    if session.closed_at is not None:
        moment = min(moment, session.closed_at)
    return moment


@router.get("/v1/sessions/{session_id}/compare", responses=problems(*READ))
def compare(
    session_id: str,
    _: ReaderDep,
    db: ReadDbDep,
    _with: Annotated[Literal["previous"], Query(alias="with")] = "previous",
    at: Annotated[
        AwareDatetime | None,
        Query(description="A moment of this session (RFC 3339); default now, or its close."),
    ] = None,
) -> Comparison:
    """This session's figures at a point (day 2, 14:00 in the expo's timezone) beside those
    of the previous edition at the same day and time of its own run, where the system
    recorded it. A previous edition known only from a baseline has no figures by the hour."""
    session = get_session(db, session_id)
    zone = ZoneInfo(get_expo(db, session.expo_id).timezone)
    if at is not None and not EARLIEST <= at <= LATEST:
        raise DomainError(Reason.VALIDATION_FAILED, "at must be between 1970 and 2999")
    moment = _moment(session, at)
    point = elapsed(moment, session.starts_on, zone)
    conn = db.connection()
    earlier = [p for p in expo_parts(conn, session.expo_id) if p.last_ordinal < session.ordinal]
    before = earlier[-1] if earlier else None
    previous, missing = None, None
    if before is None:
        missing = "there is no earlier edition"
    elif before.session is None:
        missing = f"the previous edition ({before.label}) predates the system: a baseline only"
    else:
        try:
            then = point.within(before.session.starts_on, zone)
        except OverflowError:
            missing = "the same point of the previous edition is outside the calendar"
        else:
            previous = _point(conn, before.session, then, zone)
    return Comparison(
        session_id=session.id,
        timezone=zone.key,
        day=point.day,
        time=point.clock.strftime("%H:%M:%S"),
        current=_point(conn, session, moment, zone),
        previous=previous,
        previous_missing=missing,
    )

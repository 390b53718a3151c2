"""Time in an expo's own terms: buckets of its local clock, and "the same point" of another
edition (day 2 at 14:00). Pure: no I/O, no clock.

The database hands over changes per five-minute slot of UTC time. Every timezone in use
today is offset from UTC by a whole number of quarter hours, so a slot never straddles the
boundary of a local bucket of 5 minutes or more: each slot lands whole in one bucket.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

SLOT_SECONDS = 300
Amount = int | Decimal


class Bucket(StrEnum):
    FIVE_MINUTES = "5m"
    FIFTEEN_MINUTES = "15m"
    HOUR = "1h"
    DAY = "1d"

    @property
    def minutes(self) -> int:
        return {"5m": 5, "15m": 15, "1h": 60, "1d": 24 * 60}[self.value]


@dataclass(frozen=True, slots=True)
class Span:
    """One bucket: its local start and end, what changed in it, and the total at its end."""

    start: datetime
    end: datetime
    value: Amount
    running_total: Amount


def slot_start(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)


def bucket_of(moment: datetime, zone: ZoneInfo, bucket: Bucket) -> tuple[datetime, datetime]:
    """The local bucket that holds a moment: its start and end, aware, in the expo's zone.
    A day is a calendar day of the zone (23 or 25 hours where clocks change)."""
    local = moment.astimezone(zone)
    if bucket is Bucket.DAY:
        day = local.date()
        return _midnight(day, zone), _midnight(day + timedelta(days=1), zone)
    minutes = local.hour * 60 + local.minute
    floor = minutes - minutes % bucket.minutes
    start = local.replace(hour=floor // 60, minute=floor % 60, second=0, microsecond=0)
    start = start.astimezone(UTC)  # the right offset for that wall time
    end = start + timedelta(minutes=bucket.minutes)
    return start.astimezone(zone), end.astimezone(zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).astimezone(zone)


def spans(
    changes: Mapping[int, Amount], zone: ZoneInfo, bucket: Bucket, zero: Amount
) -> list[Span]:
    """Slot changes gathered into local buckets, oldest first, each with its running total.
    Buckets in which nothing changed are left out; the running total carries across them."""
    gathered: dict[datetime, tuple[datetime, Amount]] = {}
    for slot, change in changes.items():
        start, end = bucket_of(slot_start(slot), zone, bucket)
        _, value = gathered.get(start, (end, zero))
        gathered[start] = (end, value + change)
    result, running = [], zero
    for start in sorted(gathered):
        end, value = gathered[start]
        running += value
        result.append(Span(start, end, value, running))
    return result


@dataclass(frozen=True, slots=True)
class Elapsed:
    """How far into an edition a moment is: its day (1 = the first day) and local time."""

    day: int
    clock: time  # the local wall clock

    def within(self, starts_on: date, zone: ZoneInfo) -> datetime:
        """The moment as far into an edition that starts on `starts_on`, aware, in UTC."""
        day = starts_on + timedelta(days=self.day - 1)
        return datetime.combine(day, self.clock, tzinfo=zone).astimezone(UTC)


def elapsed(moment: datetime, starts_on: date, zone: ZoneInfo) -> Elapsed:
    local = moment.astimezone(zone)
    return Elapsed(day=(local.date() - starts_on).days + 1, clock=local.time())


def revisions(
    stored: Mapping[int, datetime], zone: ZoneInfo, bucket: Bucket
) -> dict[datetime, datetime]:
    """Per local bucket (by its start), when it last gained a late event after its end,
    from when the latest late event of each slot was stored. Buckets never revised are
    left out."""
    found: dict[datetime, datetime] = {}
    for slot, at in stored.items():
        start, end = bucket_of(slot_start(slot), zone, bucket)
        if at > end and (start not in found or at > found[start]):
            found[start] = at
    return found

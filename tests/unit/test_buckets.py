"""Buckets of an expo's local clock and the same point of another edition."""

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.api.buckets import SLOT_SECONDS, Bucket, Elapsed, bucket_of, elapsed, spans

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def slot(moment: str) -> int:
    return int(datetime.fromisoformat(moment).timestamp()) // SLOT_SECONDS


def test_a_day_bucket_is_a_local_calendar_day_also_when_clocks_change() -> None:
    start, end = bucket_of(datetime(2025, 10, 26, 12, tzinfo=UTC), BERLIN, Bucket.DAY)
    assert start.isoformat() == "2025-10-26T00:00:00+02:00"
    assert end.isoformat() == "2025-10-27T00:00:00+01:00"
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 25 * 3600


def test_an_hour_bucket_after_the_clocks_go_back_has_the_winter_offset() -> None:
    start, end = bucket_of(datetime(2025, 10, 26, 3, 30, tzinfo=UTC), BERLIN, Bucket.HOUR)
    assert (start.isoformat(), end.isoformat()) == (
        "2025-10-26T04:00:00+01:00",
        "2025-10-26T05:00:00+01:00",
    )


def test_spans_gather_slots_into_buckets_with_running_totals() -> None:
    changes = {
        slot("2025-09-26T09:10:00+08:00"): Decimal("1.50"),
        slot("2025-09-26T09:55:00+08:00"): Decimal("2.00"),
        slot("2025-09-26T12:00:00+08:00"): Decimal("-1.50"),
    }
    found = spans(changes, SHANGHAI, Bucket.HOUR, Decimal("0.00"))
    assert [(s.start.hour, s.value, s.running_total) for s in found] == [
        (9, Decimal("3.50"), Decimal("3.50")),
        (12, Decimal("-1.50"), Decimal("2.00")),
    ]


def test_the_same_point_of_another_edition_is_its_day_and_local_time() -> None:
    moment = datetime(2025, 9, 27, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, day 2
    point = elapsed(moment, date(2025, 9, 26), SHANGHAI)
    assert point == Elapsed(day=2, clock=time(14, 0))
    then = point.within(date(2024, 9, 20), SHANGHAI)
    assert then == datetime(2024, 9, 21, 6, 0, tzinfo=UTC)

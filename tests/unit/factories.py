"""Events for unit tests, built in one line each.

Every factory takes the event's number first: it becomes the event id (`UUID(int=n)`), so a
test can say which of two events with the same `occurred_at` comes first (the lower number).
Times are minutes after the opening of the 13th session, 2025-09-26 09:00 in Mianyang.
"""

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

from shared.events import (
    AttendeeCheckedIn,
    Category,
    DealKind,
    DealSigned,
    DealVoided,
    Direction,
    ExhibitorRegistered,
    encode_event,
    to_cny,
)
from shared.fold_state import State

SESSION_ID = "mianyang-13"
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
OPENING = datetime(2025, 9, 26, 9, 0, tzinfo=SHANGHAI)


def at(minute: int) -> datetime:
    return OPENING + timedelta(minutes=minute)


def event_id(n: int) -> UUID:
    return UUID(int=n)


def checkin(
    n: int,
    attendee_id: str,
    *,
    minute: int = 0,
    category: Category = Category.GENERAL,
    country: str = "CN",
    recorded_minute: int | None = None,
    direction: Direction = Direction.ENTRY,
    desk_id: str | None = "desk-1",
) -> AttendeeCheckedIn:
    return AttendeeCheckedIn(
        event_id=event_id(n),
        session_id=SESSION_ID,
        occurred_at=at(minute),
        recorded_at=at(minute if recorded_minute is None else recorded_minute),
        source="desk-1",
        attendee_id=attendee_id,
        category=category,
        country=country,
        desk_id=desk_id,
        direction=direction,
    )


def exit_scan(
    n: int,
    attendee_id: str,
    *,
    minute: int = 0,
    category: Category = Category.GENERAL,
    country: str = "CN",
    recorded_minute: int | None = None,
) -> AttendeeCheckedIn:
    """A badge scanned on the way out of the halls."""
    return checkin(
        n,
        attendee_id,
        minute=minute,
        category=category,
        country=country,
        recorded_minute=recorded_minute,
        direction=Direction.EXIT,
    )


def as_version_1(entry: AttendeeCheckedIn) -> str:
    """The entry as a check-in stored before schema version 2: no `direction` field."""
    assert entry.direction is Direction.ENTRY, "version 1 knew only entries"
    raw = json.loads(encode_event(entry))
    del raw["direction"]
    return json.dumps(raw | {"schema_version": 1})


def signed(
    n: int,
    deal_id: str,
    *,
    minute: int = 0,
    kind: DealKind = DealKind.CONTRACT,
    amount: str = "100.00",
    currency: str = "CNY",
    fx_rate_to_cny: str | None = None,
    counterparty_country: str | None = None,
    title: str = "Cyclotron isotope line",
    recorded_minute: int | None = None,
    sector: str | None = None,
    exhibitor_id: str | None = None,
) -> DealSigned:
    rate = None if fx_rate_to_cny is None else Decimal(fx_rate_to_cny)
    return DealSigned(
        event_id=event_id(n),
        session_id=SESSION_ID,
        occurred_at=at(minute),
        recorded_at=at(minute if recorded_minute is None else recorded_minute),
        source="ceremony-1",
        deal_id=deal_id,
        title=title,
        kind=kind,
        amount=Decimal(amount),
        currency=currency,
        fx_rate_to_cny=rate,
        amount_cny=to_cny(Decimal(amount), rate),
        counterparty="GiaStar Magnetic Material Co., Ltd.",
        counterparty_country=counterparty_country,
        sector=sector,
        exhibitor_id=exhibitor_id,
    )


def voided(
    n: int,
    deal_id: str,
    *,
    minute: int = 0,
    recorded_minute: int | None = None,
) -> DealVoided:
    return DealVoided(
        event_id=event_id(n),
        session_id=SESSION_ID,
        occurred_at=at(minute),
        recorded_at=at(minute if recorded_minute is None else recorded_minute),
        source="ceremony-1",
        deal_id=deal_id,
        reason="signed by mistake",
    )


def registered(
    n: int,
    exhibitor_id: str,
    *,
    minute: int = 0,
    country: str = "CN",
    projects_on_display: int = 1,
    recorded_minute: int | None = None,
) -> ExhibitorRegistered:
    return ExhibitorRegistered(
        event_id=event_id(n),
        session_id=SESSION_ID,
        occurred_at=at(minute),
        recorded_at=at(minute if recorded_minute is None else recorded_minute),
        source="organizer-1",
        exhibitor_id=exhibitor_id,
        name=f"Exhibitor {exhibitor_id}",
        country=country,
        projects_on_display=projects_on_display,
        booth_area_m2=Decimal("36.00"),
    )


def countries_of(state: State) -> frozenset[str]:
    """The country codes a folded state counts (those something still names)."""
    return frozenset(code for code, refs in state.country_refs.items() if refs > 0)

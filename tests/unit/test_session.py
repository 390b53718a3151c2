"""A session's lifecycle, and which events it takes: a check-in only on the session's days,
a day either side, in the expo's timezone; deals, voids and exhibitors whenever they
occurred."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from shared.errors import DomainError, Reason
from shared.session import SessionState, SessionStatus, admit, check_transition

from .factories import SESSION_ID, checkin, registered, signed, voided

# The 13th session: 2025-09-26..29 in Mianyang.
OPEN = SessionState(
    SESSION_ID,
    SessionStatus.OPEN,
    None,
    date(2025, 9, 26),
    date(2025, 9, 29),
    ZoneInfo("Asia/Shanghai"),
)


@pytest.mark.parametrize(
    ("moment", "on_its_days"),
    [
        (datetime(2025, 9, 24, 15, 59, 59, tzinfo=UTC), False),  # 23:59:59 on the 24th there
        (datetime(2025, 9, 24, 16, 0, tzinfo=UTC), True),  # 00:00 on the 25th there
        (datetime(2025, 9, 27, 12, 0, tzinfo=UTC), True),
        (datetime(2025, 9, 30, 15, 59, 59, tzinfo=UTC), True),  # 23:59:59 on the 30th there
        (datetime(2025, 9, 30, 16, 0, tzinfo=UTC), False),  # 00:00 on October 1st there
        (datetime(1999, 11, 16, 1, 0, tzinfo=UTC), False),
    ],
)
def test_a_checkin_is_taken_on_the_session_days_a_day_either_side_in_the_expo_zone(
    moment: datetime, on_its_days: bool
) -> None:
    scan = checkin(1, "att-1").model_copy(update={"occurred_at": moment})
    if on_its_days:
        admit(OPEN, scan)
        return
    with pytest.raises(DomainError) as refused:
        admit(OPEN, scan)
    assert refused.value.reason is Reason.OCCURRED_OUTSIDE_SESSION


def test_deals_voids_and_exhibitors_are_taken_whenever_they_occurred() -> None:
    long_before = datetime(2025, 6, 1, tzinfo=UTC)
    for event in (signed(1, "deal-1"), voided(2, "deal-1"), registered(3, "exh-1")):
        admit(OPEN, event.model_copy(update={"occurred_at": long_before}))


def test_a_planned_session_refuses_before_looking_at_the_date() -> None:
    planned = SessionState(
        SESSION_ID, SessionStatus.PLANNED, None, OPEN.starts_on, OPEN.ends_on, OPEN.zone
    )
    scan = checkin(1, "att-1").model_copy(update={"occurred_at": datetime(1999, 1, 1, tzinfo=UTC)})
    with pytest.raises(DomainError) as refused:
        admit(planned, scan)
    assert refused.value.reason is Reason.SESSION_NOT_OPEN


def test_a_closed_session_takes_only_events_that_occurred_before_it_closed() -> None:
    closed_at = datetime(2025, 9, 28, 10, 0, tzinfo=UTC)
    closed = SessionState(
        SESSION_ID, SessionStatus.CLOSED, closed_at, OPEN.starts_on, OPEN.ends_on, OPEN.zone
    )
    admit(closed, checkin(1, "att-1").model_copy(update={"occurred_at": closed_at.replace(hour=9)}))
    with pytest.raises(DomainError) as refused:
        admit(closed, checkin(2, "att-1").model_copy(update={"occurred_at": closed_at}))
    assert refused.value.reason is Reason.SESSION_CLOSED


def test_an_unknown_session_refuses_every_event() -> None:
    with pytest.raises(DomainError) as refused:
        admit(None, signed(1, "deal-1"))
    assert refused.value.reason is Reason.UNKNOWN_SESSION


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (SessionStatus.PLANNED, SessionStatus.OPEN),
        (SessionStatus.OPEN, SessionStatus.CLOSED),
        (SessionStatus.OPEN, SessionStatus.OPEN),  # no change
    ],
)
def test_a_planned_session_opens_and_an_open_one_closes(
    current: SessionStatus, wanted: SessionStatus
) -> None:
    check_transition(current, wanted)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (SessionStatus.PLANNED, SessionStatus.CLOSED),
        (SessionStatus.CLOSED, SessionStatus.OPEN),
        (SessionStatus.OPEN, SessionStatus.PLANNED),
    ],
)
def test_a_session_never_skips_a_step_or_goes_back(
    current: SessionStatus, wanted: SessionStatus
) -> None:
    with pytest.raises(DomainError) as refused:
        check_transition(current, wanted)
    assert refused.value.reason is Reason.INVALID_TRANSITION

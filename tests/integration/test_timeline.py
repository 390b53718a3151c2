"""A session over time: buckets of the expo's clock, late uploads, voids, and the same
point of the previous edition."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.conftest import new_id
from tests.integration.conftest import ADMIN, Stack

CHECKIN = {"category": "professional", "country": "CN"}
OPENING_DAY = date(2025, 9, 26)  # the day of the times the events are posted at


def post(stack: Stack, path: str, body: dict[str, Any]) -> None:
    response = stack.ingest.post(path, json=body, headers=ADMIN)
    assert response.status_code == 202, response.text


def scan(stack: Stack, session: str, attendee: str, at: str, **fields: str) -> None:
    body = {**CHECKIN, "session_id": session, "attendee_id": attendee, "occurred_at": at}
    post(stack, "/v1/checkins", {**body, **fields})


def sign(stack: Stack, session: str, deal_id: str, amount: str, at: str) -> None:
    body = {"session_id": session, "deal_id": deal_id, "title": "T", "kind": "contract"}
    post(stack, "/v1/deals", {**body, "amount": amount, "occurred_at": at})


def void(stack: Stack, session: str, deal_id: str, at: str) -> None:
    body = {"session_id": session, "reason": "withdrawn", "occurred_at": at}
    post(stack, f"/v1/deals/{deal_id}/void", body)


def session_on(stack: Stack, expo: str, ordinal: int, starts_on: str, *steps: str) -> str:
    session_id = new_id("session")
    body = {
        "id": session_id,
        "ordinal": ordinal,
        "name": f"Edition {ordinal}",
        "starts_on": starts_on,
        "ends_on": starts_on,
    }
    response = stack.api.post(f"/v1/expos/{expo}/sessions", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    for status in steps:
        patch = stack.api.patch(
            f"/v1/sessions/{session_id}", json={"status": status}, headers=ADMIN
        )
        assert patch.status_code == 200, patch.text
    return session_id


def series(stack: Stack, session: str, metric: str, bucket: str) -> list[tuple[str, Any, Any]]:
    response = stack.api.get(f"/v1/sessions/{session}/timeseries?metric={metric}&bucket={bucket}")
    assert response.status_code == 200, response.text
    body = response.json()
    if body["buckets"]:
        assert body["total"] == body["buckets"][-1]["running_total"]
    return [(b["start"], b["value"], b["running_total"]) for b in body["buckets"]]


def day_of_scans(stack: Stack) -> str:
    """Scans of 26 September 2025 in Shanghai (UTC+8); two arrive late, out of order."""
    session = stack.new_session(stack.new_expo(timezone="Asia/Shanghai"), starts_on=OPENING_DAY)
    scan(stack, session, "A1", "2025-09-26T09:58:00+08:00")
    scan(stack, session, "A2", "2025-09-26T10:03:00+08:00", category="general")
    scan(stack, session, "A1", "2025-09-26T10:40:00+08:00")  # a second visit
    scan(stack, session, "A2", "2025-09-26T10:50:00+08:00", direction="exit")  # not a check-in
    stack.fold()
    scan(stack, session, "A3", "2025-09-26T01:30:00Z")  # 09:30 in Shanghai, uploaded late
    scan(stack, session, "A2", "2025-09-26T09:45:00+08:00")  # A2's earliest entry, late
    stack.fold()
    return session


def test_late_uploads_land_in_the_bucket_of_their_occurred_at(stack: Stack) -> None:
    session = day_of_scans(stack)
    assert series(stack, session, "checkins", "1h") == [
        ("2025-09-26T09:00:00+08:00", 3, 3),
        ("2025-09-26T10:00:00+08:00", 2, 5),
    ]
    assert series(stack, session, "checkins", "15m") == [
        ("2025-09-26T09:30:00+08:00", 1, 1),
        ("2025-09-26T09:45:00+08:00", 2, 3),
        ("2025-09-26T10:00:00+08:00", 1, 4),
        ("2025-09-26T10:30:00+08:00", 1, 5),
    ]
    assert series(stack, session, "checkins", "1d") == [("2025-09-26T00:00:00+08:00", 5, 5)]
    assert stack.totals(session)["current"]["checkins"] == 5


def test_a_bucket_that_gained_a_late_event_after_its_end_says_when(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo(timezone="UTC"))
    now = datetime.now(UTC)
    scan(stack, session, "A1", now.isoformat())
    stack.fold()
    buckets = stack.api.get(f"/v1/sessions/{session}/timeseries?metric=checkins&bucket=5m")
    assert [b["revised_at"] for b in buckets.json()["buckets"]] == [None]

    earlier = now - timedelta(hours=2)
    scan(stack, session, "A2", earlier.isoformat())  # a desk that was offline uploads it
    folded = datetime.now(UTC)
    stack.fold()
    for metric in ("checkins", "attendees"):
        answer = stack.api.get(f"/v1/sessions/{session}/timeseries?metric={metric}&bucket=5m")
        late, live = answer.json()["buckets"]
        assert folded <= datetime.fromisoformat(late["revised_at"]) <= datetime.now(UTC)
        assert live["revised_at"] is None  # it gained nothing after its end


def test_a_badge_named_exit_is_still_a_check_in(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo(), starts_on=OPENING_DAY)
    scan(stack, session, "exit", "2025-09-26T09:00:00+08:00")
    scan(stack, session, "exit", "2025-09-26T09:20:00+08:00", direction="exit")
    stack.fold()
    assert series(stack, session, "checkins", "1h") == [("2025-09-26T09:00:00+08:00", 1, 1)]


def test_an_attendee_counts_once_in_the_bucket_of_their_earliest_entry(stack: Stack) -> None:
    session = day_of_scans(stack)
    # A2 first came in at 09:45 (late upload): the 10:00 bucket gains no attendee.
    assert series(stack, session, "attendees", "1h") == [("2025-09-26T09:00:00+08:00", 3, 3)]
    assert series(stack, session, "attendees", "5m") == [
        ("2025-09-26T09:30:00+08:00", 1, 1),
        ("2025-09-26T09:45:00+08:00", 1, 2),
        ("2025-09-26T09:55:00+08:00", 1, 3),
    ]
    assert stack.totals(session)["current"]["attendees"] == 3


def test_a_voided_deal_counts_from_its_signing_until_its_void(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo(timezone="Asia/Shanghai"), starts_on=OPENING_DAY)
    sign(stack, session, "D1", "100.00", "2025-09-26T11:10:00+08:00")
    sign(stack, session, "D2", "50.50", "2025-09-26T11:20:00+08:00")
    void(stack, session, "D1", "2025-09-27T09:05:00+08:00")
    void(stack, session, "D3", "2025-09-26T12:00:00+08:00")  # before its signing: never counts
    sign(stack, session, "D3", "999.00", "2025-09-26T12:30:00+08:00")
    stack.fold()

    assert series(stack, session, "deals", "1h") == [
        ("2025-09-26T11:00:00+08:00", 2, 2),
        ("2025-09-27T09:00:00+08:00", -1, 1),
    ]
    assert series(stack, session, "deal_value_cny", "1d") == [
        ("2025-09-26T00:00:00+08:00", "150.50", "150.50"),
        ("2025-09-27T00:00:00+08:00", "-100.00", "50.50"),
    ]
    current = stack.totals(session)["current"]
    assert (current["deals"], current["deal_value_cny"]) == (1, "50.50")


def test_buckets_follow_the_expo_clock_where_it_is_not_a_whole_hour_from_utc(
    stack: Stack,
) -> None:
    session = stack.new_session(
        stack.new_expo(timezone="Asia/Kathmandu"), starts_on=OPENING_DAY
    )  # UTC+05:45
    scan(stack, session, "K1", "2025-09-26T04:14:00Z")  # 09:59 there
    scan(stack, session, "K2", "2025-09-26T04:15:00Z")  # 10:00
    scan(stack, session, "K3", "2025-09-26T05:14:59Z")  # 10:59:59
    stack.fold()
    assert series(stack, session, "checkins", "1h") == [
        ("2025-09-26T09:00:00+05:45", 1, 1),
        ("2025-09-26T10:00:00+05:45", 2, 3),
    ]


def test_an_empty_session_has_no_buckets_and_a_zero_total(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    assert series(stack, session, "deal_value_cny", "1h") == []
    body = stack.api.get(f"/v1/sessions/{session}/timeseries?metric=deal_value_cny").json()
    assert (body["total"], body["bucket"], body["timezone"]) == ("0.00", "1h", "Asia/Shanghai")


def test_a_bad_metric_or_bucket_or_session_is_a_problem(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    for query in ("metric=visitors", "metric=checkins&bucket=2h", ""):
        response = stack.api.get(f"/v1/sessions/{session}/timeseries?{query}")
        assert response.status_code == 422, query
        assert response.headers["content-type"] == "application/problem+json"
    missing = stack.api.get("/v1/sessions/no-such-session/timeseries?metric=checkins")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def two_editions(stack: Stack) -> tuple[str, str]:
    """Edition 1 ran from 20 September 2024, edition 2 from 26 September 2025 (Shanghai)."""
    expo = stack.new_expo(timezone="Asia/Shanghai")
    last_year = session_on(stack, expo, 1, "2024-09-20", "open")
    scan(stack, last_year, "P1", "2024-09-20T10:00:00+08:00")
    scan(stack, last_year, "P2", "2024-09-21T13:59:00+08:00")  # day 2, before 14:00
    scan(stack, last_year, "P3", "2024-09-21T14:01:00+08:00")  # day 2, after 14:00
    scan(stack, last_year, "P1", "2024-09-21T11:00:00+08:00")  # a second visit
    sign(stack, last_year, "L1", "300.00", "2024-09-21T13:00:00+08:00")
    void(stack, last_year, "L1", "2024-09-21T15:00:00+08:00")  # still counted at 14:00
    sign(stack, last_year, "L2", "20.25", "2024-09-20T16:00:00+08:00")
    stack.fold()
    stack.api.patch(f"/v1/sessions/{last_year}", json={"status": "closed"}, headers=ADMIN)
    this_year = session_on(stack, expo, 2, "2025-09-26", "open")
    scan(stack, this_year, "N1", "2025-09-26T09:00:00+08:00")
    scan(stack, this_year, "N2", "2025-09-27T13:00:00+08:00")
    sign(stack, this_year, "T1", "1000.00", "2025-09-27T10:00:00+08:00")
    scan(stack, this_year, "N3", "2025-09-27T14:30:00+08:00")
    stack.fold()
    return last_year, this_year


def test_compare_puts_this_edition_beside_the_last_at_the_same_day_and_hour(
    stack: Stack,
) -> None:
    last_year, this_year = two_editions(stack)
    at = "2025-09-27T14:00:00+08:00"
    response = stack.api.get(
        f"/v1/sessions/{this_year}/compare", params={"with": "previous", "at": at}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["day"], body["time"], body["previous_missing"]) == (2, "14:00:00", None)
    assert body["current"]["at"] == at
    assert body["current"]["figures"] == {
        "checkins": 2,
        "attendees": 2,
        "deals": 1,
        "deal_value_cny": "1000.00",
    }
    previous = body["previous"]
    assert (previous["session_id"], previous["at"]) == (last_year, "2024-09-21T14:00:00+08:00")
    assert previous["figures"] == {
        "checkins": 3,
        "attendees": 2,
        "deals": 2,
        "deal_value_cny": "320.25",
    }


def test_compare_at_a_later_hour_sees_the_void_and_the_afternoon(stack: Stack) -> None:
    _, this_year = two_editions(stack)
    response = stack.api.get(
        f"/v1/sessions/{this_year}/compare", params={"at": "2025-09-27T07:30:00Z"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["day"], body["time"]) == (2, "15:30:00")
    assert body["current"]["figures"]["checkins"] == 3
    assert body["previous"]["figures"] == {
        "checkins": 4,
        "attendees": 3,
        "deals": 1,
        "deal_value_cny": "20.25",
    }


def test_compare_says_why_there_is_no_previous_point(stack: Stack) -> None:
    expo = stack.new_expo()
    first = session_on(stack, expo, 1, "2025-09-26", "open")
    body = stack.api.get(f"/v1/sessions/{first}/compare").json()
    assert (body["previous"], body["previous_missing"]) == (None, "there is no earlier edition")

    baseline = {
        "label": "Editions 1-4",
        "first_ordinal": 1,
        "last_ordinal": 4,
        "figures": {"attendees": 1000},
    }
    expo = stack.new_expo()
    assert (
        stack.api.post(f"/v1/expos/{expo}/baselines", json=baseline, headers=ADMIN).status_code
        == 201
    )
    fifth = session_on(stack, expo, 5, "2025-09-26", "open")
    body = stack.api.get(f"/v1/sessions/{fifth}/compare").json()
    assert body["previous"] is None
    assert "Editions 1-4" in body["previous_missing"]


def test_compare_refuses_a_moment_without_an_offset(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    response = stack.api.get(
        f"/v1/sessions/{session}/compare", params={"at": "2025-09-27T14:00:00"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"

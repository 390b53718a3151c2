"""Totals, history and the display: previous and cumulative figures across editions."""

from typing import Any

import httpx2

from tests.integration.conftest import ADMIN, Stack
from tests.seeds import FOUR_PREVIOUS_SESSIONS
from tests.wait import wait_until

# A display answer shows every change committed 0.1 s before it (ADR 0006); it shows by then.
DISPLAY_CHANGE_SECONDS = 2.0


def changed_display(stack: Stack, expo: str, etag: str) -> httpx2.Response:
    """The display's first answer that is not a 304 for `etag`."""

    def answer() -> httpx2.Response | None:
        found = stack.api.get(f"/v1/display/{expo}", headers={"If-None-Match": etag})
        return found if found.status_code != 304 else None

    changed = wait_until(answer, DISPLAY_CHANGE_SECONDS, "the display to change")
    assert changed is not None
    assert changed.status_code == 200, changed.text
    return changed


def checkin(stack: Stack, session: str, attendee: str, country: str) -> None:
    body = {
        "session_id": session,
        "attendee_id": attendee,
        "category": "professional",
        "country": country,
    }
    assert stack.ingest.post("/v1/checkins", json=body, headers=ADMIN).status_code == 202


def deal(stack: Stack, session: str, deal_id: str, amount: str) -> None:
    body = {
        "session_id": session,
        "deal_id": deal_id,
        "title": "T",
        "kind": "agreement",
        "amount": amount,
    }
    assert stack.ingest.post("/v1/deals", json=body, headers=ADMIN).status_code == 202


def test_cumulative_adds_the_baseline_and_earlier_sessions(stack: Stack) -> None:
    expo = stack.new_expo()
    assert (
        stack.api.post(
            f"/v1/expos/{expo}/baselines", json=FOUR_PREVIOUS_SESSIONS, headers=ADMIN
        ).status_code
        == 201
    )
    stack.new_session(expo, 5, "closed")
    sixth = stack.new_session(expo, 6)
    checkin(stack, sixth, "A1", "CN")
    checkin(stack, sixth, "A2", "DE")
    deal(stack, sixth, "D1", "15200000000.00")
    stack.fold()

    totals = stack.totals(sixth)
    assert (totals["ordinal"], totals["status"]) == (6, "open")
    assert totals["current"]["deals"] == 1
    previous, cumulative = totals["previous"], totals["cumulative"]
    assert previous["deals"] == 2107
    assert previous["deal_value_cny"] == "345000000000.00"
    assert previous["attendees"] == 1960000
    assert previous["professional_attendees"] == 270000
    assert (previous["countries"], previous["countries_exact"]) == (56, False)
    assert cumulative["deals"] == 2108
    assert cumulative["deal_value_cny"] == "360200000000.00"
    assert cumulative["attendees"] == 1960002
    assert cumulative["professional_attendees"] == 270002
    assert (cumulative["countries"], cumulative["countries_exact"]) == (56, False)
    assert cumulative["exhibitors"] == 3088


def test_countries_are_a_union_when_every_edition_lists_them(stack: Stack) -> None:
    expo = stack.new_expo()
    baseline = {
        **FOUR_PREVIOUS_SESSIONS,
        "figures": {"countries": 2},
        "countries_list": ["CN", "US"],
    }
    stack.api.post(f"/v1/expos/{expo}/baselines", json=baseline, headers=ADMIN)
    session = stack.new_session(expo, 5)
    checkin(stack, session, "A1", "CN")
    checkin(stack, session, "A2", "DE")
    stack.fold()
    cumulative = stack.totals(session)["cumulative"]
    assert (cumulative["countries"], cumulative["countries_exact"]) == (3, True)


def test_history_lists_each_edition_with_its_running_cumulative(stack: Stack) -> None:
    expo = stack.new_expo()
    stack.api.post(f"/v1/expos/{expo}/baselines", json=FOUR_PREVIOUS_SESSIONS, headers=ADMIN)
    sixth = stack.new_session(expo, 6)
    fifth = stack.new_session(expo, 5)
    deal(stack, fifth, "D1", "100.00")
    deal(stack, sixth, "D1", "200.00")
    stack.fold()
    rows = stack.api.get(f"/v1/expos/{expo}/history").json()["rows"]
    assert [(r["kind"], r["first_ordinal"]) for r in rows] == [
        ("baseline", 1),
        ("session", 5),
        ("session", 6),
    ]
    assert [r["cumulative"]["deals"] for r in rows] == [2107, 2108, 2109]
    assert [r["cumulative"]["deal_value_cny"] for r in rows] == [
        "345000000000.00",
        "345000000100.00",
        "345000000300.00",
    ]


def test_display_answers_304_while_the_figures_are_unchanged(stack: Stack) -> None:
    expo = stack.new_expo()
    session = stack.new_session(expo, 1)
    first = stack.api.get(f"/v1/display/{expo}")
    assert first.status_code == 200
    body: dict[str, Any] = first.json()
    assert body["session"]["id"] == session
    etag = first.headers["etag"]
    assert stack.api.get(f"/v1/display/{expo}", headers={"If-None-Match": etag}).status_code == 304
    checkin(stack, session, "A1", "CN")
    stack.fold()
    changed = changed_display(stack, expo, etag)
    assert changed.headers["etag"] != etag
    assert changed.json()["current"]["attendees"] == 1


def test_display_shows_the_open_session_before_a_later_planned_one(stack: Stack) -> None:
    expo = stack.new_expo()
    open_one = stack.new_session(expo, 1)
    stack.new_session(expo, 2, "planned")
    assert stack.api.get(f"/v1/display/{expo}").json()["session"]["id"] == open_one


def test_reference_data_refuses_duplicates_overlaps_and_bad_transitions(stack: Stack) -> None:
    expo = stack.new_expo()
    again = stack.api.post("/v1/expos", json={"id": expo, "name": "Again"}, headers=ADMIN)
    assert again.json()["reason"] == "already_exists"
    stack.api.post(f"/v1/expos/{expo}/baselines", json=FOUR_PREVIOUS_SESSIONS, headers=ADMIN)
    overlap = {
        "id": expo + "-3",
        "ordinal": 3,
        "name": "3rd",
        "starts_on": "2016-11-01",
        "ends_on": "2016-11-04",
    }
    response = stack.api.post(f"/v1/expos/{expo}/sessions", json=overlap, headers=ADMIN)
    assert (response.status_code, response.json()["reason"]) == (409, "ordinal_taken")
    session = stack.new_session(expo, 5, "closed")
    reopen = stack.api.patch(f"/v1/sessions/{session}", json={"status": "open"}, headers=ADMIN)
    assert (reopen.status_code, reopen.json()["reason"]) == (409, "invalid_transition")
    missing = stack.api.get("/v1/sessions/nope/totals")
    assert (missing.status_code, missing.json()["reason"]) == (404, "unknown_session")
    bad_tz = stack.api.post(
        "/v1/expos", json={"id": "tz", "name": "X", "timezone": "Mars/Base"}, headers=ADMIN
    )
    assert bad_tz.status_code == 422
    bad_dates = {**overlap, "id": expo + "-9", "ordinal": 9, "ends_on": "2016-10-01"}
    assert (
        stack.api.post(f"/v1/expos/{expo}/sessions", json=bad_dates, headers=ADMIN).status_code
        == 422
    )

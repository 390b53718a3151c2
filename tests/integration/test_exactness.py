"""Exact at the edges: an event_id reused in another session, sums past 2**63 fen, people
inside the halls of a closed edition, and revisions by late events, on both databases."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.aggregator.check import check
from services.aggregator.rebuild import rebuild
from tests.integration.conftest import ADMIN, Stack
from tests.integration.test_pipeline import post

SCAN = {"attendee_id": "A1", "category": "professional", "country": "CN"}
USD_DEAL = {
    "type": "deal.signed",
    "title": "Satellite constellation",
    "kind": "contract",
    "amount": "10000000000000.00",  # the largest amount an event may carry
    "currency": "USD",
    "fx_rate_to_cny": "9.99",
}


def test_an_event_id_reused_in_another_session_is_counted_there(stack: Stack) -> None:
    expo = stack.new_expo()
    first, second = stack.new_session(expo, 1), stack.new_session(expo, 2)
    event_id = str(uuid.uuid4())
    post(stack, "/v1/checkins", {"session_id": first, "event_id": event_id, **SCAN})
    stack.fold()
    again = {"session_id": second, "event_id": event_id, **SCAN, "attendee_id": "B7"}
    position = post(stack, "/v1/checkins", again)["position"]

    waited = stack.api.get(f"/v1/sessions/{second}/totals", params={"min_position": position})
    assert waited.json()["caught_up"] is False  # not folded yet: another session's is no proof
    stack.fold()
    totals = stack.api.get(f"/v1/sessions/{second}/totals", params={"min_position": position})
    assert totals.json()["caught_up"] is True
    assert totals.json()["current"]["checkins"] == 1
    assert stack.totals(first)["current"]["checkins"] == 1
    assert totals.json()["cumulative"]["checkins"] == 2


def test_sums_of_money_stay_exact_to_the_fen_past_the_range_of_integers(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    events = [{**USD_DEAL, "session_id": session, "deal_id": f"D{n}"} for n in range(1000)]
    answer = stack.ingest.post("/v1/events:batch", json={"events": events}, headers=ADMIN)
    assert {r["status"] for r in answer.json()["results"]} == {"accepted"}
    stack.fold()
    # 1,000 x 99,900,000,000,000.00 yuan: 10**19 fen, past 2**63 (9.2 x 10**18).
    assert stack.totals(session)["current"]["deal_value_cny"] == "99900000000000000.00"
    small = {"session_id": session, "deal_id": "small", "title": "Tea", "kind": "intent"}
    post(stack, "/v1/deals", {**small, "amount": "1.23"})
    stack.fold()
    expected = "99900000000000001.23"
    assert stack.totals(session)["current"]["deal_value_cny"] == expected

    kinds = stack.api.get(f"/v1/sessions/{session}/breakdown?by=kind").json()
    assert [(r["key"], r["deal_value_cny"]) for r in kinds["rows"]] == [
        ("contract", "99900000000000000.00"),  # a breakdown's row is as exact as the total
        ("intent", "1.23"),
    ]
    assert kinds["total"]["deal_value_cny"] == expected

    assert rebuild(stack.engine, [session]) == {session: 1001}
    assert stack.totals(session)["current"]["deal_value_cny"] == expected
    assert check(stack.engine, [session]) == []
    display = stack.api.get(f"/v1/display/{stack.totals(session)['expo_id']}").json()
    assert Decimal(display["cumulative"]["deal_value_cny"]) == Decimal(expected)


def test_nobody_is_inside_a_closed_session_nor_counted_twice_across_editions(
    stack: Stack,
) -> None:
    expo = stack.new_expo()
    earlier, later = stack.new_session(expo, 1), stack.new_session(expo, 2)
    for attendee in ("A1", "A2"):
        post(stack, "/v1/checkins", {"session_id": earlier, **SCAN, "attendee_id": attendee})
    post(stack, "/v1/checkins", {"session_id": later, **SCAN})
    stack.fold()
    assert stack.totals(earlier)["current"]["inside_now"] == 2

    closed = stack.api.patch(f"/v1/sessions/{earlier}", json={"status": "closed"}, headers=ADMIN)
    assert closed.status_code == 200
    assert stack.totals(earlier)["current"]["inside_now"] == 0
    totals = stack.totals(later)
    inside = [totals[part]["inside_now"] for part in ("current", "previous", "cumulative")]
    assert inside == [1, 0, 1]
    display = stack.api.get(f"/v1/display/{expo}").json()
    assert (display["current"]["inside_now"], display["cumulative"]["inside_now"]) == (1, 1)


def test_late_events_and_events_after_close_are_revisions_rebuilt_identically(
    stack: Stack,
) -> None:
    expo = stack.new_expo()
    session = stack.new_session(expo)
    now = datetime.now(UTC)
    post(stack, "/v1/checkins", {"session_id": session, **SCAN, "occurred_at": now.isoformat()})
    stack.fold()
    revisions = stack.totals(session)["revisions"]
    assert revisions == {"late_events": 0, "last_revised_at": None, "after_close": 0}

    offline = (now - timedelta(minutes=10)).isoformat()
    post(stack, "/v1/checkins", {"session_id": session, **SCAN, "occurred_at": offline})
    before = datetime.now(UTC)
    stack.fold()
    revisions = stack.totals(session)["revisions"]
    assert revisions["late_events"] == 1
    assert before <= datetime.fromisoformat(revisions["last_revised_at"]) <= datetime.now(UTC)

    stack.api.patch(f"/v1/sessions/{session}", json={"status": "closed"}, headers=ADMIN)
    just_before = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    post(stack, "/v1/checkins", {"session_id": session, **SCAN, "occurred_at": just_before})
    stack.fold()
    revisions = stack.totals(session)["revisions"]
    assert (revisions["late_events"], revisions["after_close"]) == (1, 1)

    history = stack.api.get(f"/v1/expos/{expo}/history").json()
    assert history["rows"][0]["revisions"] == revisions
    display = stack.api.get(f"/v1/display/{expo}").json()
    assert display["session"]["revisions"] == revisions
    assert check(stack.engine, [session]) == []
    rebuild(stack.engine, [session])
    assert stack.totals(session)["revisions"] == revisions

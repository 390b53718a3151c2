"""Bad input and wrong credentials get a 4xx problem+json and change nothing."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import ADMIN, Stack
from tests.seeds import FOUR_PREVIOUS_SESSIONS

PROBLEM = "application/problem+json"
CHECKIN = {"attendee_id": "A1", "category": "general", "country": "CN"}
DEAL = {"deal_id": "D1", "title": "Robots", "kind": "contract", "amount": "100.00"}
EXHIBITOR = {"exhibitor_id": "X1", "name": "Maker", "country": "CN", "projects_on_display": 3}
FAR_FUTURE = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()

# (path, valid body without session_id, field overrides that break one rule, where)
BAD: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("/v1/checkins", CHECKIN, {"attendee_id": ""}, "attendee_id"),
    ("/v1/checkins", CHECKIN, {"attendee_id": "x" * 65}, "attendee_id"),
    ("/v1/checkins", CHECKIN, {"attendee_id": 12345}, "attendee_id"),
    ("/v1/checkins", CHECKIN, {"attendee_id": "   "}, "attendee_id"),
    ("/v1/checkins", CHECKIN, {"attendee_id": " A1"}, "attendee_id"),
    ("/v1/checkins", CHECKIN, {"attendee_id": "\u202e"}, "attendee_id"),
    ("/v1/checkins", CHECKIN, {"attendee_id": "A\u200f1"}, "attendee_id"),
    ("/v1/checkins", CHECKIN, {"attendee_id": "\ufeffA1"}, "attendee_id"),
    ("/v1/checkins", CHECKIN, {"desk_id": "gate 4 "}, "desk_id"),
    ("/v1/checkins", CHECKIN, {"desk_id": "gate\u200b4"}, "desk_id"),
    ("/v1/checkins", CHECKIN, {"category": "press"}, "category"),
    ("/v1/checkins", CHECKIN, {"country": "cn"}, "country"),
    ("/v1/checkins", CHECKIN, {"country": "XX"}, "country"),
    ("/v1/checkins", CHECKIN, {"country": "CHN"}, "country"),
    ("/v1/checkins", CHECKIN, {"desk_id": ""}, "desk_id"),
    ("/v1/checkins", CHECKIN, {"event_id": "not-a-uuid"}, "event_id"),
    ("/v1/checkins", CHECKIN, {"occurred_at": "2025-09-26T09:00:00"}, "occurred_at"),
    ("/v1/checkins", CHECKIN, {"occurred_at": FAR_FUTURE}, "occurred_at"),
    ("/v1/checkins", CHECKIN, {"badge_colour": "red"}, "badge_colour"),
    ("/v1/checkins", CHECKIN, {"session_id": "Not A Slug!"}, "session_id"),
    ("/v1/deals", DEAL, {"amount": "0"}, "amount"),
    ("/v1/deals", DEAL, {"amount": "-5.00"}, "amount"),
    ("/v1/deals", DEAL, {"amount": "1.005"}, "amount"),
    ("/v1/deals", DEAL, {"amount": "10000000000000.01"}, "amount"),
    ("/v1/deals", DEAL, {"amount": 12.5}, "amount"),
    ("/v1/deals", DEAL, {"amount": "NaN"}, "amount"),
    ("/v1/deals", DEAL, {"amount": "Infinity"}, "amount"),
    ("/v1/deals", DEAL, {"amount": "1E+5"}, "amount"),
    ("/v1/deals", DEAL, {"amount": " 5.00 "}, "amount"),
    ("/v1/deals", DEAL, {"amount": "\uff15.00"}, "amount"),
    ("/v1/deals", DEAL, {"amount": "+5.00"}, "amount"),
    ("/v1/deals", DEAL, {"amount": "100.000"}, "amount"),
    ("/v1/deals", DEAL, {"amount": 100}, "amount"),
    ("/v1/deals", DEAL, {"currency": "USD", "fx_rate_to_cny": "7.1E0"}, "fx_rate_to_cny"),
    ("/v1/deals", DEAL, {"currency": "USD", "fx_rate_to_cny": " 7.1"}, "fx_rate_to_cny"),
    ("/v1/deals", DEAL, {"currency": "USD", "fx_rate_to_cny": 7}, "fx_rate_to_cny"),
    ("/v1/deals", DEAL, {"kind": "memo"}, "kind"),
    ("/v1/deals", DEAL, {"deal_id": ""}, "deal_id"),
    ("/v1/deals", DEAL, {"title": ""}, "title"),
    ("/v1/deals", DEAL, {"deal_id": "D\u200f1"}, "deal_id"),
    ("/v1/deals", DEAL, {"title": "   "}, "title"),
    ("/v1/deals", DEAL, {"title": "\u202eRobots"}, "title"),
    ("/v1/deals", DEAL, {"sector": "AI\u2066"}, "sector"),
    ("/v1/deals", DEAL, {"counterparty": "\u3000"}, "counterparty"),
    ("/v1/deals", DEAL, {"currency": "usd", "fx_rate_to_cny": "7.1"}, "currency"),
    ("/v1/deals", DEAL, {"currency": "ABC", "fx_rate_to_cny": "7.1"}, "currency"),
    ("/v1/deals", DEAL, {"currency": "USD"}, ""),
    ("/v1/deals", DEAL, {"fx_rate_to_cny": "2"}, ""),
    ("/v1/deals", DEAL, {"currency": "USD", "fx_rate_to_cny": "0"}, "fx_rate_to_cny"),
    ("/v1/deals", DEAL, {"counterparty_country": "Germany"}, "counterparty_country"),
    ("/v1/deals", DEAL, {"amount_cny": "100.00"}, "amount_cny"),
    ("/v1/exhibitors", EXHIBITOR, {"projects_on_display": -1}, "projects_on_display"),
    ("/v1/exhibitors", EXHIBITOR, {"projects_on_display": "3"}, "projects_on_display"),
    ("/v1/exhibitors", EXHIBITOR, {"projects_on_display": True}, "projects_on_display"),
    ("/v1/exhibitors", EXHIBITOR, {"booth_area_m2": "-1"}, "booth_area_m2"),
    ("/v1/exhibitors", EXHIBITOR, {"booth_area_m2": "5e1"}, "booth_area_m2"),
    ("/v1/exhibitors", EXHIBITOR, {"booth_area_m2": "\uff15\uff10"}, "booth_area_m2"),
    ("/v1/exhibitors", EXHIBITOR, {"booth_area_m2": 50}, "booth_area_m2"),
    ("/v1/exhibitors", EXHIBITOR, {"name": ""}, "name"),
    ("/v1/exhibitors", EXHIBITOR, {"exhibitor_id": "X\ufeff"}, "exhibitor_id"),
    ("/v1/exhibitors", EXHIBITOR, {"name": "Maker\u2028Works"}, "name"),
    ("/v1/exhibitors", EXHIBITOR, {"country": "de"}, "country"),
    ("/v1/deals/D1/void", {"reason": "typo"}, {"reason": ""}, "reason"),
    ("/v1/deals/D1/void", {"reason": "typo"}, {"deal_id": "D1"}, "deal_id"),
    ("/v1/deals/D1/void", {"reason": "typo"}, {"reason": "   "}, "reason"),
    ("/v1/deals/D1/void", {"reason": "typo"}, {"reason": "\u202etypo"}, "reason"),
]


def assert_problem(response: Any, status: int, reason: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["reason"] == reason
    assert body["type"].endswith(reason)
    assert body["title"]
    assert body["detail"]
    return body


@pytest.fixture
def session(stack: Stack) -> str:
    return stack.new_session(stack.new_expo())


@pytest.mark.parametrize(("path", "valid", "bad", "where"), BAD)
def test_each_validation_rule_refuses_the_event_and_appends_nothing(
    stack: Stack, session: str, path: str, valid: dict[str, Any], bad: dict[str, Any], where: str
) -> None:
    body = {"session_id": session, **valid, **bad}
    response = stack.ingest.post(path, json=body, headers=ADMIN)
    problem = assert_problem(response, 422, "validation_failed")
    locations = [".".join(map(str, e["loc"])) for e in problem["errors"]]
    assert any(where in loc for loc in locations), locations
    assert stack.stream_length(session) == 0
    accepted = stack.ingest.post(path, json={"session_id": session, **valid}, headers=ADMIN)
    assert accepted.status_code == 202, "the same body without the fault must be accepted"


@pytest.mark.parametrize("deal_id", ["%E2%80%AE", "D%E2%80%8F1", "%20D1", "%20%20"])
def test_a_void_of_a_deal_id_with_bidi_marks_or_outer_spaces_is_refused(
    stack: Stack, session: str, deal_id: str
) -> None:
    response = stack.ingest.post(
        f"/v1/deals/{deal_id}/void", json={"session_id": session, "reason": "typo"}, headers=ADMIN
    )
    problem = assert_problem(response, 422, "validation_failed")
    assert [e["loc"] for e in problem["errors"]] == [["path", "deal_id"]]
    assert stack.stream_length(session) == 0


def test_a_batch_refuses_each_item_with_a_sloppy_identifier_and_keeps_the_rest(
    stack: Stack, session: str
) -> None:
    item = {"type": "attendee.checked_in", "session_id": session, **CHECKIN}
    items = [item, {**item, "attendee_id": "A\u200f1"}, {**item, "desk_id": "   "}]
    response = stack.ingest.post("/v1/events:batch", json={"events": items}, headers=ADMIN)
    results = response.json()["results"]
    assert [r["reason"] for r in results] == [None, "validation_failed", "validation_failed"]
    assert stack.stream_length(session) == 1


@pytest.mark.parametrize("value", [345000000000, 345000000000.5, "3.45E+11", " 345000000000 "])
def test_a_baseline_takes_its_deal_value_only_as_a_plain_decimal_string(
    stack: Stack, value: object
) -> None:
    expo = stack.new_expo()
    path = f"/v1/expos/{expo}/baselines"
    body = {**FOUR_PREVIOUS_SESSIONS, "figures": {**FOUR_PREVIOUS_SESSIONS["figures"]}}
    body["figures"]["deal_value_cny"] = value
    problem = assert_problem(
        stack.api.post(path, json=body, headers=ADMIN), 422, "validation_failed"
    )
    assert [e["loc"] for e in problem["errors"]] == [["body", "figures", "deal_value_cny"]]
    assert stack.api.get(f"/v1/expos/{expo}/history").json()["rows"] == []
    assert stack.api.post(path, json=FOUR_PREVIOUS_SESSIONS, headers=ADMIN).status_code == 201


def test_malformed_json_is_a_400_problem(stack: Stack) -> None:
    response = stack.ingest.post(
        "/v1/checkins",
        content=b'{"session_id": ',
        headers={**ADMIN, "content-type": "application/json"},
    )
    assert_problem(response, 400, "malformed_body")


def test_deeply_nested_json_is_refused_not_crashed_on(stack: Stack) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = stack.ingest.post(
        "/v1/events:batch", content=body, headers={**ADMIN, "content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == PROBLEM


def test_a_body_over_one_mebibyte_is_refused_with_413(stack: Stack, session: str) -> None:
    big = {"session_id": session, **CHECKIN, "desk_id": "d", "padding": "x" * (1024 * 1024)}
    response = stack.ingest.post("/v1/checkins", json=big, headers=ADMIN)
    assert_problem(response, 413, "body_too_large")
    assert stack.stream_length(session) == 0


def test_a_batch_accepts_the_good_items_and_says_why_each_bad_one_was_refused(
    stack: Stack, session: str
) -> None:
    items = [
        {"type": "attendee.checked_in", "session_id": session, **CHECKIN},
        {"type": "attendee.checked_in", "session_id": session, **CHECKIN, "country": "cn"},
        {"type": "meeting.held", "session_id": session},
        "not an object",
        {"type": "deal.signed", "session_id": "no-such-session", **DEAL},
        {"type": "deal.signed", "session_id": session, **DEAL},
    ]
    response = stack.ingest.post("/v1/events:batch", json={"events": items}, headers=ADMIN)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["status"] for r in results] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert [r["reason"] for r in results] == [
        None,
        "validation_failed",
        "validation_failed",
        "validation_failed",
        "unknown_session",
        None,
    ]
    assert all(r["errors"] for r in results if r["status"] == "rejected")
    assert stack.stream_length(session) == 2
    stack.fold()
    current = stack.totals(session)["current"]
    assert (current["checkins"], current["deals"]) == (1, 1)


def test_a_batch_of_more_than_1000_events_is_refused_whole(stack: Stack, session: str) -> None:
    items = [{"type": "attendee.checked_in", "session_id": session, **CHECKIN}] * 1001
    response = stack.ingest.post("/v1/events:batch", json={"events": items}, headers=ADMIN)
    assert_problem(response, 422, "validation_failed")
    assert stack.stream_length(session) == 0


# --- sessions ------------------------------------------------------------------------------


def test_an_unknown_session_is_404(stack: Stack) -> None:
    body = {"session_id": "no-such-session", **CHECKIN}
    assert_problem(
        stack.ingest.post("/v1/checkins", json=body, headers=ADMIN), 404, "unknown_session"
    )


def test_a_planned_session_takes_no_events(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo(), status="planned")
    response = stack.ingest.post(
        "/v1/checkins", json={"session_id": session, **CHECKIN}, headers=ADMIN
    )
    assert_problem(response, 409, "session_not_open")
    assert stack.stream_length(session) == 0


def test_a_closed_session_takes_only_events_that_occurred_before_it_closed(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo(), status="closed")
    closed_at = datetime.fromisoformat(stack.api.get(f"/v1/sessions/{session}").json()["closed_at"])
    before = {
        "session_id": session,
        **CHECKIN,
        "occurred_at": (closed_at - timedelta(hours=1)).isoformat(),
    }
    after = {"session_id": session, **CHECKIN, "attendee_id": "A2"}
    assert stack.ingest.post("/v1/checkins", json=before, headers=ADMIN).status_code == 202
    assert_problem(
        stack.ingest.post("/v1/checkins", json=after, headers=ADMIN), 409, "session_closed"
    )
    stack.fold()
    assert stack.totals(session)["current"]["checkins"] == 1


def test_a_checkin_dated_outside_the_session_days_is_a_409_kept_as_a_rejected_scan(
    stack: Stack,
) -> None:
    session = stack.new_session(stack.new_expo(timezone="Asia/Shanghai"))
    starts_on = date.fromisoformat(stack.api.get(f"/v1/sessions/{session}").json()["starts_on"])
    # The first moment a check-in may occur: midnight in Mianyang, the day before the first.
    earliest = datetime.combine(starts_on - timedelta(days=1), time(0), ZoneInfo("Asia/Shanghai"))
    for occurred_at in ["1999-11-16T09:00:00+08:00", (earliest - timedelta(seconds=1)).isoformat()]:
        body = {"session_id": session, **CHECKIN, "occurred_at": occurred_at}
        response = stack.ingest.post("/v1/checkins", json=body, headers=ADMIN)
        problem = assert_problem(response, 409, "occurred_outside_session")
        assert str(starts_on) in problem["detail"]
    assert stack.stream_length(session) == 0
    body = {"session_id": session, **CHECKIN, "occurred_at": earliest.isoformat()}
    assert stack.ingest.post("/v1/checkins", json=body, headers=ADMIN).status_code == 202
    stack.fold()
    totals = stack.totals(session)
    assert totals["current"]["checkins"] == 1
    assert totals["rejected_scans"] == {"occurred_outside_session": 2}


def test_a_batch_refuses_a_checkin_dated_outside_the_session_days_and_keeps_the_rest(
    stack: Stack, session: str
) -> None:
    item = {"type": "attendee.checked_in", "session_id": session, **CHECKIN}
    items = [item, {**item, "occurred_at": "1999-11-16T09:00:00+08:00"}]
    response = stack.ingest.post("/v1/events:batch", json={"events": items}, headers=ADMIN)
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["reason"] == "occurred_outside_session"
    assert results[1]["errors"][0]["msg"]
    assert stack.stream_length(session) == 1


def test_deals_voids_and_exhibitors_dated_before_the_session_days_are_accepted(
    stack: Stack, session: str
) -> None:
    week_before = (datetime.now(UTC) - timedelta(days=9)).isoformat()
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/v1/deals", DEAL),
        ("/v1/deals/D1/void", {"reason": "typo"}),
        ("/v1/exhibitors", EXHIBITOR),
    ]
    for path, body in cases:
        dated = {"session_id": session, **body, "occurred_at": week_before}
        assert stack.ingest.post(path, json=dated, headers=ADMIN).status_code == 202, path
    assert stack.stream_length(session) == 3


# --- credentials -----------------------------------------------------------------------------


def test_no_token_or_an_unknown_token_is_401(stack: Stack, session: str) -> None:
    body = {"session_id": session, **CHECKIN}
    assert_problem(stack.ingest.post("/v1/checkins", json=body), 401, "unauthorized")
    wrong = {"Authorization": "Bearer expo_not-a-real-token"}
    assert_problem(stack.ingest.post("/v1/checkins", json=body, headers=wrong), 401, "unauthorized")
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    assert_problem(stack.ingest.post("/v1/checkins", json=body, headers=basic), 401, "unauthorized")
    assert_problem(stack.api.post("/v1/expos", json={"id": "x", "name": "X"}), 401, "unauthorized")
    assert stack.stream_length(session) == 0


@pytest.mark.parametrize(
    ("role", "path", "body"),
    [
        ("desk", "/v1/deals", DEAL),
        ("desk", "/v1/exhibitors", EXHIBITOR),
        ("ceremony", "/v1/checkins", CHECKIN),
        ("organizer", "/v1/deals/D1/void", {"reason": "typo"}),
        ("display", "/v1/checkins", CHECKIN),
    ],
)
def test_a_token_of_the_wrong_role_is_403(
    stack: Stack, session: str, role: str, path: str, body: dict[str, Any]
) -> None:
    token = stack.token(role)
    response = stack.ingest.post(path, json={"session_id": session, **body}, headers=token)
    assert_problem(response, 403, "forbidden")
    assert stack.stream_length(session) == 0


def test_each_role_may_post_its_own_events(stack: Stack, session: str) -> None:
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("desk", "/v1/checkins", CHECKIN),
        ("ceremony", "/v1/deals", DEAL),
        ("ceremony", "/v1/deals/D1/void", {"reason": "typo"}),
        ("organizer", "/v1/exhibitors", EXHIBITOR),
    ]
    for role, path, body in cases:
        response = stack.ingest.post(
            path, json={"session_id": session, **body}, headers=stack.token(role, session)
        )
        assert response.status_code == 202, (role, response.text)


def test_a_token_bound_to_one_session_cannot_post_to_another(stack: Stack) -> None:
    expo = stack.new_expo()
    mine, other = stack.new_session(expo, 1), stack.new_session(expo, 2)
    token = stack.token("desk", mine)
    response = stack.ingest.post(
        "/v1/checkins", json={"session_id": other, **CHECKIN}, headers=token
    )
    assert_problem(response, 403, "wrong_session")
    batch = stack.ingest.post(
        "/v1/events:batch",
        json={"events": [{"type": "attendee.checked_in", "session_id": other, **CHECKIN}]},
        headers=token,
    )
    assert batch.json()["results"][0]["reason"] == "wrong_session"
    assert stack.stream_length(other) == 0


@pytest.mark.parametrize("role", ["desk", "ceremony", "organizer", "display"])
def test_only_admins_manage_reference_data(stack: Stack, role: str) -> None:
    token = stack.token(role)
    response = stack.api.post("/v1/expos", json={"id": "by-" + role, "name": "X"}, headers=token)
    assert_problem(response, 403, "forbidden")
    assert stack.api.get("/v1/expos/by-" + role).status_code == 404


def test_issued_tokens_are_stored_only_as_hashes(stack: Stack) -> None:
    from sqlmodel import Session, select  # noqa: PLC0415

    from shared.tables import ApiToken  # noqa: PLC0415

    response = stack.api.post("/v1/tokens", json={"role": "desk"}, headers=ADMIN)
    issued = response.json()
    with Session(stack.engine) as db:
        record = db.exec(select(ApiToken).where(ApiToken.id == issued["id"])).one()
    assert issued["token"] not in record.token_hash
    assert len(issued["token"]) >= 43  # 256 random bits, url-safe


def test_reads_need_a_token_when_they_are_not_public(stack: Stack, session: str) -> None:
    from fastapi.testclient import TestClient  # noqa: PLC0415

    from services.api.app import create_app  # noqa: PLC0415

    private = stack.settings.model_copy(update={"public_reads": False})
    with TestClient(create_app(private)) as api:
        path = f"/v1/sessions/{session}/totals"
        assert_problem(api.get(path), 401, "unauthorized")
        for reference in ("/v1/expos", f"/v1/sessions/{session}"):
            assert_problem(api.get(reference), 401, "unauthorized")
        assert api.get(path, headers=stack.token("display")).status_code == 200
    assert stack.api.get(path).status_code == 200  # public by default


# --- dead letters ----------------------------------------------------------------------------

LARGEST_ENTRY_ID = f"{2**64 - 1}-{2**64 - 1}"


@pytest.mark.parametrize(
    "entry_id",
    [
        "067-73920622610718896888",
        f"{2**64}-0",
        f"0-{2**64}",
        "99999999999999999999-1",
        "\u0661-1",  # an Arabic-Indic digit
    ],
)
def test_a_dead_letter_route_refuses_an_entry_id_redis_cannot_hold_with_a_422(
    stack: Stack, session: str, entry_id: str
) -> None:
    path = f"/v1/dead-letters/{session}/{entry_id}"
    for response in (
        stack.api.delete(path, headers=ADMIN),
        stack.api.post(path + "/replay", headers=ADMIN),
    ):
        problem = assert_problem(response, 422, "validation_failed")
        assert [e["loc"] for e in problem["errors"]] == [["path", "entry_id"]]


def test_a_dead_letter_route_answers_404_for_the_largest_entry_id_and_422_for_a_bad_session(
    stack: Stack, session: str
) -> None:
    path = f"/v1/dead-letters/{session}/{LARGEST_ENTRY_ID}"
    assert_problem(stack.api.delete(path, headers=ADMIN), 404, "not_found")
    assert_problem(stack.api.post(path + "/replay", headers=ADMIN), 404, "not_found")
    bad_session = f"/v1/dead-letters/Not%20A%20Slug/{LARGEST_ENTRY_ID}"
    assert_problem(stack.api.delete(bad_session, headers=ADMIN), 422, "validation_failed")

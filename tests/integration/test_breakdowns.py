"""Breakdowns as the API answers them: kept by the fold, read per session and per expo, with
rows that add up to the total however they are cut (docs/design.md §4-5)."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.integration.conftest import ADMIN, Stack
from tests.seeds import FOUR_PREVIOUS_SESSIONS, PROMOTION_CONFERENCES_2022, conference_deals


def post_events(stack: Stack, session: str, events: list[dict[str, Any]]) -> None:
    body = {"events": [{**e, "session_id": session} for e in events]}
    answer = stack.ingest.post("/v1/events:batch", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert {r["status"] for r in answer.json()["results"]} == {"accepted"}


def breakdown(stack: Stack, path: str) -> dict[str, Any]:
    answer = stack.api.get(path)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def promotion_conferences(stack: Stack) -> tuple[str, list[str], list[dict[str, Any]]]:
    """The 2022 promotion conferences as an expo of three sessions, each signed in full and
    the first two closed; the deals they signed."""
    expo = stack.new_expo(name="China (Mianyang) Science and Technology City Promotion")
    sessions, signed = [], []
    for ordinal, (city, count, total) in enumerate(PROMOTION_CONFERENCES_2022, start=1):
        session = stack.new_session(expo, ordinal, name=city)
        deals = conference_deals(city, count, total)
        post_events(stack, session, deals)
        sessions.append(session)
        signed += deals
    stack.fold()
    for session in sessions[:2]:
        closed = stack.api.patch(
            f"/v1/sessions/{session}", json={"status": "closed"}, headers=ADMIN
        )
        assert closed.status_code == 200, closed.text
    return expo, sessions, signed


def by_sector(deals: list[dict[str, Any]]) -> dict[str, tuple[int, Decimal]]:
    """The reference: the deals grouped by sector, read straight off what was signed."""
    rows: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for deal in deals:
        rows[deal["sector"]][0] += 1
        rows[deal["sector"]][1] += Decimal(deal["amount"])
    return {sector: (n, value) for sector, (n, value) in rows.items()}


def measured(body: dict[str, Any]) -> dict[str | None, tuple[int, Decimal]]:
    return {row["key"]: (row["deals"], Decimal(row["deal_value_cny"])) for row in body["rows"]}


def test_the_2022_promotion_conferences_break_down_by_sector_to_the_published_totals(
    stack: Stack,
) -> None:
    expo, sessions, signed = promotion_conferences(stack)

    answer = breakdown(stack, f"/v1/expos/{expo}/breakdown?by=sector")

    assert measured(answer) == by_sector(signed)
    assert (answer["total"]["deals"], answer["total"]["deal_value_cny"]) == (75, "92913000000.00")
    values = [Decimal(row["deal_value_cny"]) for row in answer["rows"]]
    assert values == sorted(values, reverse=True)  # largest first
    assert (answer["subject"], answer["session_id"], answer["unfolded"]) == ("deals", None, 0)
    suzhou = breakdown(stack, f"/v1/sessions/{sessions[2]}/breakdown?by=kind")
    assert measured(suzhou) == {
        "contract": (
            20,
            sum((Decimal(d["amount"]) for d in signed[45:] if d["kind"] == "contract"), Decimal(0)),
        ),
        "agreement": (
            10,
            sum(
                (Decimal(d["amount"]) for d in signed[45:] if d["kind"] == "agreement"), Decimal(0)
            ),
        ),
    }
    assert suzhou["total"]["deal_value_cny"] == "52563000000.00"


def test_a_limit_adds_the_rest_into_one_other_row_and_the_rows_still_add_up(
    stack: Stack,
) -> None:
    expo, _, signed = promotion_conferences(stack)
    reference = by_sector(signed)
    top_two = sorted(reference, key=lambda s: reference[s][1], reverse=True)[:2]

    answer = breakdown(stack, f"/v1/expos/{expo}/breakdown?by=sector&limit=2")

    rows = answer["rows"]
    assert [(r["key"], r["part"]) for r in rows] == [
        (top_two[0], "key"),
        (top_two[1], "key"),
        (None, "other"),
    ]
    assert rows[2]["deals"] == 75 - sum(reference[s][0] for s in top_two)
    assert sum(Decimal(r["deal_value_cny"]) for r in rows) == Decimal("92913000000.00")
    assert sum(r["deals"] for r in rows) == answer["total"]["deals"] == 75


def test_baselines_are_the_unclassified_row_of_an_expo_and_people_count_by_country(
    stack: Stack,
) -> None:
    expo = stack.new_expo()
    baseline = stack.api.post(
        f"/v1/expos/{expo}/baselines", json=FOUR_PREVIOUS_SESSIONS, headers=ADMIN
    )
    assert baseline.status_code == 201, baseline.text
    session = stack.new_session(expo, 5)
    scans = [
        {"type": "attendee.checked_in", "attendee_id": a, "category": "general", "country": c}
        | ({"desk_id": d} if d else {})
        for a, c, d in (("A1", "CN", "gate-1"), ("A1", "DE", "gate-2"), ("A2", "DE", None))
    ]
    post_events(
        stack, session, [*scans, {**conference_deals("Mianyang", 1, "100.00")[0], "sector": None}]
    )
    stack.fold()

    people = breakdown(stack, f"/v1/expos/{expo}/breakdown?by=country")
    desks = breakdown(stack, f"/v1/sessions/{session}/breakdown?by=desk")
    deals = breakdown(stack, f"/v1/expos/{expo}/breakdown?by=sector")

    # Each scan counts where it was made; a person once, under their earliest entry.
    counted = {(r["key"], r["part"]): (r["attendees"], r["checkins"]) for r in people["rows"]}
    assert {k: c for (k, _), (_, c) in counted.items() if k} == {"CN": 1, "DE": 2}
    assert sum(a for a, _ in counted.values()) == people["total"]["attendees"] == 1960002
    assert counted[None, "unclassified"] == (1960000, 0)
    assert {r["key"]: r["part"] for r in desks["rows"]} == {
        "gate-1": "key",
        "gate-2": "key",
        None: "not_given",
    }
    assert [(r["key"], r["part"], r["deals"]) for r in deals["rows"]] == [
        (None, "not_given", 1),
        (None, "unclassified", 2107),
    ]
    assert deals["total"]["deal_value_cny"] == "345000000100.00"


def test_a_void_and_an_earlier_signing_move_a_deal_between_rows(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    deal = {"type": "deal.signed", "deal_id": "D1", "title": "Radar line", "kind": "contract"}
    registered = {
        "type": "exhibitor.registered",
        "exhibitor_id": "X1",
        "name": "Sichuan Jiuzhou Electric",
        "country": "CN",
        "projects_on_display": 12,
    }
    post_events(
        stack,
        session,
        [
            registered,
            {**deal, "amount": "500.00", "sector": "radar", "exhibitor_id": "X1"},
            {**deal, "deal_id": "D2", "amount": "80.00", "sector": "radar"},
        ],
    )
    stack.fold()
    path = f"/v1/sessions/{session}/breakdown?by="
    exhibitors = breakdown(stack, path + "exhibitor")["rows"]
    assert [(r["key"], r["label"], r["deals"]) for r in exhibitors] == [
        ("X1", "Sichuan Jiuzhou Electric", 1),
        (None, None, 1),
    ]

    # D2 signed again, an hour earlier, under another sector: the earliest signing counts.
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    again = {**deal, "deal_id": "D2", "amount": "80.00", "sector": "sonar", "occurred_at": earlier}
    post_events(stack, session, [again])
    voided = stack.ingest.post(
        "/v1/deals/D1/void", json={"session_id": session, "reason": "signed twice"}, headers=ADMIN
    )
    assert voided.status_code == 202, voided.text
    stack.fold()

    assert measured(breakdown(stack, path + "sector")) == {"sonar": (1, Decimal("80.00"))}
    assert measured(breakdown(stack, path + "exhibitor")) == {None: (1, Decimal("80.00"))}


def test_a_breakdown_asked_for_wrongly_is_a_problem_that_says_what_is_allowed(
    stack: Stack,
) -> None:
    session = stack.new_session(stack.new_expo())
    for path, status in (
        (f"/v1/sessions/{session}/breakdown?by=sectors", 422),
        (f"/v1/sessions/{session}/breakdown", 422),
        (f"/v1/sessions/{session}/breakdown?by=sector&limit=0", 422),
        (f"/v1/sessions/{session}/breakdown?by=sector&limit=ten", 422),
        ("/v1/sessions/no-such-session/breakdown?by=sector", 404),
        ("/v1/expos/no-such-expo/breakdown?by=country", 404),
    ):
        answer = stack.api.get(path)
        assert answer.status_code == status, path
        assert answer.headers["content-type"] == "application/problem+json", path
    typo = stack.api.get(f"/v1/sessions/{session}/breakdown?by=sectors").json()
    assert "'sector'" in str(typo["errors"])
    assert "'desk'" in str(typo["errors"])
    empty = breakdown(stack, f"/v1/sessions/{session}/breakdown?by=desk")
    assert (empty["rows"], empty["total"]["attendees"], empty["as_of"]) == ([], 0, None)


def test_the_suzhou_fact_sheet_quotes_the_2022_figures_in_press_style(stack: Stack) -> None:
    _, sessions, _ = promotion_conferences(stack)
    path = f"/v1/sessions/{sessions[2]}/factsheet"

    zh, en = breakdown(stack, path), breakdown(stack, path + "?lang=en")

    lines = {line["name"]: line for line in zh["figures"]}
    assert lines["deals"]["cumulative"] == {"exact": "75", "press": "75个"}
    assert lines["deal_value_cny"]["cumulative"] == {
        "exact": "¥92,913,000,000.00",
        "press": "929.13亿元",
    }
    assert lines["deal_value_cny"]["current"]["press"] == "525.63亿元"
    assert lines["deal_value_cny"]["previous"]["press"] == "403.5亿元"
    assert "929.13亿元" in zh["headline"]
    assert "75个" in zh["headline"]
    assert zh["comparisons"] == [
        "Suzhou一场签约金额525.63亿元，超过Xiamen、Dongguan之和（403.5亿元）。"
    ]
    english = {line["name"]: line for line in en["figures"]}
    assert english["deal_value_cny"]["cumulative"]["press"] == "92.91 billion yuan"
    assert en["comparisons"] == [
        "Suzhou alone signed 52.56 billion yuan, more than Xiamen and Dongguan together "
        "(40.35 billion yuan)."
    ]
    assert [row["key"] for row in en["top_sectors"]][:1] != [None]
    assert (zh["as_of"] is not None, zh["unfolded"], zh["revisions_note"]) == (True, 0, None)

    dongguan = breakdown(stack, f"/v1/sessions/{sessions[1]}/factsheet?lang=en")
    assert dongguan["comparisons"] == [  # 26.8 bn against Xiamen's 13.55 bn: true, and said
        "Dongguan alone signed 26.8 billion yuan, more than Xiamen (13.55 billion yuan)."
    ]
    xiamen = breakdown(stack, f"/v1/sessions/{sessions[0]}/factsheet?lang=en")
    assert xiamen["comparisons"] == []  # nothing before it to compare with
    assert stack.api.get(path + "?lang=fr").status_code == 422

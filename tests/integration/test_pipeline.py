"""Events posted to ingest, folded by the aggregator, read from the API: exact figures."""

import os
import random
import subprocess
import sys
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import col

from services.aggregator.check import check
from services.aggregator.rebuild import rebuild
from shared.events import decode_event
from shared.fold import fold
from shared.money import yuan_of
from shared.stream import GROUP, dead_letter_key, stream_key
from shared.tables import (
    BREAKDOWN_ROWS,
    COUNTRIES,
    PROJECTION_TABLES,
    SESSION_FIGURES,
    StoredEvent,
)
from tests.integration.conftest import ADMIN, Stack

# 09:00 UTC yesterday: the sessions of these tests run from yesterday (`running_days`), and
# the events posted at times after it and at their time of receipt both fall on its days.
T0 = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), time(9), tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def post(stack: Stack, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = stack.ingest.post(path, json=body, headers=ADMIN)
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def test_each_kind_of_event_lands_in_the_session_figures(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    checkin = {"session_id": session, "category": "professional", "country": "CN"}
    post(stack, "/v1/checkins", {**checkin, "attendee_id": "A1", "occurred_at": at(5)})
    post(stack, "/v1/checkins", {**checkin, "attendee_id": "A1", "occurred_at": at(50)})
    post(
        stack,
        "/v1/checkins",
        {**checkin, "attendee_id": "A2", "category": "media", "country": "HK"},
    )
    deal = {"session_id": session, "title": "Rare-earth-free magnets", "kind": "contract"}
    post(stack, "/v1/deals", {**deal, "deal_id": "D1", "amount": "13550000000.00"})
    post(
        stack,
        "/v1/deals",
        {
            **deal,
            "deal_id": "D2",
            "kind": "intent",
            "amount": "1000000.00",
            "currency": "USD",
            "fx_rate_to_cny": "7.1234",
            "counterparty_country": "DE",
        },
    )
    post(stack, "/v1/deals/D3/void", {"session_id": session, "reason": "entered twice"})
    post(stack, "/v1/deals", {**deal, "deal_id": "D3", "amount": "5.00"})
    post(
        stack,
        "/v1/exhibitors",
        {
            "session_id": session,
            "exhibitor_id": "X1",
            "name": "GiaStar",
            "country": "ID",
            "projects_on_display": 7,
        },
    )
    stack.fold()
    current = stack.totals(session)["current"]
    assert current["checkins"] == 3
    assert current["attendees"] == 2
    assert current["professional_attendees"] == 1
    assert current["attendees_by_category"]["media"] == 1
    assert current["deals"] == 2
    assert current["deals_by_kind"] == {"contract": 1, "agreement": 0, "intent": 1}
    assert current["deal_value_cny"] == "13557123400.00"
    assert current["countries"] == 4  # CN, HK, DE, ID
    assert current["exhibitors"] == 1
    assert current["projects_on_display"] == 7


def test_retried_event_is_counted_once(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    event_id = str(uuid.uuid4())
    body = {
        "session_id": session,
        "event_id": event_id,
        "attendee_id": "A1",
        "category": "vip",
        "country": "MO",
    }
    first = post(stack, "/v1/checkins", body)
    stack.fold()
    second = post(stack, "/v1/checkins", body)
    batch = stack.ingest.post(
        "/v1/events:batch",
        json={"events": [{"type": "attendee.checked_in", **body}] * 3},
        headers=ADMIN,
    )
    assert batch.status_code == 200
    stack.fold()
    assert first["event_id"] == second["event_id"] == event_id
    assert stack.totals(session)["current"]["checkins"] == 1


def test_late_earlier_checkin_moves_the_attendee_to_its_category(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    base = {"session_id": session, "attendee_id": "A1", "country": "CN"}
    post(stack, "/v1/checkins", {**base, "category": "general", "occurred_at": at(60)})
    stack.fold()
    assert stack.totals(session)["current"]["attendees_by_category"]["general"] == 1
    post(stack, "/v1/checkins", {**base, "category": "professional", "occurred_at": at(1)})
    stack.fold()
    by_category = stack.totals(session)["current"]["attendees_by_category"]
    assert by_category["general"] == 0
    assert by_category["professional"] == 1


def random_events(session: str, n: int, seed: int) -> list[dict[str, Any]]:
    """A day of mixed events with out-of-order times, repeats and voids."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for _ in range(n):
        common = {
            "session_id": session,
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "occurred_at": at(rng.randint(0, 600)),
        }
        kind = rng.random()
        if kind < 0.6:
            events.append(
                {
                    "type": "attendee.checked_in",
                    **common,
                    "attendee_id": f"A{rng.randint(1, 40)}",
                    "category": rng.choice(["professional", "general", "media", "vip"]),
                    "country": rng.choice(["CN", "HK", "DE", "ID", "US", "TW"]),
                }
            )
        elif kind < 0.8:
            events.append(
                {
                    "type": "deal.signed",
                    **common,
                    "deal_id": f"D{rng.randint(1, 15)}",
                    "title": "Project",
                    "kind": rng.choice(["contract", "intent"]),
                    "amount": f"{rng.randint(1, 10**9)}.{rng.randint(0, 99):02d}",
                    "counterparty_country": rng.choice(["JP", "DE", "FR"]),
                }
            )
        elif kind < 0.9:
            events.append(
                {
                    "type": "deal.voided",
                    **common,
                    "deal_id": f"D{rng.randint(1, 15)}",
                    "reason": "withdrawn",
                }
            )
        else:
            events.append(
                {
                    "type": "exhibitor.registered",
                    **common,
                    "exhibitor_id": f"X{rng.randint(1, 8)}",
                    "name": "Maker",
                    "country": rng.choice(["CN", "SG"]),
                    "projects_on_display": rng.randint(0, 20),
                }
            )
    return events


def projection_rows(stack: Stack, session: str) -> dict[str, list[tuple[Any, ...]]]:
    rows = {}
    with stack.engine.connect() as conn:
        for table in PROJECTION_TABLES:
            query = select(table).where(table.c.session_id == session).order_by(*table.primary_key)
            rows[table.name] = [tuple(r) for r in conn.execute(query)]
    return rows


def test_rebuild_reproduces_the_live_projections_exactly(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    events = random_events(session, 600, seed=7)
    arrivals = events + random.Random(8).sample(events, 100)  # redeliveries
    random.Random(9).shuffle(arrivals)
    for start in range(0, len(arrivals), 97):
        response = stack.ingest.post(
            "/v1/events:batch", json={"events": arrivals[start : start + 97]}, headers=ADMIN
        )
        assert {r["status"] for r in response.json()["results"]} == {"accepted"}
        if start % 3 == 0:
            stack.fold()
    stack.fold()
    live = projection_rows(stack, session)
    live_totals = stack.totals(session)["current"]

    assert rebuild(stack.engine, [session]) == {session: 600}
    assert projection_rows(stack, session) == live
    assert stack.totals(session)["current"] == live_totals

    with stack.engine.connect() as conn:
        stored = conn.execute(
            select(col(StoredEvent.payload)).where(col(StoredEvent.session_id) == session)
        )
        state, _ = fold(decode_event(payload) for payload in stored.scalars())
    assert live_totals["checkins"] == state.totals["checkins"]
    assert live_totals["deal_value_cny"] == f"{yuan_of(state.totals['deal_value_fen']):.2f}"
    assert live_totals["countries"] == state.totals["countries"]


def test_an_undecodable_entry_is_dead_lettered_and_the_fold_goes_on(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    stack.fold()
    stack.redis.xadd(stream_key(session), {"event": b"{not json"})
    stack.redis.xadd(stream_key(session), {"something": b"else"})
    post(
        stack,
        "/v1/checkins",
        {"session_id": session, "attendee_id": "A1", "category": "general", "country": "CN"},
    )
    stack.fold()
    assert stack.totals(session)["current"]["checkins"] == 1
    letters = stack.entries(dead_letter_key(session))
    assert [fields[b"dl_reason"].split(b":")[0] for _, fields in letters] == [
        b"undecodable",
        b"undecodable",
    ]
    assert stack.redis.xpending(stream_key(session), GROUP)["pending"] == 0


def test_entries_a_dead_consumer_left_pending_are_reclaimed(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    stack.fold()
    for n in range(5):
        post(
            stack,
            "/v1/checkins",
            {"session_id": session, "attendee_id": f"A{n}", "category": "general", "country": "CN"},
        )
    assert len(stack.read_as("crashed-consumer", session)) == 5
    stack.fold()
    assert stack.totals(session)["current"]["checkins"] == 0  # still pending elsewhere
    stack.consumer.config.claim_idle_ms = 0
    stack.consumer.claim_stale()
    assert stack.totals(session)["current"]["checkins"] == 5
    assert stack.redis.xpending(stream_key(session), GROUP)["pending"] == 0


def test_trimming_drops_only_entries_already_folded(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    stack.fold()
    for n in range(3):
        post(
            stack,
            "/v1/checkins",
            {"session_id": session, "attendee_id": f"A{n}", "category": "general", "country": "CN"},
        )
    stack.fold()
    post(
        stack,
        "/v1/checkins",
        {"session_id": session, "attendee_id": "late", "category": "general", "country": "CN"},
    )
    assert len(stack.read_as("slow-consumer", session)) == 1
    stack.consumer.trim()
    remaining = stack.entries(stream_key(session))
    assert len(remaining) >= 1
    assert remaining[-1][1][b"event"].find(b'"late"') > 0


def test_a_session_no_event_has_reached_is_clean_in_the_rebuild_check(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    assert check(stack.engine, [session]) == []
    assert rebuild(stack.engine, [session]) == {session: 0}
    assert check(stack.engine, [session]) == []


def test_the_rebuild_check_is_clean_after_live_folding_and_names_a_tampered_figure(
    stack: Stack,
) -> None:
    session = stack.new_session(stack.new_expo())
    events = random_events(session, 300, seed=11)
    for start in range(0, len(events), 50):
        stack.ingest.post(
            "/v1/events:batch", json={"events": events[start : start + 50]}, headers=ADMIN
        )
        stack.fold()
    assert check(stack.engine, [session]) == []
    with stack.engine.begin() as conn:
        conn.execute(
            update(SESSION_FIGURES)
            .where(SESSION_FIGURES.c.session_id == session)
            .values(checkins=SESSION_FIGURES.c.checkins + 1)
        )
        conn.execute(delete(COUNTRIES).where(COUNTRIES.c.session_id == session))
        conn.execute(
            update(BREAKDOWN_ROWS)
            .where(BREAKDOWN_ROWS.c.session_id == session, BREAKDOWN_ROWS.c.by == "desk")
            .values(checkins=BREAKDOWN_ROWS.c.checkins + 1)
        )
    differences = check(stack.engine, [session])
    assert any("breakdown_row" in line and "checkins live" in line for line in differences)
    assert any("session_figures totals: checkins live" in line for line in differences)
    assert any("country_ref" in line and "missing live" in line for line in differences)
    env = {**os.environ, "EXPO_DATABASE_URL": stack.settings.database_url}
    cli = [sys.executable, "-m", "services.cli", "rebuild", "--check", "--session", session]
    found = subprocess.run(cli, env=env, capture_output=True, text=True, check=False)
    assert found.returncode == 1
    assert "checkins live" in found.stdout
    rebuild(stack.engine, [session])
    fixed = subprocess.run(cli, env=env, capture_output=True, text=True, check=False)
    assert (fixed.returncode, fixed.stdout.strip()) == (0, "rebuild check: no differences")

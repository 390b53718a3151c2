"""The three services as processes: a day at an expo, read back as exact figures."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from redis import Redis

from shared.stream import stream_key
from tests.conftest import new_id, running_days
from tests.e2e.conftest import ADMIN, Services, create, open_session
from tests.seeds import FOUR_PREVIOUS_SESSIONS
from tests.wait import wait_until


def setup_expo(api: httpx2.Client) -> tuple[str, str]:
    expo = create(api, "/v1/expos", {"id": new_id("mianyang"), "name": "Mianyang High-Tech Expo"})
    create(api, f"/v1/expos/{expo['id']}/baselines", FOUR_PREVIOUS_SESSIONS)
    session = create(
        api,
        f"/v1/expos/{expo['id']}/sessions",
        {
            "id": new_id("mianyang-5"),
            "ordinal": 5,
            "name": "The 5th session",
            **running_days(),
        },
    )
    opened = api.patch(f"/v1/sessions/{session['id']}", json={"status": "open"}, headers=ADMIN)
    assert opened.status_code == 200
    return expo["id"], session["id"]


def accepted(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "accepted"
    return body


def test_a_day_of_events_reads_back_as_exact_figures(services: Services) -> None:
    api, ingest = services.client("api"), services.client("ingest")
    expo, session = setup_expo(api)
    desk = {
        "Authorization": "Bearer "
        + create(api, "/v1/tokens", {"role": "desk", "session_id": session})["token"]
    }
    stage = {"Authorization": "Bearer " + create(api, "/v1/tokens", {"role": "ceremony"})["token"]}
    organizer = {
        "Authorization": "Bearer " + create(api, "/v1/tokens", {"role": "organizer"})["token"]
    }
    now = datetime.now(UTC)

    def checkin(attendee: str, category: str, country: str, **extra: Any) -> dict[str, Any]:
        body = {
            "session_id": session,
            "attendee_id": attendee,
            "category": category,
            "country": country,
            **extra,
        }
        return accepted(ingest.post("/v1/checkins", json=body, headers=desk))

    checkin("A1", "professional", "CN", desk_id="gate-1")
    checkin("A1", "general", "CN", occurred_at=(now - timedelta(hours=2)).isoformat())
    checkin("A2", "media", "HK")
    retried = str(uuid.uuid4())
    for _ in range(3):  # a desk retrying after a lost answer
        checkin("A3", "professional", "TW", event_id=retried)

    deal = {"session_id": session, "title": "Medical cyclotron line", "kind": "contract"}
    accepted(
        ingest.post(
            "/v1/deals", json={**deal, "deal_id": "D1", "amount": "13550000000.00"}, headers=stage
        )
    )
    accepted(
        ingest.post(
            "/v1/deals",
            json={
                **deal,
                "deal_id": "D2",
                "kind": "agreement",
                "amount": "250000000.00",
                "currency": "USD",
                "fx_rate_to_cny": "7.1234",
                "counterparty": "Jakarta Robotics",
                "counterparty_country": "ID",
            },
            headers=stage,
        )
    )
    accepted(
        ingest.post(
            "/v1/deals/D3/void", json={"session_id": session, "reason": "duplicate"}, headers=stage
        )
    )
    accepted(
        ingest.post("/v1/deals", json={**deal, "deal_id": "D3", "amount": "99.00"}, headers=stage)
    )
    accepted(
        ingest.post(
            "/v1/exhibitors",
            json={
                "session_id": session,
                "exhibitor_id": "X1",
                "name": "GiaStar Magnetic Material",
                "country": "CN",
                "projects_on_display": 12,
                "booth_area_m2": "36.00",
            },
            headers=organizer,
        )
    )

    batch = ingest.post(
        "/v1/events:batch",
        headers=ADMIN,
        json={
            "events": [
                {
                    "type": "attendee.checked_in",
                    "session_id": session,
                    "attendee_id": "A4",
                    "category": "vip",
                    "country": "DE",
                },
                {
                    "type": "attendee.checked_in",
                    "session_id": session,
                    "attendee_id": "A5",
                    "category": "vip",
                    "country": "de",
                },
                {
                    "type": "deal.signed",
                    "session_id": session,
                    "deal_id": "D4",
                    "title": "Magnets",
                    "kind": "intent",
                    "amount": 1.5,
                },
                {
                    "type": "deal.signed",
                    "session_id": session,
                    "deal_id": "D4",
                    "title": "Magnets",
                    "kind": "intent",
                    "amount": "400000000.00",
                },
                {
                    "type": "exhibitor.registered",
                    "session_id": session,
                    "exhibitor_id": "X2",
                    "name": "Tianlian Robots",
                    "country": "CN",
                    "projects_on_display": -3,
                },
                {
                    "type": "attendee.checked_in",
                    "session_id": session,
                    "attendee_id": "A3",
                    "category": "professional",
                    "country": "TW",
                    "event_id": retried,
                },
            ]
        },
    )
    assert batch.status_code == 200
    assert [r["status"] for r in batch.json()["results"]] == [
        "accepted",
        "rejected",
        "rejected",
        "accepted",
        "rejected",
        "accepted",
    ]

    expected_current = {
        "checkins": 5,  # A1 twice, A2, A3 once however often retried, A4
        "attendees": 4,
        "professional_attendees": 1,  # A3; A1's earliest check-in was as general
        "attendees_by_category": {
            "professional": 1,
            "general": 1,
            "exhibitor": 0,
            "media": 1,
            "vip": 1,
            "delegate": 0,
        },
        "deals": 3,
        "deals_by_kind": {"contract": 1, "agreement": 1, "intent": 1},
        "deal_value_cny": "15730850000.00",  # 13,550,000,000 + 250,000,000 x 7.1234 + 400,000,000
        "major_deals": 3,  # each of ¥100 million or more
        "countries": 5,  # CN, HK, TW, ID, DE
        "countries_exact": True,
        "exhibitors": 1,
        "projects_on_display": 12,
        "inside_now": 4,  # nobody has left yet
    }
    totals = wait_until(
        lambda: (
            (t := api.get(f"/v1/sessions/{session}/totals").json())["current"] == expected_current
            and t
        ),
        timeout=30,
        what="the folded figures",
    )
    assert totals["previous"]["deals"] == 2107
    assert totals["previous"]["countries_exact"] is False
    assert totals["cumulative"] == {
        "checkins": 5,
        "attendees": 1960004,
        "professional_attendees": 270001,
        "attendees_by_category": {
            "professional": 270001,
            "general": 1,
            "exhibitor": 0,
            "media": 1,
            "vip": 1,
            "delegate": 0,
        },
        "deals": 2110,
        "deals_by_kind": {"contract": 1, "agreement": 1, "intent": 1},
        "deal_value_cny": "360730850000.00",
        "major_deals": 3,
        "countries": 56,
        "countries_exact": False,
        "exhibitors": 3089,
        "projects_on_display": 6911,
        "inside_now": 4,
    }
    display = api.get(f"/v1/display/{expo}")
    assert display.json()["cumulative"]["deal_value_cny"] == "360730850000.00"
    assert (
        api.get(
            f"/v1/display/{expo}", headers={"If-None-Match": display.headers["etag"]}
        ).status_code
        == 304
    )
    for name in ("api", "ingest", "aggregator"):
        metrics = services.client(name).get("/metrics").text
        assert "expo_" in metrics
    assert services.client("api").get("/v1/no-such-thing").status_code == 404
    requests = services.client("api").get("/metrics").text
    assert 'route="/v1/display/{expo_id}",status="304"' in requests  # templates, not paths
    assert 'route="unmatched",status="404"' in requests
    folded = services.client("aggregator").get("/metrics").text
    assert 'expo_aggregator_events_folded_total{type="attendee.checked_in"} 5.0' in folded


def test_the_demo_moves_the_display(services: Services) -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    finished = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--rate", "50", "--duration", "3"],
        env=services.env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    summary = re.search(rb"demo: (\d+) events accepted, (\d+) refused", finished.stdout)
    assert summary is not None, finished.stdout
    assert int(summary[1]) > 30
    assert int(summary[2]) == 0
    api = services.client("api")
    display = wait_until(
        lambda: (
            (d := api.get("/v1/display/demo-hitech-expo").json())["current"]["checkins"] > 30 and d
        ),
        timeout=30,
        what="the demo's check-ins on the display",
    )
    assert display["session"]["status"] == "open"
    assert display["cumulative"]["deals"] >= 2107
    assert 0 < display["current"]["inside_now"] <= display["current"]["attendees"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dead_letter_raises_a_readiness_warning_not_an_outage(services: Services) -> None:
    session = open_session(services, status="planned")
    redis = Redis.from_url(services.env["EXPO_REDIS_URL"])
    try:
        redis.xadd(stream_key(session), {"event": b"{not an event"})
    finally:
        redis.close()
    aggregator = services.client("aggregator")
    ready = wait_until(
        lambda: (r := aggregator.get("/readyz")).json().get("warnings") and r,
        timeout=40,
        what="a dead-letter warning on /readyz",
    )
    assert ready.status_code == 200
    assert ready.json()["warnings"]["dead_letters"].startswith("1 waiting")
    assert "expo_dead_letters 1.0" in aggregator.get("/metrics").text

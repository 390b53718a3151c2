"""Every answer with figures says how fresh they are: events posted through ingest and not
folded yet show as `unfolded` with the age of the oldest as `lag_seconds`, until the
aggregator folds them."""

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.live import Hub, _events, update_of
from services.api.schemas import Totals
from shared.db import read_only
from shared.stream import stream_key
from tests.integration.conftest import ADMIN, Stack
from tests.seeds import FOUR_PREVIOUS_SESSIONS
from tests.wait import wait_until

ROUNDING = 0.05  # lag_seconds is rounded to 0.1 s


def checkin(stack: Stack, session: str, attendee: str) -> str:
    """Post a check-in through ingest; the stream position it was appended at."""
    body = {"session_id": session, "attendee_id": attendee, "category": "general", "country": "CN"}
    response = stack.ingest.post("/v1/checkins", json=body, headers=ADMIN)
    assert response.status_code == 202, response.text
    position: str = response.json()["position"]
    return position


def appended_at(position: str) -> float:
    """When Redis appended the entry: its id is a millisecond timestamp."""
    return int(position.split("-", maxsplit=1)[0]) / 1000


def get_aged(stack: Stack, path: str, oldest: str) -> tuple[dict[str, Any], float, float]:
    """The answer, and the least and most the age of the `oldest` entry can be in it."""
    asked = time.time()
    response = stack.api.get(path)
    answered = time.time()
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    born = appended_at(oldest)
    return body, asked - born - ROUNDING, answered - born + 0.001 + ROUNDING


def test_totals_count_the_events_not_folded_yet_and_the_age_of_the_oldest(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    stack.fold()  # the aggregator follows the session from now on
    first = checkin(stack, session, "A1")
    checkin(stack, session, "A2")
    assert len(stack.read_as("a-consumer-that-died", session)) == 2  # pending, not folded
    checkin(stack, session, "A3")

    totals, least, most = get_aged(stack, f"/v1/sessions/{session}/totals", first)
    assert (totals["unfolded"], totals["as_of"], totals["current"]["checkins"]) == (3, None, 0)
    assert least <= totals["lag_seconds"] <= most

    idle, stack.consumer.config.claim_idle_ms = stack.consumer.config.claim_idle_ms, 0
    stack.consumer.claim_stale()  # the aggregator takes over what the dead consumer held
    stack.consumer.config.claim_idle_ms = idle
    stack.fold()
    totals = stack.totals(session)
    assert (totals["unfolded"], totals["lag_seconds"]) == (0, 0)
    assert totals["current"]["checkins"] == 3
    assert totals["as_of"] is not None


def test_a_session_with_no_events_is_fresh(stack: Stack) -> None:
    totals = stack.totals(stack.new_session(stack.new_expo()))
    assert (totals["as_of"], totals["lag_seconds"], totals["unfolded"]) == (None, 0, 0)


def test_a_dead_lettered_entry_is_not_waiting_to_be_folded(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    stack.redis.xadd(stream_key(session), {"event": b"{not json"})
    checkin(stack, session, "A1")
    assert stack.totals(session)["unfolded"] == 2
    stack.fold()
    totals = stack.totals(session)
    assert (totals["current"]["checkins"], totals["unfolded"], totals["lag_seconds"]) == (1, 0, 0)


def test_history_gives_each_session_its_freshness_and_the_answer_that_of_all(
    stack: Stack,
) -> None:
    expo = stack.new_expo()
    response = stack.api.post(
        f"/v1/expos/{expo}/baselines", json=FOUR_PREVIOUS_SESSIONS, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    closed = stack.new_session(expo, 5, "closed")
    sixth = stack.new_session(expo, 6)
    first = checkin(stack, sixth, "A1")
    checkin(stack, sixth, "A2")
    refused = stack.ingest.post(
        "/v1/checkins",
        json={"session_id": closed, "attendee_id": "A9", "category": "general", "country": "CN"},
        headers=ADMIN,
    )
    assert refused.status_code == 409  # kept as a rejected scan: no session's event

    history, least, most = get_aged(stack, f"/v1/expos/{expo}/history", first)
    baseline, closed_row, open_row = history["rows"]
    assert (baseline["as_of"], baseline["lag_seconds"], baseline["unfolded"]) == (None, 0, 0)
    assert (closed_row["lag_seconds"], closed_row["unfolded"]) == (0, 0)
    assert open_row["unfolded"] == 2
    assert least <= open_row["lag_seconds"] <= most
    assert (history["unfolded"], history["lag_seconds"]) == (2, open_row["lag_seconds"])

    stack.fold()
    history = stack.api.get(f"/v1/expos/{expo}/history").json()
    assert [(r["unfolded"], r["lag_seconds"]) for r in history["rows"]] == [(0, 0)] * 3
    assert (history["unfolded"], history["lag_seconds"]) == (0, 0)
    assert history["as_of"] == history["rows"][2]["as_of"] is not None


def test_time_series_and_compare_carry_the_freshness_of_their_sessions(stack: Stack) -> None:
    expo = stack.new_expo()
    earlier, later = stack.new_session(expo, 1), stack.new_session(expo, 2)
    stack.fold()
    oldest = checkin(stack, earlier, "A1")
    oldest_later = checkin(stack, later, "B1")
    checkin(stack, later, "B2")

    path = f"/v1/sessions/{later}/timeseries?metric=checkins"
    series, least, most = get_aged(stack, path, oldest_later)
    assert (series["unfolded"], series["total"]) == (2, 0)
    assert least <= series["lag_seconds"] <= most

    compared, least, most = get_aged(stack, f"/v1/sessions/{later}/compare", oldest)
    assert (compared["current"]["unfolded"], compared["previous"]["unfolded"]) == (2, 1)
    assert compared["unfolded"] == 3
    assert least <= compared["previous"]["lag_seconds"] == compared["lag_seconds"] <= most
    assert compared["current"]["lag_seconds"] <= compared["lag_seconds"]

    stack.fold()
    series = stack.api.get(path).json()
    assert (series["unfolded"], series["lag_seconds"], series["total"]) == (0, 0, 2)
    compared = stack.api.get(f"/v1/sessions/{later}/compare").json()
    assert (compared["unfolded"], compared["lag_seconds"]) == (0, 0)
    assert compared["as_of"] == max(compared["current"]["as_of"], compared["previous"]["as_of"])


@pytest.fixture
def api_without_redis(stack: Stack, tmp_path: Path) -> Iterator[TestClient]:
    settings = stack.settings.model_copy(update={"redis_url": f"unix://{tmp_path}/nobody.sock"})
    with TestClient(create_app(settings)) as client:
        yield client


def test_with_redis_away_the_figures_are_answered_and_their_freshness_is_unknown(
    stack: Stack, api_without_redis: TestClient
) -> None:
    expo = stack.new_expo()
    session = stack.new_session(expo)
    checkin(stack, session, "A1")
    stack.fold()

    totals = api_without_redis.get(f"/v1/sessions/{session}/totals").json()
    assert totals["current"]["checkins"] == 1
    assert totals["as_of"] is not None
    assert (totals["lag_seconds"], totals["unfolded"]) == (None, None)
    history = api_without_redis.get(f"/v1/expos/{expo}/history").json()
    assert (history["lag_seconds"], history["unfolded"]) == (None, None)
    assert (history["rows"][0]["lag_seconds"], history["rows"][0]["unfolded"]) == (None, None)
    series = api_without_redis.get(f"/v1/sessions/{session}/timeseries?metric=checkins").json()
    assert (series["total"], series["lag_seconds"], series["unfolded"]) == (1, None, None)


def test_the_live_stream_pushes_a_change_of_unfolded_and_beats_with_the_freshness(
    stack: Stack,
) -> None:
    session = stack.new_session(stack.new_expo())
    checkin(stack, session, "A1")
    hub = Hub(read_only(stack.engine), stack.redis, poll_seconds=0.02)

    async def scenario() -> list[str]:
        messages = _events(hub, session, 0.2, None)
        seen = [await anext(messages), await anext(messages)]  # retry, totals
        await asyncio.to_thread(stack.fold)
        while "event: totals" not in seen[-1] or '"unfolded":0' not in seen[-1]:
            seen.append(await anext(messages))
        while "event: heartbeat" not in seen[-1]:
            seen.append(await anext(messages))
        await hub.close()  # the stream itself is closed as asyncio.run ends
        return seen

    seen = asyncio.run(scenario())
    pushed = [json.loads(m.split("data: ")[1]) for m in seen if "event: totals" in m]
    assert (pushed[0]["unfolded"], pushed[0]["current"]["checkins"]) == (1, 0)
    assert (pushed[-1]["unfolded"], pushed[-1]["current"]["checkins"]) == (0, 1)
    beat = json.loads(seen[-1].split("data: ")[1])
    assert beat == {"as_of": pushed[-1]["as_of"], "lag_seconds": 0.0, "unfolded": 0}


def test_a_lag_that_only_grew_is_not_a_change_to_push(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    checkin(stack, session, "A1")
    totals = Totals.model_validate(stack.totals(session))
    older = totals.model_copy(update={"lag_seconds": (totals.lag_seconds or 0) + 30})
    one_more = totals.model_copy(update={"unfolded": (totals.unfolded or 0) + 1})
    assert update_of(older).id == update_of(totals).id
    assert update_of(older).data != update_of(totals).data
    assert update_of(one_more).id != update_of(totals).id


def test_the_display_feed_says_how_many_events_its_figures_wait_for(stack: Stack) -> None:
    expo = stack.new_expo()
    stack.new_session(expo, 1, status="closed")  # counted in the cumulative figures too
    session = stack.new_session(expo, 2)
    stack.fold()
    shown = stack.api.get(f"/v1/display/{expo}")
    assert (shown.json()["unfolded"], shown.json()["lag_seconds"]) == (0, 0)

    first = checkin(stack, session, "A1")
    checkin(stack, session, "A2")

    def waiting() -> Any:
        aged = get_aged(stack, f"/v1/display/{expo}", first)
        return aged if aged[0]["unfolded"] else None

    body, least, most = wait_until(waiting, timeout=2, what="the feed to see the backlog")
    assert (body["unfolded"], body["current"]["checkins"]) == (2, 0)
    assert least <= body["lag_seconds"] <= most
    unchanged = stack.api.get(
        f"/v1/display/{expo}", headers={"If-None-Match": shown.headers["ETag"]}
    )
    assert unchanged.status_code == 200  # the figures are the same; how fresh they are is not

    stack.fold()

    def folded() -> Any:
        found: dict[str, Any] = stack.api.get(f"/v1/display/{expo}").json()
        return found if found["current"]["checkins"] and not found["unfolded"] else None

    after = wait_until(folded, timeout=2, what="the feed to show the fold")
    assert (after["unfolded"], after["lag_seconds"], after["current"]["checkins"]) == (0, 0, 2)
    assert after["as_of"] is not None

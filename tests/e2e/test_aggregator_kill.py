"""SIGKILL the aggregator again and again in the middle of folding: nothing lost, nothing
doubled."""

import random
import signal
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from services.ingest.requests import BatchItem
from shared.figures import Tally
from shared.fold import fold
from tests.e2e.conftest import ADMIN, Services, open_session
from tests.wait import wait_until

ITEMS: TypeAdapter[BatchItem] = TypeAdapter(BatchItem)
T0 = datetime.now(UTC) - timedelta(hours=8)


def day_of_events(session: str, n: int) -> list[dict[str, Any]]:
    rng = random.Random(2025)
    events: list[dict[str, Any]] = []
    for _ in range(n):
        common = {
            "session_id": session,
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "occurred_at": (T0 + timedelta(seconds=rng.randint(0, 7 * 3600))).isoformat(),
        }
        roll = rng.random()
        if roll < 0.75:
            events.append(
                {
                    "type": "attendee.checked_in",
                    **common,
                    "attendee_id": f"A{rng.randint(1, 2500)}",
                    "category": rng.choice(["professional", "general", "exhibitor"]),
                    "country": rng.choice(["CN", "HK", "MO", "TW", "DE", "ID", "JP"]),
                }
            )
        elif roll < 0.9:
            events.append(
                {
                    "type": "deal.signed",
                    **common,
                    "deal_id": f"D{rng.randint(1, 300)}",
                    "title": "Project",
                    "kind": rng.choice(["contract", "agreement"]),
                    "amount": f"{rng.randint(1, 10**10)}.{rng.randint(0, 99):02d}",
                    "counterparty_country": rng.choice(["SG", "FR"]),
                }
            )
        elif roll < 0.95:
            events.append(
                {
                    "type": "deal.voided",
                    **common,
                    "deal_id": f"D{rng.randint(1, 300)}",
                    "reason": "withdrawn",
                }
            )
        else:
            events.append(
                {
                    "type": "exhibitor.registered",
                    **common,
                    "exhibitor_id": f"X{rng.randint(1, 200)}",
                    "name": "Maker",
                    "country": "CN",
                    "projects_on_display": rng.randint(0, 9),
                }
            )
    return events + rng.sample(events, n // 10)  # retries of acknowledged events


@pytest.mark.parametrize("services", [{"EXPO_FOLD_BATCH_SIZE": "10"}], indirect=True)
def test_killing_the_aggregator_mid_fold_loses_and_doubles_nothing(services: Services) -> None:
    api, ingest = services.client("api"), services.client("ingest")
    session = open_session(services)
    services.kill("aggregator")  # build a backlog first, so there is a long fold to interrupt

    items = day_of_events(session, 4000)
    for start in range(0, len(items), 500):
        response = ingest.post(
            "/v1/events:batch", json={"events": items[start : start + 500]}, headers=ADMIN
        )
        assert {r["status"] for r in response.json()["results"]} == {"accepted"}
    state, _ = fold(
        ITEMS.validate_python(i).to_event(datetime.now(UTC), "reference") for i in items
    )
    countries = {country for country, refs in state.country_refs.items() if refs > 0}
    expected = (
        Tally.of_session(state.totals, countries, is_open=True).figures().model_dump(mode="json")
    )

    def checkins() -> int:
        value: int = api.get(f"/v1/sessions/{session}/totals").json()["current"]["checkins"]
        return value

    def progress_past(floor: int) -> Callable[[], int]:
        return lambda: n if (n := checkins()) > floor else 0

    kills, seen = 0, 0
    while kills < 5:
        services.spawn("aggregator")
        seen = wait_until(progress_past(seen), timeout=60, what="fold progress")
        if seen == expected["checkins"]:
            break
        services.kill("aggregator", signal.SIGKILL)
        kills += 1
    if "aggregator" not in services.processes:
        services.spawn("aggregator")

    current = wait_until(
        lambda: (
            (c := api.get(f"/v1/sessions/{session}/totals").json()["current"]) == expected and c
        ),
        timeout=120,
        what="the figures of exactly the acknowledged events",
    )
    print(
        f"\nkill test: {len(items)} events posted ({len(items) - 4000} retries), {kills} SIGKILLs "
        f"mid-fold, {current['checkins']} check-ins and {current['deals']} deals as the reference"
    )
    assert kills >= 3, "the fold finished too fast to be interrupted; the test proved nothing"

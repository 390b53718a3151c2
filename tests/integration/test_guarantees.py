"""What a client may rely on when it retries, and what happens when it sends too much."""

import uuid
from typing import Any

from fastapi.testclient import TestClient

from services.ingest.app import create_app as create_ingest
from tests.integration.conftest import ADMIN, Stack

SCAN = {"attendee_id": "A1", "category": "vip", "country": "CN"}


def test_a_retry_of_the_same_request_is_a_duplicate_at_the_original_position(
    stack: Stack,
) -> None:
    session = stack.new_session(stack.new_expo())
    body = {"session_id": session, "event_id": str(uuid.uuid4()), **SCAN}
    first = stack.ingest.post("/v1/checkins", json=body, headers=ADMIN)
    again = stack.ingest.post("/v1/checkins", json=body, headers=ADMIN)
    in_batch = stack.ingest.post(
        "/v1/events:batch",
        json={"events": [{"type": "attendee.checked_in", **body}] * 2},
        headers=ADMIN,
    )
    assert first.status_code == again.status_code == 202
    assert again.json()["position"] == first.json()["position"]
    assert [r["position"] for r in in_batch.json()["results"]] == [first.json()["position"]] * 2
    assert stack.stream_length(session) == 1


def test_the_same_event_id_for_a_different_event_is_refused_and_the_first_counts(
    stack: Stack,
) -> None:
    session = stack.new_session(stack.new_expo())
    event_id = str(uuid.uuid4())
    first = {"session_id": session, "event_id": event_id, **SCAN}
    other = {**first, "category": "media"}
    assert stack.ingest.post("/v1/checkins", json=first, headers=ADMIN).status_code == 202
    refused = stack.ingest.post("/v1/checkins", json=other, headers=ADMIN)
    assert refused.status_code == 409
    assert refused.json()["reason"] == "idempotency_conflict"
    assert event_id in refused.json()["detail"]
    batch = stack.ingest.post(
        "/v1/events:batch",
        json={"events": [{"type": "attendee.checked_in", **other}]},
        headers=ADMIN,
    )
    assert batch.json()["results"][0]["reason"] == "idempotency_conflict"
    assert stack.stream_length(session) == 1
    stack.fold()
    by_category = stack.totals(session)["current"]["attendees_by_category"]
    assert (by_category["vip"], by_category["media"]) == (1, 0)


def test_a_void_retried_for_another_deal_under_the_same_id_is_a_conflict(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    body = {"session_id": session, "event_id": str(uuid.uuid4()), "reason": "typo"}
    assert stack.ingest.post("/v1/deals/D1/void", json=body, headers=ADMIN).status_code == 202
    assert stack.ingest.post("/v1/deals/D1/void", json=body, headers=ADMIN).status_code == 202
    assert stack.ingest.post("/v1/deals/D2/void", json=body, headers=ADMIN).status_code == 409


def test_a_token_over_its_rate_is_told_when_to_retry_and_nothing_is_appended(
    stack: Stack,
) -> None:
    session = stack.new_session(stack.new_expo())
    limited = stack.settings.model_copy(update={"rate_limit_events_per_second": 100.0})
    scans: list[dict[str, Any]] = [
        {"type": "attendee.checked_in", "session_id": session, **SCAN, "attendee_id": f"A{n}"}
        for n in range(1000)
    ]
    with TestClient(create_ingest(limited)) as ingest:
        full = ingest.post("/v1/events:batch", json={"events": scans}, headers=ADMIN)
        assert full.status_code == 200  # a full batch fits in an idle bucket
        over = ingest.post("/v1/events:batch", json={"events": scans[:500]}, headers=ADMIN)
        assert over.status_code == 429
        assert over.json()["reason"] == "rate_limited"
        assert int(over.headers["retry-after"]) >= 1
        other_token = stack.token("desk")
        body = {"session_id": session, **SCAN}
        assert ingest.post("/v1/checkins", json=body, headers=other_token).status_code == 202
    assert stack.stream_length(session) == 1001

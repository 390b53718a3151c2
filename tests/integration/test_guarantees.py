"""What a client may rely on when it retries, and what happens when it sends too much."""

import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from sqlmodel import Session

from services.aggregator.consumer import Consumer
from services.aggregator.group import ConsumerConfig
from services.ingest.app import create_app as create_ingest
from shared import embedded_redis
from shared.events import UPCASTERS, AttendeeCheckedIn, Category
from shared.stream import stream_key, to_fields
from shared.tables import StoredEvent
from tests.conftest import new_id
from tests.integration.conftest import ADMIN, Stack
from tests.wait import wait_until

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


def test_a_dead_letter_replayed_after_a_fix_is_folded_exactly_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = stack.new_session(stack.new_expo())
    stack.fold()
    now = datetime.now(UTC).isoformat()
    newer = {  # a check-in of a schema version this aggregator does not know yet
        "event_id": str(uuid.uuid4()),
        "session_id": session,
        "occurred_at": now,
        "recorded_at": now,
        "schema_version": 3,
        "source": "desk-9",
        "type": "attendee.checked_in",
        "attendee_id": "A1",
        "category": "vip",
        "country": "CN",
        "desk_id": None,
        "direction": "entry",
        "badge_colour": "gold",
    }
    stack.redis.xadd(stream_key(session), {"event": json.dumps(newer)})
    stack.fold()
    assert stack.totals(session)["current"]["checkins"] == 0
    listed = stack.api.get("/v1/dead-letters", headers=ADMIN).json()
    mine = [x for x in listed["letters"] if x["session_id"] == session]
    assert [x["reason"].split(":")[0] for x in mine] == ["undecodable"]
    stack.consumer.trim()
    assert stack.consumer.dead_letters >= 1

    def version_3_to_2(raw: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if k != "badge_colour"} | {"schema_version": 2}

    monkeypatch.setitem(UPCASTERS, ("attendee.checked_in", 3), version_3_to_2)  # the fix
    path = f"/v1/dead-letters/{session}/{mine[0]['entry_id']}"
    replayed = stack.api.post(path + "/replay", headers=ADMIN)
    assert replayed.status_code == 200
    stack.redis.xadd(stream_key(session), {"event": json.dumps(newer)})  # and once more
    stack.fold()
    assert stack.totals(session)["current"]["checkins"] == 1
    assert stack.api.post(path + "/replay", headers=ADMIN).status_code == 404
    assert (
        stack.api.post(f"/v1/dead-letters/{session}/nonsense/replay", headers=ADMIN).status_code
        == 422
    )


def test_a_revoked_token_is_refused_at_once_and_listed_without_its_secret(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    issued = stack.api.post("/v1/tokens", json={"role": "desk", "label": "gate 4"}, headers=ADMIN)
    token, token_id = issued.json()["token"], issued.json()["id"]
    desk = {"Authorization": f"Bearer {token}"}
    body = {"session_id": session, **SCAN}
    assert stack.ingest.post("/v1/checkins", json=body, headers=desk).status_code == 202
    revoked = stack.api.delete(f"/v1/tokens/{token_id}", headers=ADMIN)
    assert revoked.json()["revoked_at"] is not None
    refused = stack.ingest.post("/v1/checkins", json=body, headers=desk)
    assert (refused.status_code, refused.json()["reason"]) == (401, "unauthorized")
    listed = stack.api.get("/v1/tokens", headers=ADMIN)
    assert token not in listed.text
    assert {"id", "role", "label", "revoked_at"} <= listed.json()[0].keys()
    assert "token" not in listed.json()[0]
    assert stack.api.get("/v1/tokens", headers=desk).status_code == 401
    assert stack.api.delete("/v1/tokens/nope", headers=ADMIN).status_code == 404


def test_expo_token_revoke_refuses_the_token(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    issued = stack.api.post("/v1/tokens", json={"role": "ceremony"}, headers=ADMIN).json()
    headers = {"Authorization": f"Bearer {issued['token']}"}
    deal = {"session_id": session, "deal_id": "d-1", "title": "Deal", "kind": "intent"}
    deal["amount"] = "1000.00"
    assert stack.ingest.post("/v1/deals", json=deal, headers=headers).status_code == 202
    env = {
        **os.environ,
        "EXPO_DATABASE_URL": stack.settings.database_url,
        "EXPO_REDIS_URL": str(stack.settings.redis_url),
    }
    cli = [sys.executable, "-m", "services.cli", "token", "revoke", issued["id"]]
    subprocess.run(cli, env=env, check=True, capture_output=True)
    listing = subprocess.run(
        [sys.executable, "-m", "services.cli", "token", "list"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert issued["token"] not in listing
    assert any(line.startswith(issued["id"]) and "revoked" in line for line in listing.splitlines())
    assert stack.api.get("/v1/tokens", headers=headers).status_code == 401
    refused = stack.ingest.post("/v1/deals", json=deal, headers=headers)  # at once, not later
    assert refused.status_code == 401, refused.text


def test_a_long_run_keeps_the_stream_short_and_loses_nothing(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    lengths, memory = [], []
    for round_ in range(20):
        scans = [
            {
                "type": "attendee.checked_in",
                "session_id": session,
                **SCAN,
                "attendee_id": f"R{round_}-{n}",
            }
            for n in range(500)
        ]
        stack.ingest.post("/v1/events:batch", json={"events": scans}, headers=ADMIN)
        stack.fold()
        stack.consumer.trim()
        lengths.append(stack.stream_length(session))
        memory.append(int(stack.redis.memory_usage(stream_key(session)) or 0))
    assert max(lengths) <= 500 + 100  # one batch, plus at most one partly trimmed node
    assert memory[-1] < 2 * memory[0]  # flat, not growing with the 10,000 events sent
    assert stack.totals(session)["current"]["checkins"] == 10_000


def test_every_stored_event_names_the_token_that_sent_it(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    issued = stack.api.post("/v1/tokens", json={"role": "desk"}, headers=ADMIN).json()
    desk = {"Authorization": f"Bearer {issued['token']}"}
    posted = stack.ingest.post("/v1/checkins", json={"session_id": session, **SCAN}, headers=desk)
    stack.fold()
    with Session(stack.engine) as db:
        stored = db.get(StoredEvent, (session, posted.json()["event_id"]))
    assert stored is not None
    assert stored.source == issued["id"]
    assert issued["token"] not in stored.payload


def test_an_aggregator_started_before_its_redis_waits_and_then_folds(
    stack: Stack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    session = stack.new_session(stack.new_expo())
    socket = tmp_path / "redis" / "redis.sock"
    late_redis = Redis.from_url(f"unix://{socket}")
    consumer = Consumer(late_redis, stack.engine, ConsumerConfig(name="late", block_ms=20))
    stop = threading.Event()
    folding = threading.Thread(target=consumer.run, args=(stop,))
    with caplog.at_level(logging.WARNING, logger="services.aggregator.consumer"):
        folding.start()
        try:
            wait_until(lambda: "fold paused" in caplog.text, timeout=10, what="a paused fold")
            server = embedded_redis.start(tmp_path)
            try:
                event = AttendeeCheckedIn(
                    event_id=uuid.uuid4(),
                    session_id=session,
                    occurred_at=datetime.now(UTC),
                    recorded_at=datetime.now(UTC),
                    source="test",
                    attendee_id="A1",
                    category=Category.GENERAL,
                    country="CN",
                )
                late_redis.xadd(stream_key(session), to_fields(event))  # type: ignore[arg-type]
                wait_until(
                    lambda: stack.totals(session)["current"]["checkins"] == 1,
                    timeout=30,
                    what="the fold after Redis came up",
                )
                assert folding.is_alive()
            finally:
                stop.set()
                folding.join(timeout=10)
                server.stop()
        finally:
            stop.set()
            late_redis.close()


def _ingested(stack: Stack) -> dict[tuple[str, str], float]:
    text = stack.ingest.get("/metrics").text
    return {
        (sample.labels["type"], sample.labels["result"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "expo_ingest_events"
        for sample in family.samples
        if sample.name == "expo_ingest_events_total"
    }


def test_ingest_counts_each_batch_item_once_under_its_type_and_result(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    before = _ingested(stack)
    retried = {"type": "attendee.checked_in", "session_id": session, **SCAN}
    retried["event_id"] = str(uuid.uuid4())
    items = [
        retried,
        retried,
        {"type": "attendee.checked_in", "session_id": session, **SCAN},
        {"type": "attendee.checked_in", "session_id": "no-such-session", **SCAN},
    ]
    response = stack.ingest.post("/v1/events:batch", json={"events": items}, headers=ADMIN)
    assert [r["status"] for r in response.json()["results"]] == ["accepted"] * 3 + ["rejected"]
    after = _ingested(stack)
    moved = {key: after[key] - before.get(key, 0.0) for key in after}
    assert {key: n for key, n in moved.items() if n} == {
        ("attendee.checked_in", "accepted"): 2,
        ("attendee.checked_in", "duplicate"): 1,
        ("attendee.checked_in", "unknown_session"): 1,
    }


def test_a_batch_across_sessions_answers_each_item_in_order_from_its_own_stream(
    stack: Stack,
) -> None:
    expo = stack.new_expo()
    first, second = stack.new_session(expo, ordinal=1), stack.new_session(expo, ordinal=2)
    retried = str(uuid.uuid4())
    items = [
        {"type": "attendee.checked_in", "session_id": sid, **SCAN, "attendee_id": f"A{n}"}
        for n, sid in enumerate([first, second, first, second, first])
    ]
    items[1]["event_id"] = items[3]["event_id"] = retried  # one event sent twice
    items[3]["attendee_id"] = items[1]["attendee_id"]
    response = stack.ingest.post("/v1/events:batch", json={"events": items}, headers=ADMIN)
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert all(r["status"] == "accepted" for r in results)
    assert results[1]["position"] == results[3]["position"]
    assert results[1]["event_id"] == results[3]["event_id"] == retried
    assert (stack.stream_length(first), stack.stream_length(second)) == (3, 1)
    entries: dict[str, Any] = {sid: stack.redis.xrange(stream_key(sid)) for sid in (first, second)}
    positions = {sid: [entry_id.decode() for entry_id, _ in e] for sid, e in entries.items()}
    assert positions[first] == [
        results[0]["position"],
        results[2]["position"],
        results[4]["position"],
    ]
    assert positions[second] == [results[1]["position"]]
    stack.fold()
    assert stack.totals(first)["current"]["attendees"] == 3
    assert stack.totals(second)["current"]["attendees"] == 1


def test_appends_go_on_after_redis_forgot_the_scripts(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())

    def scan(n: int) -> dict[str, Any]:
        return {
            "session_id": session,
            "event_id": str(uuid.uuid4()),
            **SCAN,
            "attendee_id": f"A{n}",
        }

    assert stack.ingest.post("/v1/checkins", json=scan(1), headers=ADMIN).status_code == 202
    stack.redis.script_flush()  # as after a Redis restart without its scripts
    assert stack.ingest.post("/v1/checkins", json=scan(2), headers=ADMIN).status_code == 202
    stack.redis.script_flush()
    batch = [{"type": "attendee.checked_in", **scan(n)} for n in (3, 4)]
    response = stack.ingest.post("/v1/events:batch", json={"events": batch}, headers=ADMIN)
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "accepted"]
    assert stack.stream_length(session) == 4


def test_a_session_opened_while_the_aggregator_runs_is_folded_from_its_next_read(
    stack: Stack,
) -> None:
    expo = stack.new_expo()
    consumer = Consumer(
        stack.redis,
        stack.engine,
        ConsumerConfig(name=new_id("aggregator"), block_ms=10),
        now=lambda: 1000.0,  # the clock stands still: no periodic refresh ever comes due
    )
    consumer.step()  # follows the sessions that exist now
    session = stack.new_session(expo, status="planned")
    opened = stack.api.patch(f"/v1/sessions/{session}", json={"status": "open"}, headers=ADMIN)
    assert opened.status_code == 200, opened.text
    body = {"session_id": session, **SCAN}
    assert stack.ingest.post("/v1/checkins", json=body, headers=ADMIN).status_code == 202
    consumer.step()  # sees the change mark move, follows the new stream, folds
    assert stack.totals(session)["current"]["attendees"] == 1

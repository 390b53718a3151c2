"""Tokens and attendee ids never reach the services' logs, even at DEBUG: the three services
run as processes and take check-ins (accepted, refused for every reason, in batches, and an
entry the aggregator cannot decode), with tokens and attendee ids no log line could contain
by chance."""

import json
import secrets
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx2
import pytest
from redis import Redis

from shared.stream import FIELD, dead_letter_key, stream_key
from tests.conftest import ADMIN_TOKEN, new_id, running_days
from tests.e2e.conftest import ADMIN, PORTS, Services, create
from tests.wait import wait_until


def attendee() -> str:
    return "ATT-" + secrets.token_hex(8).upper()


def session_in(api: httpx2.Client, expo_id: str, ordinal: int, status: str) -> str:
    body = {
        "id": new_id("session"),
        "ordinal": ordinal,
        "name": f"Session {ordinal}",
        **running_days(),
    }
    session_id = str(create(api, f"/v1/expos/{expo_id}/sessions", body)["id"])
    for step in {"planned": [], "open": ["open"], "closed": ["open", "closed"]}[status]:
        changed = api.patch(f"/v1/sessions/{session_id}", json={"status": step}, headers=ADMIN)
        assert changed.status_code == 200, changed.text
    return session_id


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "services",
    [{"EXPO_LOG_LEVEL": "DEBUG"}, {"EXPO_LOG_LEVEL": "DEBUG", "EXPO_LOG_FORMAT": "json"}],
    indirect=True,
    ids=["text", "json"],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_tokens_and_attendee_ids_never_reach_the_logs(services: Services) -> None:
    api, ingest = services.client("api"), services.client("ingest")
    expo_id = str(create(api, "/v1/expos", {"id": new_id("expo"), "name": "Log check"})["id"])
    opened = session_in(api, expo_id, 1, "open")
    planned = session_in(api, expo_id, 2, "planned")
    closed = session_in(api, expo_id, 3, "closed")
    desk = create(api, "/v1/tokens", {"role": "desk", "session_id": opened})["token"]
    other = create(api, "/v1/tokens", {"role": "desk", "session_id": planned})["token"]
    display = create(api, "/v1/tokens", {"role": "display"})["token"]
    unknown = "expo_" + secrets.token_urlsafe(32)
    people: list[str] = []

    def scan(session_id: str, token: str, **extra: object) -> httpx2.Response:
        people.append(attendee())
        body = {"session_id": session_id, "attendee_id": people[-1], "category": "vip"}
        return ingest.post(
            "/v1/checkins", json={"country": "CN", **body, **extra}, headers=bearer(token)
        )

    answers = [
        scan(opened, desk),
        scan(opened, desk, direction="exit"),
        scan(opened, ADMIN_TOKEN),
        scan(planned, desk),  # 403: bound elsewhere
        scan(planned, other),  # 409: planned
        scan(closed, ADMIN_TOKEN),  # 409: closed
        scan("no-such-session", ADMIN_TOKEN),  # 404
        scan(opened, desk, country="XX"),  # 422
        scan(opened, unknown),  # 401
        scan(opened, desk, sent_by=desk),  # 422: unknown field holding a token
    ]
    event_id = str(uuid.uuid4())
    answers += [scan(opened, desk, event_id=event_id), scan(opened, desk, event_id=event_id)]
    people.append(attendee())
    answers.append(
        ingest.post(
            "/v1/checkins",
            content=b'{"attendee_id": "' + people[-1].encode() + b'", "attendee_id": 1}',
            headers={**bearer(desk), "Content-Type": "application/json"},
        )
    )
    batch = [
        {"type": "attendee.checked_in", "session_id": s, "attendee_id": a, "category": "general"}
        | {"country": "CN" if s == opened else "ZZ"}
        for s, a in [(opened, attendee()), (opened, attendee()), (closed, attendee())]
    ]
    people += [item["attendee_id"] for item in batch]
    answers.append(ingest.post("/v1/events:batch", json={"events": batch}, headers=ADMIN))
    assert sorted({a.status_code for a in answers}) == [200, 202, 400, 401, 403, 404, 409, 422]

    people.append(attendee())
    undecodable = {"type": "attendee.checked_in", "attendee_id": people[-1], "schema_version": 9}
    redis = Redis.from_url(services.env["EXPO_REDIS_URL"])
    redis.xadd(stream_key(opened), {FIELD: json.dumps(undecodable).encode()})
    wait_until(lambda: redis.xlen(dead_letter_key(opened)), timeout=30, what="a dead letter")
    redis.close()
    totals = f"/v1/sessions/{opened}/totals"
    wait_until(
        lambda: api.get(totals, headers=bearer(display)).json()["current"]["checkins"] >= 4,
        timeout=30,
        what="the check-ins to be folded",
    )
    assert api.get(totals, headers=bearer(unknown)).status_code == 401

    for name in list(PORTS):
        services.kill(name, signal.SIGTERM)  # flushes every log line
    logs = {
        path.name: path.read_text(errors="replace") for path in Path(services.logs).glob("*.log")
    }
    assert sorted(logs) == ["aggregator.log", "api.log", "ingest.log"]
    assert "DEBUG" in logs["ingest.log"]
    assert "DEBUG" in logs["aggregator.log"]
    for secret in [desk, other, display, unknown, ADMIN_TOKEN, *people]:
        for name, text in logs.items():
            assert secret not in text, f"{secret} is in {name}"
    if services.env.get("EXPO_LOG_FORMAT") == "json":
        json_lines_with_ids(logs, opened, event_id)


def json_lines_with_ids(logs: dict[str, str], session_id: str, event_id: str) -> None:
    """Every line of every log is a JSON object; fold and append lines name their ids."""
    parsed: dict[str, list[dict[str, Any]]] = {}
    for name, text in logs.items():
        parsed[name] = [json.loads(line) for line in text.splitlines() if line.strip()]
        assert parsed[name], name
        assert all({"time", "level", "logger", "message"} <= set(x) for x in parsed[name])
    assert any(line.get("session_id") == session_id for line in parsed["aggregator.log"])
    assert any(line.get("event_id") == event_id for line in parsed["ingest.log"])

"""What desks and ceremonies rely on: exits, refused scans kept, and read-your-writes."""

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from shared.tables import RejectedScan
from tests.integration.conftest import ADMIN, Stack

SCAN = {"attendee_id": "A1", "category": "professional", "country": "CN"}


def scan(stack: Stack, session: str, headers: dict[str, str] = ADMIN, **fields: Any) -> int:
    body = {"session_id": session, **SCAN, **fields}
    return stack.ingest.post("/v1/checkins", json=body, headers=headers).status_code


def test_exits_move_inside_now_but_not_checkins_or_attendees(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    t0 = datetime.now(UTC) - timedelta(hours=3)
    assert scan(stack, session, occurred_at=t0.isoformat()) == 202
    assert scan(stack, session, attendee_id="A2", occurred_at=t0.isoformat()) == 202
    exit_a1 = (t0 + timedelta(hours=1)).isoformat()
    assert scan(stack, session, direction="exit", occurred_at=exit_a1) == 202
    stack.fold()
    current = stack.totals(session)["current"]
    assert (current["checkins"], current["attendees"], current["inside_now"]) == (2, 2, 1)
    # A desk that was offline uploads A1's re-entry, which happened after the exit.
    back = (t0 + timedelta(hours=2)).isoformat()
    assert scan(stack, session, occurred_at=back) == 202
    # ... and an exit of A2 from before A2's entry is history that changes nothing now.
    early = (t0 - timedelta(hours=1)).isoformat()
    assert scan(stack, session, attendee_id="A2", direction="exit", occurred_at=early) == 202
    stack.fold()
    current = stack.totals(session)["current"]
    assert (current["checkins"], current["attendees"], current["inside_now"]) == (3, 2, 2)


def test_scans_refused_for_their_session_are_kept_and_counted_once(stack: Stack) -> None:
    expo = stack.new_expo()
    closed = stack.new_session(expo, 1, status="closed")
    planned = stack.new_session(expo, 2, status="planned")
    open_one = stack.new_session(expo, 3)
    retried = str(uuid.uuid4())
    assert scan(stack, closed, event_id=retried) == 409
    assert scan(stack, closed, event_id=retried) == 409
    assert scan(stack, closed, attendee_id="A2") == 409
    assert scan(stack, planned) == 409
    desk_of_open = stack.token("desk", open_one)
    assert scan(stack, planned, headers=desk_of_open) == 403
    assert scan(stack, "no-such-session-" + uuid.uuid4().hex[:6]) == 404
    assert scan(stack, closed, country="cn") == 422  # malformed: not kept
    stack.fold()
    assert stack.totals(closed)["rejected_scans"] == {"session_closed": 2}
    assert stack.totals(planned)["rejected_scans"] == {
        "session_not_open": 1,
        "wrong_session": 1,
    }
    assert stack.totals(open_one)["rejected_scans"] == {}
    with stack.engine.connect() as conn:
        unknown = conn.execute(
            select(func.count())
            .select_from(RejectedScan)
            .where(RejectedScan.reason == "unknown_session")  # type: ignore[arg-type]
        ).scalar_one()
    assert unknown >= 1


def test_totals_wait_for_a_position_to_be_folded(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    deal = {
        "session_id": session,
        "deal_id": "D1",
        "title": "Stage deal",
        "kind": "contract",
        "amount": "9291300000.00",
    }
    response = stack.ingest.post("/v1/deals", json=deal, headers=ADMIN)
    position = response.json()["position"]
    folder = threading.Timer(0.5, stack.fold)
    folder.start()
    try:
        waited = stack.api.get(f"/v1/sessions/{session}/totals", params={"min_position": position})
    finally:
        folder.join()
    body = waited.json()
    assert body["caught_up"] is True
    assert body["current"]["deal_value_cny"] == "9291300000.00"
    assert body["position"] == position


def test_waiting_for_a_position_is_bounded(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    started = time.monotonic()
    far = stack.api.get(
        f"/v1/sessions/{session}/totals", params={"min_position": "99999999999999-0"}
    )
    assert far.status_code == 200
    assert far.json()["caught_up"] is False
    assert 4.5 < time.monotonic() - started < 8
    bad = stack.api.get(f"/v1/sessions/{session}/totals", params={"min_position": "soon"})
    assert bad.status_code == 422


def test_pages_of_the_api_may_post_to_ingest_and_other_origins_may_not(stack: Stack) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ours = f"http://127.0.0.1:{stack.settings.api_port}"
    allowed = stack.ingest.options("/v1/checkins", headers={**preflight, "Origin": ours})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ours
    other = stack.ingest.options(
        "/v1/checkins", headers={**preflight, "Origin": "https://elsewhere.example"}
    )
    assert "access-control-allow-origin" not in other.headers

"""Hostile bodies posted to every ingest endpoint as the admin, into an open session: deep
nesting, huge numbers and strings, NaN and Infinity, lone surrogates, NUL and direction
marks, wrong types, duplicate names, top-level values that are not objects, bytes that are
not UTF-8; identifiers with outer spaces or format characters, blank free text or text with
a direction override, money with an exponent, a sign, spaces or full-width digits. Each is
refused with a 4xx problem (a batch may instead refuse every item), never a 5xx, and the
session's stream does not grow."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given, seed
from hypothesis import strategies as st

from shared.problem import MAX_BODY_BYTES, MEDIA_TYPE
from tests.fuzz.conftest import Targets
from tests.integration.conftest import ADMIN, Stack

SEED = 20171116
EXAMPLES = 100
JSON = {**ADMIN, "Content-Type": "application/json"}


@dataclass(frozen=True)
class Endpoint:
    path: str
    body: Callable[[str], dict[str, Any]]  # a valid body for a session
    scan: bool = False  # a check-in: taken only on the session's days

    def fields(self, session_id: str) -> list[str]:
        return list(self.body(session_id))


def _checkin(session_id: str) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "attendee_id": "A-1",
        "category": "general",
        "country": "CN",
        "desk_id": "gate-4",
    }


def _deal(session_id: str) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "deal_id": "D-1",
        "title": "Satellite ground station",
        "kind": "contract",
        "amount": "1000.00",
        "currency": "USD",
        "fx_rate_to_cny": "6.6213",
    }


def _void(session_id: str) -> dict[str, Any]:
    return {"session_id": session_id, "reason": "entered twice"}


def _exhibitor(session_id: str) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "exhibitor_id": "E-1",
        "name": "Mianyang Optics",
        "country": "CN",
        "projects_on_display": 3,
        "booth_area_m2": "54.00",
    }


def _batch_item(session_id: str) -> dict[str, Any]:
    return {"type": "attendee.checked_in", **_checkin(session_id)}


ENDPOINTS = {
    "checkin": Endpoint("/v1/checkins", _checkin, scan=True),
    "deal": Endpoint("/v1/deals", _deal),
    "void": Endpoint("/v1/deals/D-1/void", _void),
    "exhibitor": Endpoint("/v1/exhibitors", _exhibitor),
    "batch item": Endpoint("/v1/events:batch", _batch_item, scan=True),
}

# Values no field of any event takes, as JSON text.
ODD = ["\u202e", "\u200f", "\u200b", "\ufeff", "\u0301", "\U0001f4b0", "\uffff", "科"]
FORBIDDEN = ["\\u0000", "\\ud800", "\\udfff", "\\udc00\\ud800", "\\u001b[31m", "\\u007f"]
NUMBERS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "123456789012345678901234567890",
    "9" * 5000,  # past Python's 4300-digit limit for int()
]
# Values sloppy only for one kind of field (as JSON text): identifiers, free text, money.
SLOPPY_IDS = [
    '"   "',
    '" A-1"',
    '"A-1 "',
    '"\\u202e"',
    '"A\\u200f1"',
    '"\\ufeffA-1"',
    '"A\\u200b1"',
    '"A\\u20281"',
    '"A\\ue0001"',
]
SLOPPY_TEXT = ['"   "', '"\\u3000"', '"\\u202eRobots"', '"Robots\\u2067"', '"a\\u2029b"']
SLOPPY_MONEY = [
    '"1E+5"',
    '" 5.00 "',
    '"\\uff15.00"',
    '"+5.00"',
    '"5."',
    '"100.000"',
    "100",
    '"1e-2"',
]
SLOPPY: dict[str, list[str]] = {
    **dict.fromkeys(["attendee_id", "desk_id", "deal_id", "exhibitor_id"], SLOPPY_IDS),
    **dict.fromkeys(["title", "reason", "name"], SLOPPY_TEXT),
    **dict.fromkeys(["amount", "fx_rate_to_cny", "booth_area_m2"], SLOPPY_MONEY),
}
OPTIONAL = {"event_id", "booth_area_m2", "desk_id"}  # null is their default
VALID = {"projects_on_display": {"0"}}  # values of the lists above that a field accepts
TYPES = ["null", "true", "[]", "{}", '["CN"]', '{"$ne": null}', "0", '""']
TIMES = [
    '"0001-01-01T00:00:00+14:00"',  # before the year 1 in UTC
    '"9999-12-31T23:59:59-14:00"',  # after the year 9999 in UTC
    '"2017-02-30T09:00:00+08:00"',
    '"2017-11-16T09:00:00"',  # no offset
    "1510794000",
]
SCAN_TIMES = ['"1999-11-16T09:00:00+08:00"', '"2017-11-16T09:00:00+08:00"']  # not the days


def _nested(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth


forbidden_strings = st.builds(
    lambda before, bad, after: '"' + before + bad + after + '"',
    st.text(st.sampled_from(ODD), max_size=4),
    st.sampled_from(FORBIDDEN),
    st.text(st.sampled_from(ODD), max_size=4),
)
huge_strings = st.sampled_from([501, 70_000, MAX_BODY_BYTES + 1]).map(lambda n: '"' + "A" * n + '"')
nesting = st.builds(
    _nested, st.sampled_from([64, 1_000, 100_000]), st.sampled_from(["array", "object"])
)
hostile_values = st.one_of(
    forbidden_strings,
    huge_strings,
    nesting,
    st.sampled_from(NUMBERS + TYPES),
)


def _render(body: dict[str, Any], replace: str, value: str, duplicate: str) -> str:
    """The body as JSON text with `replace` set to the raw JSON `value`; a duplicate keeps
    the valid value too, before or after the hostile one."""
    parts = []
    for name, valid in body.items():
        pair = f"{json.dumps(name)}: {json.dumps(valid)}"
        if name != replace:
            parts.append(pair)
            continue
        hostile = f"{json.dumps(name)}: {value}"
        parts += {"none": [hostile], "before": [hostile, pair], "after": [pair, hostile]}[duplicate]
    if replace not in body:
        parts.append(f"{json.dumps(replace)}: {value}")
    return "{" + ", ".join(parts) + "}"


@st.composite
def field_bodies(draw: st.DrawFn, endpoint: Endpoint, session_id: str) -> bytes:
    """A valid body with one field hostile (or hostile after a valid duplicate)."""
    body = endpoint.body(session_id)
    field = draw(st.sampled_from([*body, "occurred_at", "event_id"]), label="field")
    accepted = VALID.get(field, set()) | ({"null"} if field in OPTIONAL else set())
    sloppy = [st.sampled_from(SLOPPY[field])] if field in SLOPPY else []
    values = st.one_of(*sloppy, hostile_values).filter(lambda v: v not in accepted)
    times = TIMES + (SCAN_TIMES if endpoint.scan else [])
    value = draw(st.sampled_from(times) if field == "occurred_at" else values, label="value")
    duplicate = draw(st.sampled_from(["none", "before", "after"]), label="duplicate")
    text = _render(body, field, value, duplicate)
    if endpoint.path.endswith("batch"):
        text = '{"events": [' + text + "]}"
    return text.encode("utf-8")


@st.composite
def whole_bodies(draw: st.DrawFn, endpoint: Endpoint, session_id: str) -> bytes:
    """Not an object, not JSON, not UTF-8, or a valid body named twice with other content."""
    valid = json.dumps(endpoint.body(session_id))
    if endpoint.path.endswith("batch"):
        valid = json.dumps({"events": [endpoint.body(session_id)]})
    choices = [
        draw(hostile_values).encode("utf-8"),
        b"\xff\xfe" + valid.encode("utf-16-le"),
        valid.encode("utf-8")[: draw(st.integers(1, len(valid) - 1))],
        b"\xef\xbb\xbf" + valid.encode("utf-8").replace(b"A-1", b"A-\xc3\x28"),
        ("[" + valid + "," + valid + "]").encode(),
        ('{"events": ' + valid + "}" if not endpoint.path.endswith("batch") else "[]").encode(),
        valid.encode("utf-8")[:-1] + b', "session_id": "other-session"}',
    ]
    chosen: bytes = draw(st.sampled_from(choices), label="body")
    return chosen


def _refused(stack: Stack, path: str, body: bytes) -> None:
    response = stack.ingest.post(path, content=body, headers=JSON)
    shown = body[:200]
    assert response.status_code < 500, f"{response.status_code} for {shown!r}: {response.text}"
    if response.status_code == 200 and path.endswith("batch"):
        results = response.json()["results"]
        assert all(r["status"] == "rejected" for r in results), f"{shown!r}: {results}"
        return
    assert 400 <= response.status_code < 500, f"{response.status_code} for {shown!r}"
    assert response.headers["content-type"] == MEDIA_TYPE
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["reason"]
    assert problem["detail"]


SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    database=None,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hostile_fields_are_refused_and_never_reach_the_stream(
    endpoint: Endpoint, stack: Stack, targets: Targets
) -> None:
    session_id = targets.open_session
    before = stack.stream_length(session_id)

    @seed(SEED)
    @SETTINGS
    @given(body=field_bodies(endpoint, session_id))
    def post(body: bytes) -> None:
        _refused(stack, endpoint.path, body)

    post()
    assert stack.stream_length(session_id) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hostile_bodies_are_refused_and_never_reach_the_stream(
    endpoint: Endpoint, stack: Stack, targets: Targets
) -> None:
    session_id = targets.open_session
    before = stack.stream_length(session_id)

    @seed(SEED)
    @SETTINGS
    @given(body=whole_bodies(endpoint, session_id))
    def post(body: bytes) -> None:
        _refused(stack, endpoint.path, body)

    post()
    assert stack.stream_length(session_id) == before


header_values = st.builds(
    lambda scheme, secret: (scheme + secret).encode("latin-1"),
    st.sampled_from(["Bearer ", "bearer  ", "BEARER\t", "Basic ", "Bearer", ""]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"))
    | st.just("x" * 8000),
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_odd_authorization_headers_are_refused_with_401(stack: Stack, targets: Targets) -> None:
    session_id = targets.open_session
    body = json.dumps(_checkin(session_id)).encode()
    before = stack.stream_length(session_id)

    @seed(SEED)
    @SETTINGS
    @given(authorization=header_values)
    def post(authorization: bytes) -> None:
        headers = {"Authorization": authorization, "Content-Type": "application/json"}
        response = stack.ingest.post("/v1/checkins", content=body, headers=headers)  # type: ignore[arg-type]
        assert response.status_code == 401, f"{authorization[:80]!r}: {response.text}"
        assert response.headers["content-type"] == MEDIA_TYPE

    post()
    assert stack.stream_length(session_id) == before

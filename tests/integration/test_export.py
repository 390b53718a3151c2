"""Exports: a session's event log (admins only) and an expo's figures per edition, as CSV and
XLSX, read back with the csv module and openpyxl; the event log streamed page by page while
the aggregator goes on folding."""

import asyncio
import csv
import io
import json
from collections.abc import Callable, MutableMapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx2
import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from services.api.app import create_app as create_api
from services.api.event_log import HEADER
from services.api.export import FIGURES_HEADER
from shared.tables import EVENTS
from tests.conftest import new_id
from tests.integration.conftest import ADMIN, Stack
from tests.seeds import FOUR_PREVIOUS_SESSIONS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Two check-ins at the same moment: event_id decides their order.
SAME_TIME = "2025-09-26T09:00:00+08:00"
OPENING_DAY = date(2025, 9, 26)  # the day of the times the events are posted at


def new_ids() -> list[str]:
    """Event ids for one test (an event id is stored once, whatever the session), in order."""
    return sorted(str(uuid4()) for _ in range(7))


def events(ids: list[str]) -> list[dict[str, Any]]:
    """Posted out of order; the export orders them by occurred_at, then event_id."""
    A, B, C, D, E, F = ids[:6]  # noqa: N806 - the events' names in this file
    return [
        {
            "type": "deal.voided",
            "event_id": F,
            "deal_id": "D-2",
            "reason": "signed twice, by mistake",
            "occurred_at": "2025-09-26T11:30:00+08:00",
        },
        {
            "type": "attendee.checked_in",
            "event_id": B,
            "attendee_id": "A-2",
            "category": "general",
            "country": "DE",
            "occurred_at": SAME_TIME,
        },
        {
            "type": "attendee.checked_in",
            "event_id": A,
            "attendee_id": "-A1",
            "category": "professional",
            "country": "CN",
            "desk_id": "东门-1",
            "occurred_at": SAME_TIME,
        },
        {
            "type": "deal.signed",
            "event_id": C,
            "deal_id": "D-1",
            "title": "智能制造合作协议",
            "kind": "contract",
            "amount": "1500000.5",
            "sector": "=1+2",
            "counterparty": "Müller GmbH",
            "counterparty_country": "DE",
            "occurred_at": "2025-09-26T10:00:00+08:00",
        },
        {
            "type": "deal.signed",
            "event_id": D,
            "deal_id": "D-2",
            "title": "@SUM(A1:A9)",
            "kind": "intent",
            "amount": "1000.00",
            "currency": "USD",
            "fx_rate_to_cny": "7.1234",
            "occurred_at": "2025-09-26T10:30:00+08:00",
        },
        {
            "type": "exhibitor.registered",
            "event_id": E,
            "exhibitor_id": "X-1",
            "name": "绵阳科技有限公司",
            "country": "CN",
            "projects_on_display": 12,
            "booth_area_m2": "36.50",
            "occurred_at": "2025-09-26T11:00:00+08:00",
        },
    ]


def expected_rows(ids: list[str]) -> list[dict[str, str]]:
    """Each event's row in the export (CSV text), less what the server chose: recorded_at,
    source, position and the payload, checked against the event store."""
    A, B, C, D, E, F = ids[:6]  # noqa: N806
    return [
        {
            "event_id": A,
            "type": "attendee.checked_in",
            "occurred_at": "2025-09-26T01:00:00.000000Z",
            "schema_version": "2",
            "attendee_id": "'-A1",
            "category": "professional",
            "country": "CN",
            "desk_id": "东门-1",
            "direction": "entry",
        },
        {
            "event_id": B,
            "type": "attendee.checked_in",
            "occurred_at": "2025-09-26T01:00:00.000000Z",
            "schema_version": "2",
            "attendee_id": "A-2",
            "category": "general",
            "country": "DE",
            "direction": "entry",
        },
        {
            "event_id": C,
            "type": "deal.signed",
            "occurred_at": "2025-09-26T02:00:00.000000Z",
            "schema_version": "3",
            "deal_id": "D-1",
            "title": "智能制造合作协议",
            "kind": "contract",
            "amount": "1500000.50",
            "currency": "CNY",
            "amount_cny": "1500000.50",
            "sector": "'=1+2",
            "counterparty": "Müller GmbH",
            "counterparty_country": "DE",
        },
        {
            "event_id": D,
            "type": "deal.signed",
            "occurred_at": "2025-09-26T02:30:00.000000Z",
            "schema_version": "3",
            "deal_id": "D-2",
            "title": "'@SUM(A1:A9)",
            "kind": "intent",
            "amount": "1000.00",
            "currency": "USD",
            "fx_rate_to_cny": "7.1234",
            "amount_cny": "7123.40",
        },
        {
            "event_id": E,
            "type": "exhibitor.registered",
            "occurred_at": "2025-09-26T03:00:00.000000Z",
            "schema_version": "1",
            "country": "CN",
            "exhibitor_id": "X-1",
            "name": "绵阳科技有限公司",
            "projects_on_display": "12",
            "booth_area_m2": "36.50",
        },
        {
            "event_id": F,
            "type": "deal.voided",
            "occurred_at": "2025-09-26T03:30:00.000000Z",
            "schema_version": "1",
            "deal_id": "D-2",
            "reason": "signed twice, by mistake",
        },
    ]


def post(stack: Stack, session: str, items: list[dict[str, Any]]) -> None:
    body = {"events": [{**item, "session_id": session} for item in items]}
    answer = stack.ingest.post("/v1/events:batch", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert {r["status"] for r in answer.json()["results"]} == {"accepted"}, answer.text


def session_with_events(stack: Stack, ids: list[str]) -> str:
    session = stack.new_session(
        stack.new_expo(name="绵阳科技城国际科技博览会"), starts_on=OPENING_DAY
    )
    post(stack, session, events(ids))
    stack.fold()
    return session


def stored(stack: Stack, session: str) -> dict[str, Any]:
    """The event store's rows of a session, by event_id."""
    with stack.engine.connect() as conn:
        rows = conn.execute(select(EVENTS).where(EVENTS.c.session_id == session)).all()
    return {row.event_id: row for row in rows}


def server_columns(row: Any) -> dict[str, str]:
    return {
        "recorded_at": row.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "source": row.source,
        "position": row.position,
        "payload": row.payload,
    }


def csv_rows(answer: httpx2.Response) -> list[dict[str, str]]:
    assert answer.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))


def xlsx_rows(answer: httpx2.Response) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    assert sheet.freeze_panes == "A2"
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_event_log_csv_holds_every_event_in_order_exactly(stack: Stack) -> None:
    ids = new_ids()
    session = session_with_events(stack, ids)
    answer = stack.api.get(f"/v1/sessions/{session}/export.csv", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == f'attachment; filename="{session}-events.csv"'
    assert answer.content.count(b"\r\n") == 7  # RFC 4180 line ends: the header and 6 rows
    rows = csv_rows(answer)
    assert list(rows[0]) == list(HEADER)
    by_id = stored(stack, session)
    blank = dict.fromkeys(HEADER, "")
    assert rows == [
        {**blank, **expected, **server_columns(by_id[expected["event_id"]])}
        for expected in expected_rows(ids)
    ]
    assert {json.loads(row["payload"])["session_id"] for row in rows} == {session}


def test_the_event_log_xlsx_holds_the_same_rows_as_text_and_numbers(stack: Stack) -> None:
    ids = new_ids()
    session = session_with_events(stack, ids)
    answer = stack.api.get(f"/v1/sessions/{session}/export.xlsx", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    assert answer.headers["content-disposition"] == f'attachment; filename="{session}-events.xlsx"'
    header, *rows = xlsx_rows(answer)
    assert header == list(HEADER)
    by_id = stored(stack, session)
    numbers = {"schema_version", "projects_on_display"}

    def cell(name: str, value: str) -> Any:
        if value == "":
            return None
        if name in numbers:
            return int(value)
        return value.removeprefix("'")  # a sheet's text is never a formula: kept as it is

    expected = [
        {**expected, **server_columns(by_id[expected["event_id"]])}
        for expected in expected_rows(ids)
    ]
    assert rows == [[cell(name, e.get(name, "")) for name in HEADER] for e in expected]


def test_the_event_log_is_for_admins_only(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    for suffix in ("csv", "xlsx"):
        path = f"/v1/sessions/{session}/export.{suffix}"
        missing = stack.api.get(path)
        assert (missing.status_code, missing.json()["reason"]) == (401, "unauthorized")
        for role in ("desk", "display", "organizer"):
            refused = stack.api.get(path, headers=stack.token(role, session))
            assert refused.status_code == 403, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["reason"] == "forbidden"
        assert stack.api.get(path, headers=ADMIN).status_code == 200


def test_an_unknown_session_is_a_404_problem(stack: Stack) -> None:
    for suffix in ("csv", "xlsx"):
        answer = stack.api.get(f"/v1/sessions/{new_id('nope')}/export.{suffix}", headers=ADMIN)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["reason"] == "unknown_session"
    unknown_expo = stack.api.get(f"/v1/expos/{new_id('nope')}/export.csv")
    assert (unknown_expo.status_code, unknown_expo.json()["reason"]) == (404, "unknown_expo")


def test_an_empty_session_exports_its_header_alone(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    answer = stack.api.get(f"/v1/sessions/{session}/export.csv", headers=ADMIN)
    assert answer.content == ("\ufeff" + ",".join(HEADER) + "\r\n").encode()
    assert xlsx_rows(stack.api.get(f"/v1/sessions/{session}/export.xlsx", headers=ADMIN)) == [
        list(HEADER)
    ]


def figures_expo(stack: Stack) -> str:
    """The baseline of four editions, a closed fifth and an open sixth with a deal."""
    expo = stack.new_expo()
    baseline = {**FOUR_PREVIOUS_SESSIONS, "label": "=前四届 (2013-2016)"}
    answer = stack.api.post(f"/v1/expos/{expo}/baselines", json=baseline, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    stack.new_session(expo, 5, "closed")
    sixth = stack.new_session(expo, 6, starts_on=OPENING_DAY)
    post(stack, sixth, events(new_ids())[1:4])
    stack.fold()
    return expo


def test_the_expo_figures_export_is_the_history_row_by_row(stack: Stack) -> None:
    expo = figures_expo(stack)
    history = stack.api.get(f"/v1/expos/{expo}/history").json()["rows"]
    answer = stack.api.get(f"/v1/expos/{expo}/export.csv")  # a public read, like history
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"] == f'attachment; filename="{expo}-figures.csv"'
    rows = csv_rows(answer)
    assert [list(rows[0])] == [list(FIGURES_HEADER)]
    assert [(r["kind"], r["label"], r["first_ordinal"], r["status"]) for r in rows] == [
        ("baseline", "'=前四届 (2013-2016)", "1", ""),
        ("session", "The 5th session", "5", "closed"),
        ("session", "The 6th session", "6", "open"),
    ]
    for row, edition in zip(rows, history, strict=True):
        for part, prefix in (("figures", ""), ("cumulative", "cumulative_")):
            figures = edition[part]
            assert row[f"{prefix}deals"] == str(figures["deals"])
            assert row[f"{prefix}deal_value_cny"] == figures["deal_value_cny"]
            assert row[f"{prefix}attendees"] == str(figures["attendees"])
            assert row[f"{prefix}attendees_general"] == str(
                figures["attendees_by_category"]["general"]
            )
            assert row[f"{prefix}deals_contract"] == str(figures["deals_by_kind"]["contract"])
            assert row[f"{prefix}countries_exact"] == str(figures["countries_exact"]).lower()
    last = rows[-1]
    assert (last["deals"], last["deal_value_cny"]) == ("1", "1500000.50")
    assert (last["cumulative_deals"], last["cumulative_deal_value_cny"]) == (
        "2108",
        "345001500000.50",
    )
    assert (last["cumulative_countries"], last["cumulative_countries_exact"]) == ("56", "false")
    assert last["as_of"].endswith("Z")


def test_the_expo_figures_xlsx_sums_money_to_the_fen_dates_times_and_heads_columns_for_people(
    stack: Stack,
) -> None:
    expo = figures_expo(stack)
    history = stack.api.get(f"/v1/expos/{expo}/history").json()["rows"]
    answer = stack.api.get(f"/v1/expos/{expo}/export.xlsx?lang=en")
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    sheet = book.active
    assert sheet is not None
    header, *rows = xlsx_rows(answer)
    assert len(header) == len(FIGURES_HEADER)
    column = {name: n for n, name in enumerate(FIGURES_HEADER)}
    assert header[column["deal_value_cny"]] == "Value signed"
    assert header[column["cumulative_deals"]] == "Projects signed (cumulative)"
    assert header[column["attendees_general"]] == "Attendees (general)"
    named = [dict(zip(FIGURES_HEADER, row, strict=True)) for row in rows]
    assert [r["label"] for r in named] == [
        "=前四届 (2013-2016)",  # text, never a formula
        "The 5th session",
        "The 6th session",
    ]
    assert [r["cumulative_deals"] for r in named] == [2107, 2107, 2108]
    # Money is a number a spreadsheet sums, shown with two places, exact to the fen.
    values = [r["cumulative_deal_value_cny"] for r in named]
    assert all(isinstance(v, float) for v in values)
    assert [Decimal(repr(v)) for v in values] == [
        Decimal("345000000000.00"),
        Decimal("345000000000.00"),
        Decimal("345001500000.50"),
    ]
    money_cell = sheet.cell(row=4, column=column["cumulative_deal_value_cny"] + 1)
    assert money_cell.number_format == "#,##0.00"
    assert [r["countries_exact"] for r in named] == [False, True, True]
    as_of = named[2]["as_of"]
    assert isinstance(as_of, datetime)
    expected = datetime.fromisoformat(history[2]["as_of"]).astimezone(UTC).replace(tzinfo=None)
    assert abs(as_of - expected) < timedelta(milliseconds=1)
    # The breakdowns follow, one sheet each, their rows adding up to the figures.
    assert book.sheetnames == [
        "Figures",
        "By sector",
        "By counterparty country",
        "By kind",
        "By exhibitor",
        "By attendee country",
        "By desk",
    ]
    kinds = [list(r) for r in book["By kind"].iter_rows(values_only=True)]
    assert kinds[0] == ["Kind", "Name", "Row", "Projects signed", "Value signed"]
    assert kinds[1:] == [
        ["contract", None, "key", 1, 1500000.5],
        [None, None, "unclassified", 2107, 345000000000.0],
    ]
    chinese = xlsx_rows(stack.api.get(f"/v1/expos/{expo}/export.xlsx"))[0]
    assert chinese[column["deal_value_cny"]] == "签约金额"


def test_the_expo_figures_export_needs_a_token_when_reads_are_not_public(stack: Stack) -> None:
    expo = stack.new_expo()
    private = stack.settings.model_copy(update={"public_reads": False})
    with TestClient(create_api(private)) as api:
        for suffix in ("csv", "xlsx"):
            path = f"/v1/expos/{expo}/export.{suffix}"
            assert api.get(path).status_code == 401
            assert api.get(path, headers=stack.token("display")).status_code == 200


def test_an_xlsx_of_more_events_than_a_sheet_holds_is_refused_for_the_csv(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    with stack.engine.begin() as conn:
        fill = FILL.replace("{numbers}", NUMBERS[conn.dialect.name])
        conn.execute(text(fill), {"session": session, "n": 1_048_576})
    try:
        answer = stack.api.get(f"/v1/sessions/{session}/export.xlsx", headers=ADMIN)
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["reason"] == "too_many_rows"
        assert "1048576 events" in answer.json()["detail"]
    finally:
        with stack.engine.begin() as conn:
            conn.execute(text("DELETE FROM event WHERE session_id = :s"), {"s": session})


# Rows the store would never hold (no payload): only how many there are matters here.
FILL = (
    "INSERT INTO event (event_id, session_id, type, occurred_at, recorded_at, schema_version,"
    " source, position, payload, stored_at)"
    " SELECT :session || '-' || i, :session, 'attendee.checked_in', CURRENT_TIMESTAMP,"
    " CURRENT_TIMESTAMP, 2, 'fill', '0-' || i, '{}', CURRENT_TIMESTAMP FROM {numbers}"
)
NUMBERS = {
    "postgresql": "generate_series(1, :n) AS n(i)",
    "sqlite": "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n)"
    " SELECT i FROM n)",
}


class Download:
    """A GET answered by the app itself through ASGI, as a server would run it, keeping each
    chunk of the body as the app sent it."""

    def __init__(self, app: FastAPI, path: str, on_first_chunk: Callable[[], None]) -> None:
        self.app, self.path, self.on_first_chunk = app, path, on_first_chunk
        self.status = 0
        self.chunks: list[bytes] = []

    async def run(self) -> None:
        done = asyncio.Event()
        asked = False

        async def receive() -> dict[str, Any]:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            elif message["type"] == "http.response.body" and message.get("body"):
                self.chunks.append(message["body"])
                if len(self.chunks) == 1:
                    await asyncio.to_thread(self.on_first_chunk)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        async with self.app.router.lifespan_context(self.app):
            await self.app(self.scope(), receive, send)

    def scope(self) -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"authorization", ADMIN["Authorization"].encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_the_event_log_is_sent_page_by_page_while_folds_go_on(stack: Stack, suffix: str) -> None:
    """Pages of two rows: the first chunk leaves before the rest is read, and while the
    client holds it the aggregator folds a later event, which the same export then has."""
    ids = new_ids()
    session = session_with_events(stack, ids)
    late = {
        "type": "attendee.checked_in",
        "event_id": ids[6],
        "attendee_id": "A-9",
        "category": "vip",
        "country": "FR",
        "occurred_at": "2025-09-26T12:00:00+08:00",
    }

    def fold_a_late_event() -> None:
        post(stack, session, [late])
        assert stack.fold() == 1

    app = create_api(stack.settings.model_copy(update={"export_page_rows": 2}))
    download = Download(app, f"/v1/sessions/{session}/export.{suffix}", fold_a_late_event)
    asyncio.run(download.run())
    assert download.status == 200
    body = b"".join(download.chunks)
    answer = httpx2.Response(200, content=body)
    if suffix == "csv":
        assert len(download.chunks) == 4  # 7 rows, 2 a page; the BOM and header go first
        exported = [row["event_id"] for row in csv_rows(answer)]
    else:  # the compressor may hold small pages back: at least the first and the end
        assert len(download.chunks) > 1
        exported = [row[0] for row in xlsx_rows(answer)[1:]]
    assert exported == ids

"""Exports for organisers, as CSV or XLSX (see `spreadsheet.py` for both formats):

- a session's event log, for admins only: every stored event, streamed page by page in
  bounded memory (`event_log.py` says in which order and how it is read);
- an expo's figures per edition: the rows of `GET /v1/expos/{expo_id}/history` (each
  baseline and session in ordinal order, its figures and the running cumulative). It is a
  read like the history, public unless EXPO_PUBLIC_READS=false: it shows nothing the
  history does not.

In CSV, times are RFC 3339 in UTC and money is decimal text, exactly as stored, under the
columns' machine names. The figures' XLSX is for people who sum: money is a number with two
places (exact to the fen, see `spreadsheet.py`), times are dates, the columns are headed in
Chinese or English (`?lang=`, Chinese by default), and the expo's breakdowns follow as
sheets of their own. The event log's XLSX keeps each field as the event holds it.
"""

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from services.api import breakdown, event_log
from services.api.admin import get_session
from services.api.deps import AdminDep, ReaderDep, Resources, ResourcesDep, SourcesDep
from services.api.reads import expo_history
from services.api.schemas import History
from services.api.spreadsheet import (
    CSV_MEDIA_TYPE,
    SHEET_ROWS,
    XLSX_MEDIA_TYPE,
    Cell,
    Page,
    Sheet,
    csv_chunks,
    workbook_chunks,
    xlsx_chunks,
)
from shared import press, vocabulary
from shared.errors import DomainError, Reason
from shared.figures import Figures
from shared.openapi import READ, problems
from shared.press import Lang
from shared.vocabulary import BREAKDOWNS, Kind

router = APIRouter(tags=["exports"])
ADMIN_READ = (401, 403, 404, 422, 503)
CSV_BODY = {
    "description": "CSV (RFC 4180, UTF-8 with a byte order mark), as an attachment.",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}
XLSX_BODY = {
    "description": "An XLSX workbook of one sheet, as an attachment.",
    "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
}
FIGURES = vocabulary.export_columns()
EDITION = ("kind", "label", "first_ordinal", "last_ordinal", "session_id", "status", "as_of")
FIGURES_SHEET = {Lang.ZH: "历届数据", Lang.EN: "Figures"}
FIGURES_HEADER = (*EDITION, *FIGURES, *(f"cumulative_{name}" for name in FIGURES))


def _headers(filename: str, cache: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": cache,
        "X-Content-Type-Options": "nosniff",
        "X-Accel-Buffering": "no",  # a proxy passes each chunk on as it comes
    }


def _streamed(chunks: Iterable[bytes], media_type: str, filename: str) -> StreamingResponse:
    """An attachment sent as it is made, never kept by a cache: a session's event log."""
    return StreamingResponse(chunks, media_type=media_type, headers=_headers(filename, "no-store"))


def _whole(chunks: Iterable[bytes], media_type: str, filename: str) -> Response:
    """An attachment sent whole, revalidated before a cache reuses it: an expo's figures."""
    return Response(b"".join(chunks), media_type=media_type, headers=_headers(filename, "no-cache"))


def _known_session(res: Resources, session_id: str) -> None:
    with Session(res.reader) as db:
        get_session(db, session_id)  # 404 before anything is sent


@router.get(
    "/v1/sessions/{session_id}/export.csv",
    response_class=StreamingResponse,
    responses={200: CSV_BODY, **problems(*ADMIN_READ)},
)
def session_csv(session_id: str, _: AdminDep, res: ResourcesDep) -> StreamingResponse:
    """Every stored event of the session, ordered by occurred_at then event_id: the
    envelope, the payload's fields by name and the payload as stored. Admins only."""
    _known_session(res, session_id)
    pages = event_log.pages(res.reader, session_id, res.settings.export_page_rows)
    chunks = csv_chunks(event_log.HEADER, pages)
    return _streamed(chunks, CSV_MEDIA_TYPE, f"{session_id}-events.csv")


@router.get(
    "/v1/sessions/{session_id}/export.xlsx",
    response_class=StreamingResponse,
    responses={200: XLSX_BODY, **problems(*ADMIN_READ)},
)
def session_xlsx(session_id: str, _: AdminDep, res: ResourcesDep) -> StreamingResponse:
    """The same rows as `export.csv`, as a sheet. A session of more events than a sheet
    holds (1,048,575 below the header) is refused with 422 `too_many_rows`: its CSV has
    them all. Should events stored during the download overflow the sheet, the download
    is cut off and fails rather than end in a workbook that lacks them."""
    _known_session(res, session_id)
    stored = event_log.count(res.reader, session_id)
    if stored > SHEET_ROWS - 1:
        raise DomainError(
            Reason.TOO_MANY_ROWS,
            f"session {session_id!r} holds {stored} events; an XLSX sheet holds "
            f"{SHEET_ROWS - 1} below its header: export.csv has them all",
        )
    pages = event_log.pages(res.reader, session_id, res.settings.export_page_rows)
    chunks = xlsx_chunks("events", event_log.HEADER, pages)
    return _streamed(chunks, XLSX_MEDIA_TYPE, f"{session_id}-events.xlsx")


def figure_cells(figures: Figures) -> list[Cell]:
    """An export row's figure cells, as `vocabulary.export_columns` names them."""
    cells: list[Cell] = []
    values = dict(figures)
    for figure in vocabulary.FIGURES:
        if not figure.exported:
            continue
        value = values[figure.name]
        if figure.kind is Kind.BREAKDOWN:
            cells += list(value.values())
        else:
            cells.append(value)  # money a Decimal: decimal text in CSV, a number in XLSX
    return cells


def history_page(history: History) -> Page:
    """One row per baseline and session, in ordinal order, with the running cumulative."""
    return [
        [
            row.kind,
            row.label,
            row.first_ordinal,
            row.last_ordinal,
            row.session_id,
            row.status,
            row.as_of,
            *figure_cells(row.figures),
            *figure_cells(row.cumulative),
        ]
        for row in history.rows
    ]


@router.get(
    "/v1/expos/{expo_id}/export.csv",
    response_class=Response,
    responses={200: CSV_BODY, **problems(*READ)},
)
def expo_csv(expo_id: str, _: ReaderDep, sources: SourcesDep) -> Response:
    """The expo's history as a table: each baseline and session in ordinal order, its
    figures and the running cumulative (`cumulative_*`). A read, like the history."""
    page = history_page(expo_history(sources, expo_id))
    return _whole(csv_chunks(FIGURES_HEADER, [page]), CSV_MEDIA_TYPE, f"{expo_id}-figures.csv")


@router.get(
    "/v1/expos/{expo_id}/export.xlsx",
    response_class=Response,
    responses={200: XLSX_BODY, **problems(*READ)},
)
def expo_xlsx(
    expo_id: str,
    _: ReaderDep,
    sources: SourcesDep,
    lang: Annotated[Lang, Query(description="The columns' language: zh (default) or en")] = Lang.ZH,
) -> Response:
    """The same rows as the expo's `export.csv`, for people who sum: money as numbers,
    times as dates, headed in `lang`; then a sheet per breakdown of the expo's sessions."""
    history = expo_history(sources, expo_id)
    sheets = [Sheet(FIGURES_SHEET[lang], _header(lang), [history_page(history)])]
    conn = sources.db.connection()
    for declared in BREAKDOWNS:
        found = breakdown.of_expo(conn, expo_id, declared.by, None, {})
        sheets.append(_breakdown_sheet(declared, found, lang))
    return _whole(workbook_chunks(sheets), XLSX_MEDIA_TYPE, f"{expo_id}-figures.xlsx")


def _heading(figure: vocabulary.Figure, member: str, lang: Lang) -> str:
    """A figure column's heading: the figure's label, and the member's for a breakdown's."""
    label = press.label(figure, lang) or press.word(figure.name, lang)
    return f"{label} ({press.word(member, lang)})" if member else label


def _header(lang: Lang) -> list[str]:
    cumulative = press.word("cumulative", lang)
    figures = [_heading(figure, member, lang) for _, figure, member in vocabulary.export_parts()]
    return [
        *(press.word(name, lang) for name in EDITION),
        *figures,
        *(f"{heading} ({cumulative})" for heading in figures),
    ]


def _breakdown_sheet(
    declared: vocabulary.Breakdown, found: breakdown.Breakdown, lang: Lang
) -> Sheet:
    """A breakdown as a sheet: a row per key, then the rows that are not one key's."""
    measures = declared.measures
    header = [
        press.label(declared, lang),
        press.word("label", lang),
        press.word("part", lang),
        *(press.label(vocabulary.BY_NAME[m], lang) for m in measures),
    ]
    rows: Page = [
        [row.key, row.label, row.part.value, *(getattr(row, m) for m in measures)]
        for row in found.rows
    ]
    name = f"按{declared.zh}" if lang is Lang.ZH else f"By {declared.en.lower()}"
    return Sheet(name[:31], header, [rows])

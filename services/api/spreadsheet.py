"""Rows as CSV or XLSX, produced page by page: each page of rows becomes one chunk of bytes,
so an export of any length is sent while it is read and never held whole in memory.

CSV: UTF-8 with a byte order mark (Excel reads a CSV without one in the machine's legacy
code page, which garbles Chinese names; `csv` in Python reads it with `utf-8-sig`), RFC 4180
quoting and CRLF line ends. A text cell beginning with = + - @ (or their full-width forms),
a tab, CR or LF gets a leading apostrophe, so that a spreadsheet opening the file never
runs it as a formula (OWASP's advice on CSV injection); the raw `payload` column of an
event export keeps every value exactly, and it always begins with `{`.

XLSX: one sheet or more, each with its header row bold and frozen; text as inline strings
(never formulas, so no apostrophe is needed), whole numbers as numbers, true/false as
booleans, money (`Decimal`) as a number shown with two places and thousands separators, and
times (`datetime`, in UTC) as dates. A spreadsheet's numbers are binary floating point: an
amount goes as a number only when that number reads back as exactly the amount (fifteen
significant digits, ¥9,999,999,999,999.99 and below); a larger one stays decimal text. The
workbook is written with the standard library's `zipfile` into a stream that cannot seek:
each part carries a data descriptor and no ZIP64 field (Excel refuses ZIP64 fields where
they are not needed). The sheets are the last parts (the fixed ones are in `xlsx_parts.py`)
and are compressed as their rows come, so the first bytes leave at once. A sheet holds at
most 1,048,576 rows, the header included; the writer refuses more (`TooManyRowsError`),
and a sheet part above 4 GiB too (over 4 KB a row on average, far above real events).
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO
from xml.sax.saxutils import escape

from services.api.xlsx_parts import DATE_STYLE, MONEY_STYLE, SHEET_END, fixed_parts, sheet_start

Cell = str | int | bool | Decimal | datetime | None
Row = Sequence[Cell]
Page = Sequence[Row]

BOM = "\ufeff"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_ROWS = 1_048_576  # Excel's limit, the header row included
FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# Characters XML 1.0 cannot carry; they become U+FFFD in a sheet.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
ZIP_LIMIT = (1 << 32) - 1
EPOCH = datetime(1899, 12, 30, tzinfo=UTC)  # day 0 of a spreadsheet's dates
EXACT_DIGITS = 15  # significant digits a double always gives back


class TooManyRowsError(ValueError):
    """More rows than one XLSX sheet holds."""


def csv_text(value: Cell) -> Cell:
    """A cell as it goes into the CSV: formula-like text defused, booleans spelled out,
    money with its two places, times in RFC 3339 (UTC)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def _csv_row(row: Row) -> list[Cell]:
    """`csv_text` of each cell; inline, as it runs for every cell of every row."""
    return [
        v
        if v is None or v.__class__ is int or (v.__class__ is str and v[:1] not in FORMULA_START)
        else csv_text(v)
        for v in row
    ]


def csv_chunks(header: Sequence[str], pages: Iterable[Page]) -> Iterator[bytes]:
    """The BOM and header first, then one chunk per page of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF, quotes only where needed, doubled
    buffer.write(BOM)
    writer.writerow(header)
    for page in pages:
        writer.writerows(map(_csv_row, page))
        yield buffer.getvalue().encode("utf-8", "replace")
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8", "replace")


class _Pending:
    """A file that cannot seek: it keeps what `zipfile` writes until it is taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


@dataclass(frozen=True)
class Sheet:
    """A sheet of a workbook: its name, header and rows, page by page."""

    name: str
    header: Sequence[str]
    pages: Iterable[Page]


def xlsx_chunks(sheet: str, header: Sequence[str], pages: Iterable[Page]) -> Iterator[bytes]:
    """A workbook of one sheet: the fixed parts first, then one chunk per page of rows."""
    return workbook_chunks([Sheet(sheet, header, pages)])


def workbook_chunks(sheets: Sequence[Sheet]) -> Iterator[bytes]:
    """A workbook of these sheets: the fixed parts first, then each sheet's rows, a chunk
    per page."""
    pending = _Pending()
    # Level 1: a quarter larger than the default level, at a third of its cost.
    book = zipfile.ZipFile(pending, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
    for name, text in fixed_parts([sheet.name for sheet in sheets]).items():
        book.writestr(name, text)
    for number, sheet in enumerate(sheets, start=1):
        part = book.open(f"xl/worksheets/sheet{number}.xml", "w")
        yield from _sheet_chunks(part, pending, sheet, selected=number == 1)
        part.close()
    book.close()
    yield pending.take()


def _sheet_chunks(
    part: IO[bytes], pending: _Pending, sheet: Sheet, selected: bool
) -> Iterator[bytes]:
    start = sheet_start(selected) + _row(1, sheet.header, ' s="1"').encode()
    part.write(start)
    written, number = len(start), 1
    for page in sheet.pages:
        if number + len(page) > SHEET_ROWS:
            msg = f"an XLSX sheet holds at most {SHEET_ROWS - 1} rows below its header"
            raise TooManyRowsError(msg)
        data = "".join(_row(number + n, row) for n, row in enumerate(page, start=1)).encode()
        number += len(page)
        written += len(data)
        if written > ZIP_LIMIT - len(SHEET_END):
            raise TooManyRowsError("the sheet would exceed 4 GiB")
        part.write(data)
        chunk = pending.take()
        if chunk:  # the compressor may keep a small page until it has more
            yield chunk
    part.write(SHEET_END)


def _column(index: int) -> str:
    """A, B, ..., Z, AA, AB, ... for 0, 1, ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


COLUMNS = [_column(i) for i in range(16_384)]


def _row(number: int, cells: Row, style: str = "") -> str:
    """A row of cells, each with its reference (A1, B1, ...); empty cells are left out."""
    row = str(number)
    parts = [f'<row r="{row}">']
    for column, value in zip(COLUMNS, cells, strict=False):
        if value is None or value == "":
            continue
        if value.__class__ is str:
            parts.append(f'<c r="{column}{row}"{style} t="inlineStr">{_text(value)}</c>')
        elif value.__class__ is bool:
            parts.append(f'<c r="{column}{row}"{style} t="b"><v>{int(value)}</v></c>')
        elif value.__class__ is int:
            parts.append(f'<c r="{column}{row}"{style}><v>{value}</v></c>')
        else:
            parts.append(_special(f"{column}{row}", value))  # type: ignore[arg-type]
    parts.append("</row>")
    return "".join(parts)


def _special(ref: str, value: Decimal | datetime) -> str:
    """Money with two places (text when a double would not give it back exactly), or a
    time as a date serial in UTC."""
    if isinstance(value, datetime):
        days = (value.astimezone(UTC) - EPOCH).total_seconds() / 86_400
        return f'<c r="{ref}" s="{DATE_STYLE}"><v>{days!r}</v></c>'
    money = value.quantize(Decimal("0.01"))
    if len(money.as_tuple().digits) <= EXACT_DIGITS:
        return f'<c r="{ref}" s="{MONEY_STYLE}"><v>{money}</v></c>'
    return f'<c r="{ref}" s="{MONEY_STYLE}" t="inlineStr">{_text(f"{money}")}</c>'


def _text(value: str) -> str:
    """An inline string: what XML cannot carry replaced, the rest escaped, edge spaces kept."""
    if not value.isprintable():  # printable text holds no character XML refuses
        value = NOT_XML.sub("\ufffd", value)
    if value[:1].isspace() or value[-1:].isspace():
        return f'<is><t xml:space="preserve">{escape(value)}</t></is>'
    return f"<is><t>{escape(value)}</t></is>"

"""Rows as CSV or XLSX, produced page by page: each page of rows becomes one chunk of bytes,
so an export of any length is sent while it is read and never held whole in memory.

CSV: UTF-8 with a byte order mark (Excel reads a CSV without one in the machine's legacy
code page, which garbles Chinese names; `csv` in Python reads it with `utf-8-sig`), RFC 4180
quoting and CRLF line ends. A text cell beginning with = + - @ (or their full-width forms),
a tab, CR or LF gets a leading apostrophe, so that a spreadsheet opening the file never
runs it as a formula (OWASP's advice on CSV injection); the raw `payload` column of an
event export keeps every value exactly, and it always begins with `{`.

XLSX: one sheet, its header row bold and frozen, text as inline strings (never formulas,
so no apostrophe is needed), whole numbers as numbers, true/false as booleans. The
workbook is written with the standard library's `zipfile` into a stream that cannot seek:
each part carries a data descriptor and no ZIP64 field (Excel refuses ZIP64 fields where
they are not needed). The sheet is the last part and is compressed as its rows come, so
the first bytes leave at once. A sheet holds at most 1,048,576 rows, the header included;
the writer refuses more (`TooManyRowsError`), and a sheet part above 4 GiB too (over 4 KB
a row on average, far above real events).
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from xml.sax.saxutils import escape

Cell = str | int | bool | None
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


class TooManyRowsError(ValueError):
    """More rows than one XLSX sheet holds."""


def csv_text(value: Cell) -> Cell:
    """A cell as it goes into the CSV: formula-like text defused, booleans spelled out."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    return value


def _csv_row(row: Row) -> list[Cell]:
    """`csv_text` of each cell; inline, as it runs for every cell of every row."""
    return [
        csv_text(v) if v.__class__ is bool or (v.__class__ is str and v[:1] in FORMULA_START) else v
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


def xlsx_chunks(sheet: str, header: Sequence[str], pages: Iterable[Page]) -> Iterator[bytes]:
    """A workbook of one sheet: the fixed parts first, then one chunk per page of rows."""
    pending = _Pending()
    # Level 1: a quarter larger than the default level, at a third of its cost.
    book = zipfile.ZipFile(pending, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
    for name, text in _fixed_parts(sheet).items():
        book.writestr(name, text)
    part = book.open("xl/worksheets/sheet1.xml", "w")
    start = SHEET_START + _row(1, header, ' s="1"').encode()
    part.write(start)
    written, number = len(start), 1
    for page in pages:
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
    part.close()
    book.close()
    yield pending.take()


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
        else:
            parts.append(f'<c r="{column}{row}"{style}><v>{int(value)}</v></c>')
    parts.append("</row>")
    return "".join(parts)


def _text(value: str) -> str:
    """An inline string: what XML cannot carry replaced, the rest escaped, edge spaces kept."""
    if not value.isprintable():  # printable text holds no character XML refuses
        value = NOT_XML.sub("\ufffd", value)
    if value[:1].isspace() or value[-1:].isspace():
        return f'<is><t xml:space="preserve">{escape(value)}</t></is>'
    return f"<is><t>{escape(value)}</t></is>"


XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
SHEET_START = (
    f'{XML}<worksheet xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheetViews>'
    '<sheetView tabSelected="1" workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft"/></sheetView></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15"/><sheetData>'
).encode()
SHEET_END = b"</sheetData></worksheet>"
STYLES = (
    f'{XML}<styleSheet xmlns="{MAIN}"><fonts count="2">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="2">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _fixed_parts(sheet: str) -> dict[str, str]:
    """Every part but the sheet's rows: content types, relationships, workbook, styles."""
    return {
        "[Content_Types].xml": (
            f'{XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package'
            f'.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{OFFICE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{OFFICE}.styles+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml"'
            f' ContentType="{OFFICE}.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'{XML}<Relationships xmlns="{RELS}"><Relationship Id="rId1"'
            f' Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'{XML}<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>'
            f'<sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{XML}<Relationships xmlns="{RELS}">'
            f'<Relationship Id="rId1" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{DOC_RELS}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": STYLES,
    }

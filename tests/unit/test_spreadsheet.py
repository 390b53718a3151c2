"""Rows as CSV and XLSX: formula-like text defused in CSV and kept as text in XLSX, what XML
cannot carry replaced, a sheet never longer than Excel's limit."""

import csv
import io
import zipfile

import openpyxl
import pytest

from services.api.spreadsheet import (
    SHEET_ROWS,
    Page,
    TooManyRowsError,
    csv_chunks,
    csv_text,
    xlsx_chunks,
)


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+86 138", "'+86 138"),
        ("-A1", "'-A1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\uff1d1+2", "'\uff1d1+2"),  # a full-width equals sign, as CJK input methods type it
        ("A=1", "A=1"),
        ("1500000.50", "1500000.50"),
        ("", ""),
        (None, None),
        (7, 7),
        (True, "true"),
        (False, "false"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_get_an_apostrophe(
    cell: str | int | None, written: str | int | None
) -> None:
    assert csv_text(cell) == written


def test_csv_has_a_bom_crlf_line_ends_and_rfc_4180_quotes() -> None:
    pages: list[Page] = [[["a,b", 'say "hi"', "名字"]], [["two\nlines", 2, None]]]
    data = b"".join(csv_chunks(["x", "y", "z"], pages))
    assert data == ('\ufeffx,y,z\r\n"a,b","say ""hi""",名字\r\n"two\nlines",2,\r\n'.encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [["x", "y", "z"], ["a,b", 'say "hi"', "名字"], ["two\nlines", "2", ""]]


def test_a_csv_chunk_leaves_with_every_page() -> None:
    chunks = list(csv_chunks(["x"], [[["1"]], [["2"], ["3"]]]))
    assert chunks == ["\ufeffx\r\n1\r\n".encode(), b"2\r\n3\r\n"]


def test_xlsx_text_stays_text_and_what_xml_cannot_carry_is_replaced() -> None:
    pages: list[Page] = [[["=1+2", 5, True, None, "  spaced ", "名字", "a\x01b", "&<>"]]]
    data = b"".join(xlsx_chunks("events", list("abcdefgh"), pages))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet.title == "events"
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        list("abcdefgh"),
        ["=1+2", 5, True, None, "  spaced ", "名字", "a\ufffdb", "&<>"],
    ]
    assert sheet["A2"].data_type == "s"  # a string, not a formula


def test_xlsx_parts_carry_data_descriptors_and_no_zip64() -> None:
    """Written as a stream: sizes follow each part; Excel refuses needless ZIP64 fields."""
    data = b"".join(xlsx_chunks("events", ["a"], [[["1"]]]))
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert book.testzip() is None
        parts = book.infolist()
    assert [p.filename for p in parts][-1] == "xl/worksheets/sheet1.xml"
    assert {(p.flag_bits & 0x08, p.extract_version) for p in parts} == {(0x08, 20)}


def test_a_page_that_would_take_a_sheet_past_excels_limit_is_refused() -> None:
    """1,048,576 rows with the header; the check comes before a page is written."""
    with pytest.raises(TooManyRowsError):
        b"".join(xlsx_chunks("events", ["a"], [[[]] * SHEET_ROWS]))
    with pytest.raises(TooManyRowsError):
        b"".join(xlsx_chunks("events", ["a"], [[["x"]], [[]] * (SHEET_ROWS - 1)]))

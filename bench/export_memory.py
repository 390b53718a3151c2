"""`python -m bench.export_memory`: a session's event log exported by the API service, run as
its own process (`expo api`), for a session of 100,000 events and one of 1,000,000.

The events are made and folded as the main bench's read-cost rows are (`bench/seed.py`) and
written straight into SQL (COPY on PostgreSQL, executemany on SQLite). For each size a
fresh API process is started; once it is ready and has made one small export of each
format, its peak resident set (`VmHWM`, /proc/PID/status) is the idle figure. Then
`export.csv` and `export.xlsx` are downloaded, streaming, 1 MiB at a time, and the peak is
read again after each. Bounded memory means the peak grows by a few tens of MB at most,
and by as much for 100,000 events as for 1,000,000.

Beside them, in the same run, the reference: the database handing over the same rows in
the same order with nothing else to do. On PostgreSQL `COPY (SELECT ... ORDER BY
occurred_at, event_id) TO STDOUT (FORMAT csv)`; on SQLite the same SELECT's rows
iterated. It is not part of `make test`.

    python -m bench.export_memory                 # SQLite
    EXPO_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        python -m bench.export_memory             # and PostgreSQL (database expo_bench_export)
"""

import argparse
import json
import os
import shutil
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from bench import database, seed, stack
from bench.stack import Stack, peak_rss_mb

RESULTS = Path(__file__).parent / "results" / "export_memory.json"
SCRATCH = "expo_bench_export"
BLOCK = 1 << 20
ORDERED = (  # the export's columns from the store, in the export's order
    "SELECT event_id, type, occurred_at, recorded_at, schema_version, source, position,"
    " payload FROM event WHERE session_id = {} ORDER BY occurred_at, event_id"
)
STARTED = time.monotonic()


def say(what: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {what}", flush=True)


@dataclass
class Row:
    database: str
    events: int
    what: str  # csv, xlsx, or the reference
    rows: int
    megabytes: float | None  # None: not counted (SQLite hands over rows, not text)
    seconds: float
    first_byte_ms: float | None = None
    rss_idle_mb: float | None = None
    rss_after_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def download(url: str, token: str, keep: Path | None) -> tuple[int, int, float, float]:
    """Bytes, CSV lines, seconds to the last byte and to the first, read 1 MiB at a time."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    size = lines = 0
    first = 0.0
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as answer:  # noqa: S310 - our own URL
        out = keep.open("wb") if keep else None
        while block := answer.read1(BLOCK):
            first = first or time.perf_counter() - started
            size += len(block)
            lines += block.count(b"\n")
            if out:
                out.write(block)
        if out:
            out.close()
    return size, lines, time.perf_counter() - started, first


def sheet_rows(path: Path) -> int:
    """Rows of the workbook's sheet below its header, read back as they were stored."""
    found, tail = 0, b""
    with zipfile.ZipFile(path) as book, book.open("xl/worksheets/sheet1.xml") as sheet:
        while block := sheet.read(BLOCK):
            found += (tail + block).count(b"<row ")
            tail = block[-4:]
    return found - 1


def reference(url: str, session_id: str) -> tuple[int, int, float]:
    """Rows, bytes and seconds for the database alone to hand over the rows in order."""
    return _sqlite_rows(url, session_id) if url.startswith("sqlite") else _copy(url, session_id)


def _sqlite_rows(url: str, session_id: str) -> tuple[int, int, float]:
    started, rows = time.perf_counter(), 0
    conn = database.sqlite_connect(url)
    cursor = conn.execute(ORDERED.format("?"), [session_id])
    while batch := cursor.fetchmany(2000):
        rows += len(batch)
    conn.close()
    return rows, -1, time.perf_counter() - started


def _copy(url: str, session_id: str) -> tuple[int, int, float]:
    started, rows, size = time.perf_counter(), 0, 0
    statement = sql.SQL("COPY (" + ORDERED + ") TO STDOUT WITH (FORMAT csv)")
    with (
        psycopg.connect(database.libpq(url)) as conn,
        conn.cursor() as cursor,
        cursor.copy(statement.format(sql.Literal(session_id))) as copy,
    ):
        for block in copy:
            size += len(block)
            rows += bytes(block).count(b"\n")
    return rows, size, time.perf_counter() - started


def start_api(up: Stack) -> int:
    up.spawn("api")
    up.wait_ready("api")
    return up.processes["api"].pid


def sessions(up: Stack, sizes: list[int]) -> dict[int, str]:
    """An expo with one session per size, and an empty one (key 0) for warming up."""
    start_api(up)
    expo = "bench-export"
    up.admin("POST", "/v1/expos", {"id": expo, "name": "Bench export expo"})
    made = {}
    for ordinal, size in enumerate([0, *sizes], start=1):
        session_id = f"bench-export-{size}"
        body = {
            "id": session_id,
            "ordinal": ordinal,
            "name": f"{size} events",
            "starts_on": "2025-09-26",
            "ends_on": "2025-09-29",
        }
        up.admin("POST", f"/v1/expos/{expo}/sessions", body)
        made[size] = session_id
    up.halt("api")
    return made


def measure_size(up: Stack, label: str, size: int, made: dict[int, str]) -> list[Row]:
    pid = start_api(up)
    base, token = up.url("api"), up.admin_token
    for suffix in ("csv", "xlsx"):  # warm up: every module imported, every path taken once
        download(f"{base}/v1/sessions/{made[0]}/export.{suffix}", token, None)
    idle = peak_rss_mb(pid)
    found = []
    for suffix in ("csv", "xlsx"):
        keep = up.var_dir / f"export-{size}.{suffix}" if suffix == "xlsx" else None
        url = f"{base}/v1/sessions/{made[size]}/export.{suffix}"
        size_bytes, lines, seconds, first = download(url, token, keep)
        rows = sheet_rows(keep) if keep else lines - 1
        if keep:
            keep.unlink()
        row = Row(label, size, suffix, rows, size_bytes / 1e6, seconds, first * 1e3)
        row.rss_idle_mb, row.rss_after_mb = idle, peak_rss_mb(pid)
        say(f"{label} {size}: {suffix}, {rows} rows in {seconds:.1f}s")
        found.append(row)
    up.halt("api")
    rows, size_bytes, seconds = reference(up.database_url, made[size])
    megabytes = size_bytes / 1e6 if size_bytes >= 0 else None
    found.append(Row(label, size, "reference", rows, megabytes, seconds))
    return found


def measure(label: str, url: str, var_dir: Path, sizes: list[int]) -> list[Row]:
    with stack.migrated(label, url, var_dir, ["api"]) as up:
        made = sessions(up, sizes)
        for size in sizes:
            say(f"{label}: making and storing {size} events")
            made_events = seed.prepare(made[size], size, size)  # a seed per size: ids differ
            stored = seed.store(url, made_events)
            say(f"{label}: {size} events stored in {stored:.1f}s")
        return [row for size in sizes for row in measure_size(up, label, size, made)]


def render(rows: list[Row]) -> str:
    lines = [
        f"{'database':<11}{'events':>10} {'what':<10}{'rows':>10}{'MB':>9}{'s':>8}"
        f"{'rows/s':>10}{'1st byte':>10}{'RSS idle':>10}{'RSS peak':>10}{'growth':>8}"
    ]
    for r in rows:
        memory = (
            f"{r.first_byte_ms:>8.0f}ms{r.rss_idle_mb:>8.1f}MB{r.rss_after_mb:>8.1f}MB"
            f"{r.rss_after_mb - r.rss_idle_mb:>6.1f}MB"
            if r.rss_idle_mb is not None and r.rss_after_mb is not None and r.first_byte_ms
            else ""
        )
        what = "raw" if r.what == "reference" else r.what
        lines.append(
            f"{r.database:<11}{r.events:>10} {what:<10}{r.rows:>10}"
            f"{'-' if r.megabytes is None else f'{r.megabytes:.1f}':>9}"
            f"{r.seconds:>8.1f}{r.rate:>10.0f}{memory}"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.export_memory", description=__doc__)
    p.add_argument(
        "--database-url",
        default=os.environ.get("EXPO_BENCH_DATABASE_URL") or None,
        help=f"a PostgreSQL server (default: $EXPO_BENCH_DATABASE_URL); a database {SCRATCH}"
        " is created there and dropped afterwards",
    )
    p.add_argument("--sizes", default="100000,1000000", help="events per session, comma-separated")
    args = p.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    Path("var").mkdir(exist_ok=True)
    found: list[Row] = []
    for label in ("sqlite", *(["postgresql"] if args.database_url else [])):
        var_dir = Path(tempfile.mkdtemp(prefix=f"bench-export-{label}-", dir="var")).resolve()
        if label == "sqlite":
            found += measure(label, database.sqlite_url(var_dir), var_dir, sizes)
        else:
            with database.scratch_postgres(args.database_url, SCRATCH) as url:
                found += measure(label, url, var_dir, sizes)
        shutil.rmtree(var_dir, ignore_errors=True)
    print(render(found))
    RESULTS.write_text(json.dumps([asdict(r) | {"rows_per_s": r.rate} for r in found], indent=2))
    say(f"written to {RESULTS}")


if __name__ == "__main__":
    main()

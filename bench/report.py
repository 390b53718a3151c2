"""The table: each project figure beside its reference limit, the ratio and the target.

Figures arrive as one flat mapping (`"postgresql.e2e.per_s": 21034.5`); with several runs
each is the median of the runs. A target is met or not; absolute figures are reported, not
asserted (a ratio holds across machines, an absolute figure does not).
"""

from collections.abc import Mapping
from dataclasses import dataclass

Figures = Mapping[str, float]
NOTHING = "-"


@dataclass(frozen=True)
class Row:
    figure: str
    project: str
    limit: str
    ratio: str
    target: str
    met: str
    ratio_value: float | None = None


def rate(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}"


def spread(p50: float, p99: float) -> str:
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"


def verdict(ok: bool | None) -> str:
    return NOTHING if ok is None else ("yes" if ok else "NO")


def share(
    figure: str, project: tuple[float, str], limit: tuple[str, float], least: float | None
) -> Row:
    """The project's figure as a share of a limit; the target is a least share."""
    value, shown = project
    name, limit_value = limit
    ratio = value / limit_value if limit_value else float("nan")
    return Row(
        figure,
        shown,
        f"{name} {limit_value:,.0f}/s",
        f"{ratio:.0%}",
        NOTHING if least is None else f">= {least:.0%}",
        verdict(None if least is None else ratio >= least),
        ratio,
    )


def ingest_rows(f: Figures, db: str) -> list[Row]:
    single = f[f"{db}.ingest.single.rps"]
    p50, p99 = f[f"{db}.ingest.single.p50_ms"], f[f"{db}.ingest.single.p99_ms"]
    shown = f"{rate(single, 'req/s')} ({spread(p50, p99)})"
    batch = f[f"{db}.ingest.batch.per_s"]
    return [
        share(
            f"[{db}] ingest, single POST /v1/checkins",
            (single, shown),
            ("minimal POST", f["minimal.post.rps"]),
            0.5,
        ),
        share(
            f"[{db}] ingest, single (vs raw XADD)",
            (single, rate(single, "req/s")),
            ("XADD one by one", f[f"{db}.xadd.one.per_s"]),
            None,
        ),
        share(
            f"[{db}] ingest, events:batch",
            (batch, rate(batch, "events/s")),
            ("XADD pipelined", f[f"{db}.xadd.pipelined.per_s"]),
            None,
        ),
    ]


def fold_rows(f: Figures, db: str) -> list[Row]:
    fold = f[f"{db}.fold.per_s"]
    shown = f"{rate(fold, 'events/s')} (over {f[f'{db}.fold.events']:,.0f} events)"
    rows = [
        share(
            f"[{db}] aggregator fold rate",
            (fold, shown),
            ("raw executemany", f[f"{db}.insert.executemany.per_s"]),
            None,
        )
    ]
    if f"{db}.insert.copy.per_s" in f:
        rows.append(
            share(
                f"[{db}] aggregator fold rate (vs COPY)",
                (fold, shown),
                ("raw COPY", f[f"{db}.insert.copy.per_s"]),
                None,
            )
        )
    return rows


def e2e_rows(f: Figures, db: str) -> list[Row]:
    e2e = f[f"{db}.e2e.per_s"]
    production = db == "postgresql"
    lower = min(f[f"{db}.xadd.pipelined.per_s"], f[f"{db}.insert.executemany.per_s"])
    absolute = Row(
        f"[{db}] end to end, events:batch to totals",
        rate(e2e, "events/s"),
        f"lower limit {lower:,.0f}/s",
        f"{e2e / lower:.0%}",
        ">= 20,000/s" if production else NOTHING,
        verdict(e2e >= 20_000 if production else None),
        e2e / lower,
    )
    versus = share(
        f"[{db}] end to end (vs executemany)",
        (e2e, rate(e2e, "events/s")),
        ("raw executemany", f[f"{db}.insert.executemany.per_s"]),
        0.25 if production else None,
    )
    return [absolute, versus]


def fresh_row(f: Figures, db: str) -> Row:
    p99 = f[f"{db}.fresh.p99_ms"]
    offered = f[f"{db}.fresh.offered_per_s"]
    unseen, refused = f[f"{db}.fresh.unseen"], f.get(f"{db}.fresh.refused", 0)
    shown = f"{spread(f[f'{db}.fresh.p50_ms'], p99)} at {offered:,.0f} events/s"
    shown += f", poll {f[f'{db}.fresh.poll_ms']:.0f} ms"
    shown += f", {unseen:.0f} batches unseen" if unseen else ""
    shown += f", {refused:.0f} batches refused" if refused else ""
    return Row(
        f"[{db}] freshness, 202 to visible",
        shown,
        NOTHING,
        NOTHING,
        "p99 < 250 ms",
        verdict(p99 < 250 and not unseen and not refused),
    )


def display_rows(f: Figures, db: str) -> list[Row]:
    limit = ("minimal GET", f["minimal.get.rps"])
    rows = []
    for kind, name, least in (("plain", "no If-None-Match", None), ("etag", "ETag hit, 304", 0.7)):
        rps, p99 = f[f"{db}.display.{kind}.rps"], f[f"{db}.display.{kind}.p99_ms"]
        shown = (
            f"{rate(rps, 'req/s')} (p99 {p99:.1f} ms; minimal p99 {f['minimal.get.p99_ms']:.1f})"
        )
        rows.append(share(f"[{db}] display reads, {name}", (rps, shown), limit, least))
    return rows


def growth_rows(f: Figures, db: str) -> list[Row]:
    """The totals and a breakdown read at a small and a large session: flat, not growing."""
    events = (f[f"{db}.totals.small.events"], f[f"{db}.totals.large.events"])
    rows = []
    for read, name in (("totals", "totals latency"), ("breakdown", "breakdown by sector")):
        if f"{db}.{read}.small.p50_ms" not in f:
            continue  # a run from before breakdowns
        small = (f[f"{db}.{read}.small.p50_ms"], f[f"{db}.{read}.small.p99_ms"])
        large = (f[f"{db}.{read}.large.p50_ms"], f[f"{db}.{read}.large.p99_ms"])
        ratio = large[0] / small[0]
        rows += [
            Row(
                f"[{db}] {name}, {events[0]:,.0f} events",
                spread(*small),
                NOTHING,
                NOTHING,
                NOTHING,
                NOTHING,
            ),
            Row(
                f"[{db}] {name}, {events[1]:,.0f} events",
                spread(*large),
                f"flat: p50 at {events[0]:,.0f} ({small[0]:.1f} ms)",
                f"{ratio:.2f}x",
                "<= 1.2x",
                verdict(ratio <= 1.2),
                ratio,
            ),
        ]
    return rows


def memory_rows(f: Figures, db: str) -> list[Row]:
    rows = []
    for service in ("ingest", "aggregator", "api", "redis"):
        mb = f[f"{db}.rss.{service}_mb"]
        bounded = service in {"ingest", "api"}
        rows.append(
            Row(
                f"[{db}] peak RSS under load, {service}",
                f"{mb:,.0f} MB",
                NOTHING,
                NOTHING,
                "< 200 MB" if bounded else NOTHING,
                verdict(mb < 200 if bounded else None),
            )
        )
    return rows


def _where(f: Figures, prefix: str) -> str:
    """Where the aggregators' time went, as shares of aggregator-time."""
    parts = (
        ("outside SQL", "outside_sql"),
        ("in tx client", "client"),
        ("PG running", "postgres"),
        ("row lock", "lock"),
        ("WAL/IO", "wal_io"),
    )
    return ", ".join(f"{name} {f[f'{prefix}.{key}']:.0%}" for name, key in parts)


def scaling_rows(f: Figures) -> list[Row]:
    """Fold throughput with 1, 2 and 4 aggregators, many sessions and one hot session."""
    if "scale.backlog" not in f:
        return []
    table = []
    for shape, label in (("many", f"{f['scale.sessions']:.0f} sessions"), ("hot", "1 session")):
        one = f[f"scale.{shape}.1.per_s"]
        limit = f[f"scale.{shape}.insert.copy.per_s"]
        for count in (1, 2, 4):
            prefix = f"scale.{shape}.{count}"
            rate_value = f[f"{prefix}.per_s"]
            others = f.get(f"{prefix}.others_busy", 0.0)
            shown = (
                f"{rate(rate_value, 'events/s')} ({rate_value / one:.2f}x of 1; machine CPU "
                f"{f[f'{prefix}.machine_busy']:.0%}"
                + (f", {others:.0%} of it other processes" if others >= 0.02 else "")
                + "; aggregators "
                f"{f[f'{prefix}.aggregator_cpu_us']:.0f} us CPU/event; WAL "
                f"{f[f'{prefix}.wal_bytes_per_event']:,.0f} B/event; {_where(f, prefix)})"
            )
            table.append(
                share(
                    f"[postgresql] fold, {count} aggregator(s), {label}, "
                    f"{f['scale.backlog']:,.0f}-event backlog",
                    (rate_value, shown),
                    ("raw COPY", limit),
                    None,
                )
            )
    return table


def rows(f: Figures, databases: list[str]) -> list[Row]:
    table: list[Row] = []
    for db in databases:
        table += ingest_rows(f, db) + fold_rows(f, db) + e2e_rows(f, db)
        table += [fresh_row(f, db), *display_rows(f, db), *growth_rows(f, db), *memory_rows(f, db)]
    return table + scaling_rows(f)


def render(table: list[Row]) -> str:
    header = Row("figure", "project", "reference limit (same run)", "ratio", "target", "met?")
    cells = [[r.figure, r.project, r.limit, r.ratio, r.target, r.met] for r in [header, *table]]
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    return "\n".join(lines)

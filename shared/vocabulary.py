"""The figures, declared once: each one's name, what kind of number it is, how it is kept and
how it combines across editions. What other modules need is derived from here: the fold's
counters and their SQL columns, the API's figures, a baseline's fields, an export's columns,
a history file's fields and the board's compact form (docs/design.md §5).

Adding a figure that the fold counts takes its line here, its counting in `shared/fold.py`
and a migration that adds its counter column.

Beside the figures, the breakdowns: a subject's measures (deals and their value, attendees
and check-ins) per key of one dimension (sector, country, desk...), kept by the fold in keyed
rows of `breakdown_row`, one row per key, so that a read does not grow with the events."""

from dataclasses import dataclass
from enum import StrEnum

from shared.events import Category, DealKind


class Kind(StrEnum):
    COUNT = "count"  # a whole number the fold counts; adds across editions
    MONEY = "money"  # yuan with two places (a string on the wire), kept as whole fen; adds
    BREAKDOWN = "breakdown"  # a count per member of an enum, each kept and added
    TOTAL = "total"  # a breakdown's sum, plus what a baseline gives without its breakdown
    MEMBER = "member"  # one member of a breakdown, on its own
    SET_SIZE = "set_size"  # the size of a set: across editions, the size of the union
    FLAG = "flag"  # true or false; across editions, true only if true everywhere
    LIVE = "live"  # a count of the open session only (nobody is inside a past edition)


@dataclass(frozen=True)
class Figure:
    name: str
    kind: Kind
    meaning: str
    members: type[StrEnum] | None = None  # a breakdown's members
    of: str = ""  # the breakdown a total or a member is taken from
    member: str = ""  # a member figure's member
    # How the press names it (shared/press.py): a Chinese and an English label, and the
    # Chinese measure word after a count ("75个"). A figure with no label is not quoted.
    zh: str = ""
    en: str = ""
    unit: str = ""

    @property
    def in_history(self) -> bool:
        """Whether a baseline or a history file may give it: a record of a past edition
        gives no live figure, and whether it is exact follows from what it gives."""
        return self.kind not in (Kind.FLAG, Kind.LIVE)

    @property
    def exported(self) -> bool:
        """Whether it is a column of the figures export: a figure of an edition, not live."""
        return self.kind is not Kind.LIVE

    @property
    def counters(self) -> tuple[str, ...]:
        """The fold's counters that keep this figure (one column each in `session_figures`)."""
        match self.kind:
            case Kind.COUNT | Kind.LIVE | Kind.SET_SIZE:
                return (self.name,)
            case Kind.MONEY:
                return (fen_counter(self.name),)
            case Kind.BREAKDOWN:
                return tuple(m.value for m in self.members or ())
        return ()


def fen_counter(name: str) -> str:
    """The counter of a money figure: `deal_value_cny` is kept as `deal_value_fen`."""
    return name.removesuffix("_cny") + "_fen"


def _breakdown(name: str, members: type[StrEnum], meaning: str) -> Figure:
    return Figure(name, Kind.BREAKDOWN, meaning, members=members)


FIGURES: tuple[Figure, ...] = (
    Figure(
        "checkins",
        Kind.COUNT,
        "every accepted entry scan, repeats included (人次)",
        zh="入场人次",
        en="Visits",
        unit="人次",
    ),
    Figure(
        "attendees",
        Kind.TOTAL,
        "distinct people checked in",
        of="attendees_by_category",
        zh="观众",
        en="Attendees",
        unit="人",
    ),
    Figure(
        "professional_attendees",
        Kind.MEMBER,
        "distinct people of the professional category",
        of="attendees_by_category",
        member=Category.PROFESSIONAL,
        zh="专业观众",
        en="Professional attendees",
        unit="人",
    ),
    _breakdown("attendees_by_category", Category, "distinct people by their first category"),
    Figure(
        "deals",
        Kind.TOTAL,
        "deals signed and not voided",
        of="deals_by_kind",
        zh="签约项目",
        en="Projects signed",
        unit="个",
    ),
    _breakdown("deals_by_kind", DealKind, "deals by kind (contract, agreement, intent)"),
    Figure(
        "deal_value_cny",
        Kind.MONEY,
        "the value of those deals, in yuan",
        zh="签约金额",
        en="Value signed",
    ),
    Figure(
        "major_deals",
        Kind.COUNT,
        "those deals of ¥100 million or more (亿元以上项目)",
        zh="亿元以上项目",
        en="Projects of ¥100 million or more",
        unit="个",
    ),
    Figure(
        "countries",
        Kind.SET_SIZE,
        "countries and regions of attendees, deals, exhibitors",
        zh="国家和地区",
        en="Countries and regions",
        unit="个",
    ),
    Figure("countries_exact", Kind.FLAG, "false when `countries` is a lower bound (no list)"),
    Figure(
        "exhibitors", Kind.COUNT, "exhibitors registered", zh="参展企业", en="Exhibitors", unit="家"
    ),
    Figure(
        "projects_on_display",
        Kind.COUNT,
        "projects the exhibitors put on display",
        zh="展示项目",
        en="Projects on display",
        unit="项",
    ),
    Figure("inside_now", Kind.LIVE, "in the halls now (latest scan an entry); 0 once closed"),
)
BY_NAME = {figure.name: figure for figure in FIGURES}

# Counted beside the figures: events folded late or after the session closed.
REVISION_COUNTERS = ("late_events", "after_close")
# Every counter the fold keeps, each a column of `session_figures`.
COUNTERS: tuple[str, ...] = (
    *(counter for figure in FIGURES for counter in figure.counters),
    *REVISION_COUNTERS,
)
# Counters of a figure of the open session only, 0 in any other.
LIVE_COUNTERS = tuple(c for f in FIGURES if f.kind is Kind.LIVE for c in f.counters)


class Subject(StrEnum):
    DEALS = "deals"  # counted deals: how many, and their value
    PEOPLE = "people"  # attendees (distinct people) and check-ins (scans)


# The measures of a subject, figures of the same name and kind as the session's totals.
MEASURES: dict[Subject, tuple[str, ...]] = {
    Subject.DEALS: ("deals", "deal_value_cny"),
    Subject.PEOPLE: ("attendees", "checkins"),
}


@dataclass(frozen=True)
class Breakdown:
    """A subject's measures per key of one dimension (`by`); a key the event leaves out
    (no sector, no desk) is kept as "" and read as "not given"."""

    by: str
    subject: Subject
    meaning: str
    zh: str = ""  # what a key is, as a column or sheet is headed
    en: str = ""

    @property
    def measures(self) -> tuple[str, ...]:
        return MEASURES[self.subject]

    @property
    def counters(self) -> tuple[str, ...]:
        """The columns of `breakdown_row` this breakdown moves."""
        return tuple(fen_counter(m) if BY_NAME[m].kind is Kind.MONEY else m for m in self.measures)


BREAKDOWNS: tuple[Breakdown, ...] = (
    Breakdown(
        "sector", Subject.DEALS, "counted deals by the sector their signing names", "领域", "Sector"
    ),
    Breakdown(
        "counterparty_country",
        Subject.DEALS,
        "counted deals by counterparty country",
        "签约方国家和地区",
        "Counterparty country",
    ),
    Breakdown(
        "kind",
        Subject.DEALS,
        "counted deals by kind (contract, agreement, intent)",
        "签约类型",
        "Kind",
    ),
    Breakdown(
        "exhibitor",
        Subject.DEALS,
        "counted deals by the exhibitor that signed",
        "参展企业",
        "Exhibitor",
    ),
    Breakdown(
        "country",
        Subject.PEOPLE,
        "attendees by the country of their earliest entry; check-ins by each scan's country",
        "观众国家和地区",
        "Attendee country",
    ),
    Breakdown(
        "desk",
        Subject.PEOPLE,
        "attendees by the desk of their earliest entry; check-ins by each scan's desk",
        "登记台",
        "Desk",
    ),
)
BREAKDOWN_BY = {b.by: b for b in BREAKDOWNS}
# Every counter a breakdown row keeps, each a column of `breakdown_row`.
KEYED_COUNTERS: tuple[str, ...] = tuple(dict.fromkeys(c for b in BREAKDOWNS for c in b.counters))
NOT_GIVEN = ""  # the key of what an event leaves out


def quoted() -> tuple[Figure, ...]:
    """The figures a fact sheet quotes: those the press names."""
    return tuple(f for f in FIGURES if f.zh)


def of_kind(*kinds: Kind) -> tuple[Figure, ...]:
    return tuple(f for f in FIGURES if f.kind in kinds)


def compact() -> tuple[Figure, ...]:
    """The board's figures: every figure but the breakdowns."""
    return tuple(f for f in FIGURES if f.kind is not Kind.BREAKDOWN)


def export_parts() -> tuple[tuple[str, Figure, str], ...]:
    """The figure columns of an export, each as (column, the figure it is headed by, its
    member or ""): a breakdown spreads over one column per member, named and headed after
    its total (`attendees_general`, `deals_contract`)."""
    totals = {f.of: f for f in of_kind(Kind.TOTAL)}
    parts: list[tuple[str, Figure, str]] = []
    for figure in FIGURES:
        if not figure.exported:
            continue
        if figure.kind is Kind.BREAKDOWN:
            total = totals[figure.name]
            parts += [(f"{total.name}_{m}", total, m) for m in figure.counters]
        else:
            parts.append((figure.name, figure, ""))
    return tuple(parts)


def export_columns() -> tuple[str, ...]:
    return tuple(column for column, _, _ in export_parts())


def history_fields() -> tuple[str, ...]:
    """The figures a history file's row may give, each a plain column (no breakdowns)."""
    plain = (Kind.COUNT, Kind.TOTAL, Kind.MEMBER, Kind.MONEY, Kind.SET_SIZE)
    return tuple(f.name for f in FIGURES if f.in_history and f.kind in plain)


def whole_numbers(names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of `names` that are whole numbers (counts and set sizes, not money)."""
    return tuple(name for name in names if BY_NAME[name].kind is not Kind.MONEY)

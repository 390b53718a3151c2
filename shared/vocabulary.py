"""The figures, declared once: each one's name, what kind of number it is, how it combines
across editions, and where it appears (the API's figures, exports, baselines and history
files). The lists other modules need (an export's columns, a history file's fields) are
derived from here, so a figure is named in one place (docs/design.md §5)."""

from dataclasses import dataclass
from enum import StrEnum

from shared.events import Category, DealKind


class Kind(StrEnum):
    COUNT = "count"  # a whole number that adds across editions
    MONEY = "money"  # yuan, a Decimal with two places (a string on the wire), adds
    SET_SIZE = "set_size"  # the size of a set: across editions, the size of the union
    BREAKDOWN = "breakdown"  # a count per member of an enum, each adds
    FLAG = "flag"  # true or false; across editions, true only if true everywhere
    LIVE = "live"  # a figure of the open session only (nobody is inside a past edition)


@dataclass(frozen=True)
class Figure:
    name: str
    kind: Kind
    meaning: str
    members: tuple[str, ...] = ()  # a breakdown's members
    in_history: bool = True  # a baseline or a history file may give it
    exported: bool = True  # a column of the figures export


def _breakdown(name: str, members: type[StrEnum], meaning: str) -> Figure:
    return Figure(name, Kind.BREAKDOWN, meaning, tuple(m.value for m in members))


FIGURES: tuple[Figure, ...] = (
    Figure("checkins", Kind.COUNT, "every accepted check-in scan, repeats included"),
    Figure("attendees", Kind.COUNT, "distinct people checked in"),
    Figure("professional_attendees", Kind.COUNT, "distinct people of the professional category"),
    _breakdown("attendees_by_category", Category, "distinct people per category"),
    Figure("deals", Kind.COUNT, "deals signed and not voided"),
    _breakdown("deals_by_kind", DealKind, "deals per kind (contract, agreement, intent)"),
    Figure("deal_value_cny", Kind.MONEY, "the value of those deals, in yuan"),
    Figure("countries", Kind.SET_SIZE, "countries and regions of attendees, deals, exhibitors"),
    Figure(
        "countries_exact",
        Kind.FLAG,
        "false where a part gave a count without its list",
        in_history=False,
    ),
    Figure("exhibitors", Kind.COUNT, "exhibitors registered"),
    Figure("projects_on_display", Kind.COUNT, "projects the exhibitors put on display"),
    Figure(
        "inside_now",
        Kind.LIVE,
        "people whose latest scan is an entry, while the session is open",
        in_history=False,
        exported=False,
    ),
)
BY_NAME = {figure.name: figure for figure in FIGURES}


def export_columns() -> tuple[str, ...]:
    """The figure columns of an export: a breakdown spreads over one column per member,
    named after the figure's subject (`attendees_general`, `deals_contract`)."""
    columns: list[str] = []
    for figure in FIGURES:
        if not figure.exported:
            continue
        if figure.kind is Kind.BREAKDOWN:
            subject = figure.name.split("_by_")[0]
            columns += [f"{subject}_{member}" for member in figure.members]
        else:
            columns.append(figure.name)
    return tuple(columns)


def history_fields() -> tuple[str, ...]:
    """The figures a history file's row may give, each a plain column (no breakdowns)."""
    return tuple(
        f.name
        for f in FIGURES
        if f.in_history and f.kind in (Kind.COUNT, Kind.MONEY, Kind.SET_SIZE)
    )


def whole_numbers(names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of `names` that are whole numbers (counts and set sizes, not money)."""
    return tuple(name for name in names if BY_NAME[name].kind is not Kind.MONEY)

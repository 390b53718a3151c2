"""What the fold keeps for a session (docs/design.md §4): the records it counts by, the
running totals, the state a batch works on, and the `Change` that folding events makes.
The rules that make a change are in `shared/fold.py`."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from shared.events import Category, DealKind
from shared.vocabulary import COUNTERS, KEYED_COUNTERS

OrderKey = tuple[datetime, UUID]
Counts = dict[str, int]  # counter name (shared/vocabulary.py COUNTERS) -> value
Row = tuple[str, str]  # a breakdown row: (its `by`, its key)


@dataclass(frozen=True, slots=True)
class Attendee:
    """A badge as counted: under the category, country and desk of its earliest entry (None
    while only exits are known; a desk "" when that entry named none), and inside the halls
    when its latest scan is an entry."""

    first: OrderKey | None
    category: Category | None
    latest: OrderKey
    inside: bool
    country: str | None = None
    desk: str | None = None


@dataclass(frozen=True, slots=True)
class Signing:
    """The signing of a deal that counts: the first by occurred_at, then event_id."""

    first: OrderKey
    kind: DealKind
    amount_cny: Decimal
    counterparty_country: str | None
    content: str
    sector: str | None = None
    exhibitor_id: str | None = None


@dataclass(frozen=True, slots=True)
class Deal:
    signing: Signing | None = None
    voided: bool = False

    @property
    def counts(self) -> bool:
        return self.signing is not None and not self.voided


@dataclass(frozen=True, slots=True)
class Exhibitor:
    """An exhibitor as counted: projects and country from its first registration."""

    first: OrderKey
    projects_on_display: int
    country: str


@dataclass(frozen=True, slots=True)
class Revisions:
    """How much of a session's figures came after the fact: `late_events` were folded more
    than the late threshold after they occurred, the latest of them at `last_revised_at`;
    `after_close` were folded after the session closed."""

    late_events: int = 0
    last_revised_at: datetime | None = None
    after_close: int = 0


@dataclass(frozen=True, slots=True)
class Folding:
    """When an event was folded (its first storing in the event store), and what makes
    that late: the facts beside the event that its revisions depend on."""

    at: datetime
    late_after: timedelta
    closed_at: datetime | None = None


def zero_counts() -> Counts:
    return dict.fromkeys(COUNTERS, 0)


@dataclass(slots=True)
class Totals:
    """The running totals of one session: every counter of `shared.vocabulary.COUNTERS`,
    the newest `recorded_at` folded, and when the latest late event was folded."""

    counts: Counts = field(default_factory=zero_counts)
    as_of: datetime | None = None
    last_revised_at: datetime | None = None

    def __getitem__(self, counter: str) -> int:
        return self.counts[counter]

    @property
    def revisions(self) -> Revisions:
        counts = self.counts
        return Revisions(counts["late_events"], self.last_revised_at, counts["after_close"])


@dataclass(frozen=True, slots=True)
class Conflict:
    """A later signing of a deal whose content differs from the one that counts."""

    session_id: str
    deal_id: str
    counted_event_id: UUID
    ignored_event_id: UUID


@dataclass(slots=True)
class Change:
    """What folding an event (or a batch of them) changes: how far each counter moves (the
    totals' and each breakdown row's), the records as they now are, the newest times, and
    the deal conflicts it revealed. A batch
    folds into one change (`apply(..., into=change)`); the projection writes exactly that,
    nothing is diffed."""

    counts: Counts = field(default_factory=dict)
    rows: dict[Row, Counts] = field(default_factory=dict)
    attendees: dict[str, Attendee] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)
    exhibitors: dict[str, Exhibitor] = field(default_factory=dict)
    country_refs: dict[str, int] = field(default_factory=dict)
    as_of: datetime | None = None
    last_revised_at: datetime | None = None
    conflicts: list[Conflict] = field(default_factory=list)

    def add(self, counter: str, n: int = 1) -> None:
        self.counts[counter] = self.counts.get(counter, 0) + n

    def add_to_row(self, by: str, key: str, counter: str, n: int) -> None:
        counts = self.rows.get((by, key))
        if counts is None:
            counts = self.rows[by, key] = {}
        counts[counter] = counts.get(counter, 0) + n


@dataclass(slots=True)
class State:
    """The fold's state for one session (or the part of it a batch touches)."""

    totals: Totals = field(default_factory=Totals)
    rows: dict[Row, Counts] = field(default_factory=dict)  # the breakdown rows (all or some)
    attendees: dict[str, Attendee] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)
    exhibitors: dict[str, Exhibitor] = field(default_factory=dict)
    country_refs: dict[str, int] = field(default_factory=dict)

    def absorb(self, change: Change) -> None:
        """Take a change in (as `apply` computed it against this state)."""
        totals = self.totals
        counts = totals.counts
        for counter, n in change.counts.items():
            counts[counter] += n
        totals.as_of = newest(totals.as_of, change.as_of)
        if change.last_revised_at is not None:
            totals.last_revised_at = newest(totals.last_revised_at, change.last_revised_at)
        for row, moved in change.rows.items():
            kept = self.rows.get(row)
            if kept is None:
                kept = self.rows[row] = dict.fromkeys(KEYED_COUNTERS, 0)
            for counter, n in moved.items():
                kept[counter] += n
        if change.attendees:  # most events change one kind of record, or none
            self.attendees.update(change.attendees)
        if change.deals:
            self.deals.update(change.deals)
        if change.exhibitors:
            self.exhibitors.update(change.exhibitors)
        if change.country_refs:
            self.country_refs.update(change.country_refs)


def newest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or (b is not None and b > a):
        return b
    return a

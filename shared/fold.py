"""The fold: what the figures of a session mean (docs/design.md §4), as a pure function.

`apply(state, event)` says what folding one NEW event into `state` changes (the caller
drops events whose `event_id` it has already folded; `fold` does so for a plain list): how
far each counter of `shared.vocabulary` moves, and the records as they become. It reads the
state and writes nothing but the `Change` it returns: no clock, I/O, logging or randomness.
The result depends only on the SET of events, never on their order of arrival.

The aggregator runs the same `apply` over a partial state: the records a batch touches,
loaded from SQL (`Keys` says which), plus the session's running totals; it writes the
batch's changes as they are.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from shared.events import (
    AttendeeCheckedIn,
    Category,
    DealKind,
    DealSigned,
    DealVoided,
    Direction,
    Event,
    ExhibitorRegistered,
    sort_key,
)
from shared.money import fen_of
from shared.vocabulary import COUNTERS, fen_counter

OrderKey = tuple[datetime, UUID]
Counts = dict[str, int]  # counter name (shared/vocabulary.py COUNTERS) -> value
DEAL_VALUE = fen_counter("deal_value_cny")
LATE_AFTER = timedelta(seconds=120)  # EXPO_LATE_AFTER_SECONDS
MAJOR_DEAL = Decimal(100_000_000)  # a deal of 1亿元 or more is a major deal


@dataclass(frozen=True, slots=True)
class Attendee:
    """A badge as counted: under the category of its earliest entry (None while only exits
    are known), and inside the halls when its latest scan is an entry."""

    first: OrderKey | None
    category: Category | None
    latest: OrderKey
    inside: bool


@dataclass(frozen=True, slots=True)
class Signing:
    """The signing of a deal that counts: the first by occurred_at, then event_id."""

    first: OrderKey
    kind: DealKind
    amount_cny: Decimal
    counterparty_country: str | None
    content: str


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
    """What folding an event (or a batch of them) changes: how far each counter moves, the
    records as they now are, the newest times, and the deal conflicts it revealed. The
    projection writes exactly this; nothing is diffed."""

    counts: Counts = field(default_factory=dict)
    attendees: dict[str, Attendee] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)
    exhibitors: dict[str, Exhibitor] = field(default_factory=dict)
    country_refs: dict[str, int] = field(default_factory=dict)
    as_of: datetime | None = None
    last_revised_at: datetime | None = None
    conflicts: list[Conflict] = field(default_factory=list)

    def add(self, counter: str, n: int = 1) -> None:
        self.counts[counter] = self.counts.get(counter, 0) + n

    def then(self, later: "Change") -> None:
        """Take in a change that comes after this one."""
        for counter, n in later.counts.items():
            self.add(counter, n)
        self.attendees.update(later.attendees)
        self.deals.update(later.deals)
        self.exhibitors.update(later.exhibitors)
        self.country_refs.update(later.country_refs)
        self.as_of = _newest(self.as_of, later.as_of)
        self.last_revised_at = _newest(self.last_revised_at, later.last_revised_at)
        self.conflicts += later.conflicts


@dataclass(slots=True)
class State:
    """The fold's state for one session (or the part of it a batch touches)."""

    totals: Totals = field(default_factory=Totals)
    attendees: dict[str, Attendee] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)
    exhibitors: dict[str, Exhibitor] = field(default_factory=dict)
    country_refs: dict[str, int] = field(default_factory=dict)

    def absorb(self, change: Change) -> None:
        """Take a change in (as `apply` computed it against this state)."""
        totals = self.totals
        for counter, n in change.counts.items():
            totals.counts[counter] += n
        totals.as_of = _newest(totals.as_of, change.as_of)
        totals.last_revised_at = _newest(totals.last_revised_at, change.last_revised_at)
        self.attendees.update(change.attendees)
        self.deals.update(change.deals)
        self.exhibitors.update(change.exhibitors)
        self.country_refs.update(change.country_refs)


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


@dataclass(frozen=True, slots=True)
class Keys:
    """The records that folding some events reads and may change."""

    attendees: frozenset[str]
    deals: frozenset[str]
    exhibitors: frozenset[str]
    countries: frozenset[str]


def keys_of(events: Iterable[Event]) -> Keys:
    attendees, deals, exhibitors, countries = set(), set(), set(), set()
    for event in events:
        match event:
            case AttendeeCheckedIn():
                attendees.add(event.attendee_id)
                countries.add(event.country)
            case DealSigned():
                deals.add(event.deal_id)
                if event.counterparty_country:
                    countries.add(event.counterparty_country)
            case DealVoided():
                deals.add(event.deal_id)
            case ExhibitorRegistered():
                exhibitors.add(event.exhibitor_id)
                countries.add(event.country)
    return Keys(frozenset(attendees), frozenset(deals), frozenset(exhibitors), frozenset(countries))


def apply(state: State, event: Event, folding: Folding | None = None) -> Change:
    """What folding one new event into `state` changes; `state` itself is left as it is
    (`State.absorb` takes the change in). With `folding`, the event also counts in the
    revisions when it came late."""
    change = Change(as_of=event.recorded_at)
    if folding is not None:
        _revise(change, event, folding)
    match event:
        case AttendeeCheckedIn():
            _check_in(state, change, event)
        case DealSigned():
            _sign(state, change, event)
        case DealVoided():
            _void(state, change, event.deal_id)
        case ExhibitorRegistered():
            _register(state, change, event)
    return change


def fold(events: Iterable[Event], state: State | None = None) -> tuple[State, list[Conflict]]:
    """Fold a collection of events, each event_id once."""
    state = state or State()
    seen: set[UUID] = set()
    conflicts = []
    for event in events:
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        change = apply(state, event)
        state.absorb(change)
        conflicts += change.conflicts
    return state, conflicts


def _revise(change: Change, event: Event, folding: Folding) -> None:
    late = folding.at - event.occurred_at > folding.late_after
    closed = folding.closed_at is not None and folding.at > folding.closed_at
    if late:
        change.add("late_events")
        change.last_revised_at = folding.at
    if closed:
        change.add("after_close")


def _country_seen(state: State, change: Change, country: str | None, delta: int) -> None:
    if country is None:
        return
    before = change.country_refs.get(country)
    if before is None:
        before = state.country_refs.get(country, 0)
    after = before + delta
    change.country_refs[country] = after
    change.add("countries", (after > 0) - (before > 0))


def _check_in(state: State, change: Change, event: AttendeeCheckedIn) -> None:
    """An entry is a check-in (a repeat scan a new visit); an exit only says who left."""
    key = sort_key(event)
    entry = event.direction is Direction.ENTRY
    current = state.attendees.get(event.attendee_id)
    first, category = (current.first, current.category) if current else (None, None)
    if entry:
        change.add("checkins")
        _country_seen(state, change, event.country, +1)
        if first is None or key < first:
            if category is not None:
                change.add(category.value, -1)
            change.add(event.category.value)
            first, category = key, event.category
    latest, inside = (current.latest, current.inside) if current else (key, False)
    if current is None or key > latest:
        change.add("inside_now", entry - inside)
        latest, inside = key, entry
    attendee = Attendee(first, category, latest, inside)
    if attendee != current:
        change.attendees[event.attendee_id] = attendee


def _count_signing(state: State, change: Change, signing: Signing, sign: int) -> None:
    change.add(signing.kind.value, sign)
    change.add(DEAL_VALUE, sign * fen_of(signing.amount_cny))
    if signing.amount_cny >= MAJOR_DEAL:
        change.add("major_deals", sign)
    _country_seen(state, change, signing.counterparty_country, sign)


def _sign(state: State, change: Change, event: DealSigned) -> None:
    deal = state.deals.get(event.deal_id, Deal())
    new = Signing(
        first=sort_key(event),
        kind=event.kind,
        amount_cny=event.amount_cny,
        counterparty_country=event.counterparty_country,
        content=repr(event.content()),
    )
    old = deal.signing
    if old is not None and old.first <= new.first:
        _conflict(change, event, kept=old, dropped=new)
        return
    if deal.counts and old is not None:
        _count_signing(state, change, old, -1)
    change.deals[event.deal_id] = replace(deal, signing=new)
    if not deal.voided:
        _count_signing(state, change, new, +1)
    if old is not None:
        _conflict(change, event, kept=new, dropped=old)


def _conflict(change: Change, event: DealSigned, kept: Signing, dropped: Signing) -> None:
    if kept.content != dropped.content:
        change.conflicts.append(
            Conflict(event.session_id, event.deal_id, kept.first[1], dropped.first[1])
        )


def _void(state: State, change: Change, deal_id: str) -> None:
    deal = state.deals.get(deal_id, Deal())
    if deal.voided:
        return
    if deal.counts and deal.signing is not None:
        _count_signing(state, change, deal.signing, -1)
    change.deals[deal_id] = replace(deal, voided=True)


def _register(state: State, change: Change, event: ExhibitorRegistered) -> None:
    current = state.exhibitors.get(event.exhibitor_id)
    key = sort_key(event)
    if current is not None and current.first <= key:
        return
    if current is None:
        change.add("exhibitors")
    else:
        change.add("projects_on_display", -current.projects_on_display)
        _country_seen(state, change, current.country, -1)
    change.add("projects_on_display", event.projects_on_display)
    _country_seen(state, change, event.country, +1)
    change.exhibitors[event.exhibitor_id] = Exhibitor(key, event.projects_on_display, event.country)

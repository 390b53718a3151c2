"""The fold: what the figures of a session mean (docs/design.md §4), as a pure function.

`apply(state, event)` folds one NEW event into `state` (the caller drops events whose
`event_id` it has already folded; `fold` does so for a plain list). It is deterministic and
touches nothing but the state it is given: no clock, I/O, logging or randomness. The result
depends only on the SET of events, never on their order of arrival.

The aggregator runs the same `apply` over a partial state: the records a batch touches,
loaded from SQL (`Keys` says which), plus the session's running totals.
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

OrderKey = tuple[datetime, UUID]
LATE_AFTER = timedelta(seconds=120)  # EXPO_LATE_AFTER_SECONDS


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

    def revised(self, event: Event, folding: "Folding") -> "Revisions":
        late = folding.at - event.occurred_at > folding.late_after
        closed = folding.closed_at is not None and folding.at > folding.closed_at
        if not late and not closed:
            return self
        last = self.last_revised_at
        if late and (last is None or folding.at > last):
            last = folding.at
        return Revisions(self.late_events + late, last, self.after_close + closed)


@dataclass(frozen=True, slots=True)
class Folding:
    """When an event was folded (its first storing in the event store), and what makes
    that late: the facts beside the event that its revisions depend on."""

    at: datetime
    late_after: timedelta
    closed_at: datetime | None = None


@dataclass(slots=True)
class Totals:
    """The additive figures of one session."""

    checkins: int = 0
    by_category: dict[Category, int] = field(default_factory=lambda: dict.fromkeys(Category, 0))
    by_kind: dict[DealKind, int] = field(default_factory=lambda: dict.fromkeys(DealKind, 0))
    deal_value_cny: Decimal = Decimal("0.00")
    exhibitors: int = 0
    projects_on_display: int = 0
    countries: int = 0
    inside_now: int = 0
    as_of: datetime | None = None
    revisions: Revisions = field(default_factory=Revisions)


@dataclass(frozen=True, slots=True)
class Conflict:
    """A later signing of a deal whose content differs from the one that counts."""

    session_id: str
    deal_id: str
    counted_event_id: UUID
    ignored_event_id: UUID


@dataclass(slots=True)
class State:
    """The fold's state for one session (or the part of it a batch touches)."""

    totals: Totals = field(default_factory=Totals)
    attendees: dict[str, Attendee] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)
    exhibitors: dict[str, Exhibitor] = field(default_factory=dict)
    country_refs: dict[str, int] = field(default_factory=dict)


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


def apply(state: State, event: Event, folding: Folding | None = None) -> Conflict | None:
    """Fold one new event into `state`; returns the deal conflict it revealed, if any.
    With `folding`, the event also counts in the revisions when it came late."""
    totals = state.totals
    if totals.as_of is None or event.recorded_at > totals.as_of:
        totals.as_of = event.recorded_at
    if folding is not None:
        totals.revisions = totals.revisions.revised(event, folding)
    match event:
        case AttendeeCheckedIn():
            _check_in(state, event)
        case DealSigned():
            return _sign(state, event)
        case DealVoided():
            _void(state, event.deal_id)
        case ExhibitorRegistered():
            _register(state, event)
    return None


def fold(events: Iterable[Event], state: State | None = None) -> tuple[State, list[Conflict]]:
    """Fold a collection of events, each event_id once."""
    state = state or State()
    seen: set[UUID] = set()
    conflicts = []
    for event in events:
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        if conflict := apply(state, event):
            conflicts.append(conflict)
    return state, conflicts


def _country_seen(state: State, country: str | None, delta: int) -> None:
    if country is None:
        return
    before = state.country_refs.get(country, 0)
    after = before + delta
    state.country_refs[country] = after
    state.totals.countries += (after > 0) - (before > 0)


def _check_in(state: State, event: AttendeeCheckedIn) -> None:
    """An entry is a check-in (a repeat scan a new visit); an exit only says who left."""
    totals = state.totals
    key = sort_key(event)
    entry = event.direction is Direction.ENTRY
    current = state.attendees.get(event.attendee_id)
    first, category = (current.first, current.category) if current else (None, None)
    if entry:
        totals.checkins += 1
        _country_seen(state, event.country, +1)
        if first is None or key < first:
            if category is not None:
                totals.by_category[category] -= 1
            totals.by_category[event.category] += 1
            first, category = key, event.category
    latest, inside = (current.latest, current.inside) if current else (key, False)
    if current is None or key > latest:
        totals.inside_now += entry - inside
        latest, inside = key, entry
    state.attendees[event.attendee_id] = Attendee(first, category, latest, inside)


def _count_signing(state: State, signing: Signing, sign: int) -> None:
    totals = state.totals
    totals.by_kind[signing.kind] += sign
    totals.deal_value_cny += sign * signing.amount_cny
    _country_seen(state, signing.counterparty_country, sign)


def _sign(state: State, event: DealSigned) -> Conflict | None:
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
        return _conflict(event, kept=old, dropped=new)
    if deal.counts and old is not None:
        _count_signing(state, old, -1)
    state.deals[event.deal_id] = replace(deal, signing=new)
    if not deal.voided:
        _count_signing(state, new, +1)
    return None if old is None else _conflict(event, kept=new, dropped=old)


def _conflict(event: DealSigned, kept: Signing, dropped: Signing) -> Conflict | None:
    if kept.content == dropped.content:
        return None
    return Conflict(event.session_id, event.deal_id, kept.first[1], dropped.first[1])


def _void(state: State, deal_id: str) -> None:
    deal = state.deals.get(deal_id, Deal())
    if deal.voided:
        return
    if deal.counts and deal.signing is not None:
        _count_signing(state, deal.signing, -1)
    state.deals[deal_id] = replace(deal, voided=True)


def _register(state: State, event: ExhibitorRegistered) -> None:
    totals = state.totals
    current = state.exhibitors.get(event.exhibitor_id)
    key = sort_key(event)
    if current is not None and current.first <= key:
        return
    if current is None:
        totals.exhibitors += 1
    else:
        totals.projects_on_display -= current.projects_on_display
        _country_seen(state, current.country, -1)
    totals.projects_on_display += event.projects_on_display
    _country_seen(state, event.country, +1)
    state.exhibitors[event.exhibitor_id] = Exhibitor(key, event.projects_on_display, event.country)

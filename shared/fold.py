"""The fold: what the figures of a session mean (docs/design.md §4), as a pure function.

`apply(state, event, into=change)` adds what folding one NEW event changes to `change`
(the caller drops events whose `event_id` it has already folded; `fold` does so for a plain
list): how far each counter of `shared.vocabulary` moves, and the records as they become.
The event sees `state` as the change so far leaves it; nothing else is written: no clock,
I/O, logging or randomness. The result depends only on the SET of events, never on their
order of arrival.

The aggregator runs the same `apply` over a partial state: the records a batch touches,
loaded from SQL (`Keys` says which), plus the session's running totals; it writes the
batch's one change as it is.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from shared.events import (
    AttendeeCheckedIn,
    DealSigned,
    DealVoided,
    Direction,
    Event,
    ExhibitorRegistered,
    sort_key,
)
from shared.fold_state import (
    Attendee,
    Change,
    Conflict,
    Deal,
    Exhibitor,
    Folding,
    Signing,
    State,
    newest,
)
from shared.money import fen_of
from shared.vocabulary import NOT_GIVEN, fen_counter

DEAL_VALUE = fen_counter("deal_value_cny")
LATE_AFTER = timedelta(seconds=120)  # EXPO_LATE_AFTER_SECONDS
MAJOR_DEAL = Decimal(100_000_000)  # a deal of 1亿元 or more is a major deal


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


def apply(
    state: State, event: Event, folding: Folding | None = None, into: Change | None = None
) -> Change:
    """What folding one new event changes, added to `into`, the changes of the events
    folded before it in the same batch (a new change when none); returns that change.
    The event sees `state` as `into` leaves it; `state` itself is left as it is
    (`State.absorb` takes a change in). With `folding`, the event also counts in the
    revisions when it came late."""
    change = Change() if into is None else into
    change.as_of = newest(change.as_of, event.recorded_at)
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
    change = Change()
    for event in events:
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        apply(state, event, into=change)
    state.absorb(change)
    return state, change.conflicts


def _attendee(state: State, change: Change, attendee_id: str) -> Attendee | None:
    found = change.attendees.get(attendee_id)
    return found if found is not None else state.attendees.get(attendee_id)


def _deal(state: State, change: Change, deal_id: str) -> Deal:
    found = change.deals.get(deal_id)
    return found if found is not None else state.deals.get(deal_id, Deal())


def _exhibitor(state: State, change: Change, exhibitor_id: str) -> Exhibitor | None:
    found = change.exhibitors.get(exhibitor_id)
    return found if found is not None else state.exhibitors.get(exhibitor_id)


def _revise(change: Change, event: Event, folding: Folding) -> None:
    late = folding.at - event.occurred_at > folding.late_after
    closed = folding.closed_at is not None and folding.at > folding.closed_at
    if late:
        change.add("late_events")
        change.last_revised_at = newest(change.last_revised_at, folding.at)
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
    current = _attendee(state, change, event.attendee_id)
    first, category, country, desk = None, None, None, None
    if current is not None:
        first, category, country, desk = (
            current.first,
            current.category,
            current.country,
            current.desk,
        )
    if entry:
        here = (event.country, event.desk_id or NOT_GIVEN)
        change.add("checkins")
        _people_at(change, here, "checkins", +1)
        _country_seen(state, change, event.country, +1)
        if first is None or key < first:
            if category is not None:
                change.add(category.value, -1)
                _people_at(change, (country or NOT_GIVEN, desk or NOT_GIVEN), "attendees", -1)
            change.add(event.category.value)
            _people_at(change, here, "attendees", +1)
            first, category, (country, desk) = key, event.category, here
    latest, inside = (current.latest, current.inside) if current else (key, False)
    if current is None or key > latest:
        change.add("inside_now", entry - inside)
        latest, inside = key, entry
    attendee = Attendee(first, category, latest, inside, country, desk)
    if attendee != current:
        change.attendees[event.attendee_id] = attendee


def _people_at(change: Change, where: tuple[str, str], counter: str, n: int) -> None:
    """Move the people breakdowns' rows of a (country, desk)."""
    change.add_to_row("country", where[0], counter, n)
    change.add_to_row("desk", where[1], counter, n)


def _count_signing(state: State, change: Change, signing: Signing, sign: int) -> None:
    fen = sign * fen_of(signing.amount_cny)
    change.add(signing.kind.value, sign)
    change.add(DEAL_VALUE, fen)
    if signing.amount_cny >= MAJOR_DEAL:
        change.add("major_deals", sign)
    _country_seen(state, change, signing.counterparty_country, sign)
    for by, key in deal_keys(signing).items():
        change.add_to_row(by, key, "deals", sign)
        change.add_to_row(by, key, DEAL_VALUE, fen)


def deal_keys(signing: Signing) -> dict[str, str]:
    """The rows of the deals breakdowns (shared.vocabulary.BREAKDOWNS) a signing counts in."""
    return {
        "sector": signing.sector or NOT_GIVEN,
        "counterparty_country": signing.counterparty_country or NOT_GIVEN,
        "kind": signing.kind.value,
        "exhibitor": signing.exhibitor_id or NOT_GIVEN,
    }


def _sign(state: State, change: Change, event: DealSigned) -> None:
    deal = _deal(state, change, event.deal_id)
    new = Signing(
        first=sort_key(event),
        kind=event.kind,
        amount_cny=event.amount_cny,
        counterparty_country=event.counterparty_country,
        content=repr(event.content()),
        sector=event.sector,
        exhibitor_id=event.exhibitor_id,
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
    deal = _deal(state, change, deal_id)
    if deal.voided:
        return
    if deal.counts and deal.signing is not None:
        _count_signing(state, change, deal.signing, -1)
    change.deals[deal_id] = replace(deal, voided=True)


def _register(state: State, change: Change, event: ExhibitorRegistered) -> None:
    current = _exhibitor(state, change, event.exhibitor_id)
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

"""The figures are a function of the SET of events (docs/design.md §4), checked with Hypothesis.

Random event sets live in a small world (a few attendees, deals, exhibitors and countries,
four possible minutes) so that repeat scans, re-signings, voids before signings and ties on
`occurred_at` (broken by `event_id`) happen in most examples. Scans are mostly entries and
sometimes exits, so attendees leave, come back, and are sometimes known only from an exit.
Each set is delivered in a random order with random redeliveries (so scans older than ones
already folded arrive late, as a desk's offline queue uploads them), and the fold must agree
with `reference`, a direct reading of docs/design.md §4 and issue 3 that shares no code with
the fold.
"""

from collections import Counter
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import (
    AttendeeCheckedIn,
    Category,
    DealKind,
    DealSigned,
    DealVoided,
    Direction,
    Event,
    ExhibitorRegistered,
    decode_event,
    encode_event,
)
from shared.figures import Tally
from shared.fold import apply, fold, keys_of
from shared.fold_state import Attendee, Folding, Revisions, State
from shared.vocabulary import KEYED_COUNTERS

from .factories import as_version_1, at, checkin, countries_of, registered, signed, voided

# Fixed seed; example counts keep this file near 6 s (generating the sets is the cost).
PROPERTY = settings(max_examples=250, derandomize=True, database=None, deadline=None)

ATTENDEES = ("att-0", "att-1", "att-2")
DEALS = ("deal-0", "deal-1", "deal-2")
EXHIBITORS = ("exh-0", "exh-1")
COUNTRIES = ("CN", "DE", "HK", "TW")

event_numbers = st.integers(min_value=0, max_value=63)
minutes = st.integers(min_value=0, max_value=3)
recorded = st.integers(min_value=0, max_value=10)
# Mostly entries: two in three scans (and every shrunk one) are entries.
directions = st.sampled_from((Direction.ENTRY, Direction.ENTRY, Direction.EXIT))

checkins = st.builds(
    checkin,
    n=event_numbers,
    attendee_id=st.sampled_from(ATTENDEES),
    minute=minutes,
    category=st.sampled_from(Category),
    country=st.sampled_from(COUNTRIES),
    recorded_minute=recorded,
    direction=directions,
    desk_id=st.sampled_from((None, "desk-1", "desk-2")),
)
signings = st.builds(
    signed,
    n=event_numbers,
    deal_id=st.sampled_from(DEALS),
    minute=minutes,
    kind=st.sampled_from(DealKind),
    # "100" and "100.00" are one amount; "1" and no rate are one CNY rate.
    amount=st.sampled_from(("100.00", "100", "2500.50")),
    fx_rate_to_cny=st.sampled_from((None, "1")),
    counterparty_country=st.sampled_from((None, *COUNTRIES)),
    recorded_minute=recorded,
    sector=st.sampled_from((None, "artificial intelligence", "低空经济")),
    exhibitor_id=st.sampled_from((None, *EXHIBITORS)),
)
voids = st.builds(
    voided,
    n=event_numbers,
    deal_id=st.sampled_from(DEALS),
    minute=minutes,
    recorded_minute=recorded,
)
registrations = st.builds(
    registered,
    n=event_numbers,
    exhibitor_id=st.sampled_from(EXHIBITORS),
    minute=minutes,
    country=st.sampled_from(COUNTRIES),
    projects_on_display=st.integers(min_value=0, max_value=3),
    recorded_minute=recorded,
)
# Distinct events: ids (drawn apart from times, so their order is unrelated to time) unique.
event_sets = st.lists(
    st.one_of(checkins, signings, voids, registrations),
    min_size=4,
    max_size=24,
    unique_by=lambda e: e.event_id,
)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Event], list[Event]]:
    """An event set, and the same set as delivered: in any order, some events more than once."""
    events = draw(event_sets)
    again = draw(st.lists(st.sampled_from(events), max_size=8)) if events else []
    return events, draw(st.permutations([*events, *again]))


# --- the reference: docs/design.md §4 read literally ---------------------------------------


@dataclass(frozen=True)
class Figures:
    checkins: int
    attendees: int
    by_category: dict[Category, int]
    deals: int
    by_kind: dict[DealKind, int]
    deal_value_cny: Decimal
    exhibitors: int
    projects_on_display: int
    countries: frozenset[str]
    inside_now: int
    as_of: datetime | None


def earliest(event: Event) -> tuple[datetime, UUID]:
    return (event.occurred_at, event.event_id)


def reference(events: list[Event]) -> Figures:
    everyone = reference_attendees(events)
    scans = [e for e in events if isinstance(e, AttendeeCheckedIn)]
    entries = [e for e in scans if e.direction is Direction.ENTRY]
    signings = [e for e in events if isinstance(e, DealSigned)]
    voided_ids = {e.deal_id for e in events if isinstance(e, DealVoided)}
    registrations = [e for e in events if isinstance(e, ExhibitorRegistered)]

    first_entry = {
        a: min((e for e in entries if e.attendee_id == a), key=earliest)
        for a in {e.attendee_id for e in entries}
    }
    counted = {
        d: min((e for e in signings if e.deal_id == d), key=earliest)
        for d in {e.deal_id for e in signings} - voided_ids
    }
    first_registration = {
        x: min((e for e in registrations if e.exhibitor_id == x), key=earliest)
        for x in {e.exhibitor_id for e in registrations}
    }
    categories = Counter(e.category for e in first_entry.values())
    kinds = Counter(e.kind for e in counted.values())
    return Figures(
        checkins=len({e.event_id for e in entries}),
        attendees=len(first_entry),
        by_category={c: categories[c] for c in Category},
        deals=len(counted),
        by_kind={k: kinds[k] for k in DealKind},
        deal_value_cny=sum((e.amount_cny for e in counted.values()), Decimal(0)),
        exhibitors=len(first_registration),
        projects_on_display=sum(e.projects_on_display for e in first_registration.values()),
        countries=frozenset(
            {e.country for e in entries}
            | {e.counterparty_country for e in counted.values() if e.counterparty_country}
            | {e.country for e in first_registration.values()}
        ),
        inside_now=sum(a.inside for a in everyone.values()),
        as_of=max((e.recorded_at for e in events), default=None),
    )


def reference_attendees(events: list[Event]) -> dict[str, Attendee]:
    """Every badge scanned: its earliest entry (none when only seen leaving), and inside
    when its latest scan of either direction is an entry."""
    scans = [e for e in events if isinstance(e, AttendeeCheckedIn)]
    badges: dict[str, Attendee] = {}
    for a in {e.attendee_id for e in scans}:
        own = sorted((e for e in scans if e.attendee_id == a), key=earliest)
        own_entries = [e for e in own if e.direction is Direction.ENTRY]
        first = own_entries[0] if own_entries else None
        badges[a] = Attendee(
            first=earliest(first) if first else None,
            category=first.category if first else None,
            latest=earliest(own[-1]),
            inside=own[-1].direction is Direction.ENTRY,
            country=first.country if first else None,
            desk=(first.desk_id or "") if first else None,
        )
    return badges


def reference_breakdowns(events: list[Event]) -> dict[tuple[str, str], dict[str, int]]:
    """Every breakdown row that counts something: counted deals (count, value in fen) by
    sector, counterparty country, kind and exhibitor; attendees by the country and desk of
    their earliest entry, and entries by their own ("" where the event names none)."""
    entries = [
        e for e in events if isinstance(e, AttendeeCheckedIn) and e.direction is Direction.ENTRY
    ]
    signings = [e for e in events if isinstance(e, DealSigned)]
    voided_ids = {e.deal_id for e in events if isinstance(e, DealVoided)}
    rows: dict[tuple[str, str], dict[str, int]] = {}

    def count(by: str, key: str | None, counter: str, n: int) -> None:
        row = rows.setdefault((by, key or ""), dict.fromkeys(KEYED_COUNTERS, 0))
        row[counter] += n

    for deal_id in {e.deal_id for e in signings} - voided_ids:
        deal = min((e for e in signings if e.deal_id == deal_id), key=earliest)
        keys = {
            "sector": deal.sector,
            "counterparty_country": deal.counterparty_country,
            "kind": deal.kind.value,
            "exhibitor": deal.exhibitor_id,
        }
        for by, key in keys.items():
            count(by, key, "deals", 1)
            count(by, key, "deal_value_fen", int(deal.amount_cny * 100))
    for entry in entries:
        count("country", entry.country, "checkins", 1)
        count("desk", entry.desk_id, "checkins", 1)
    for attendee_id in {e.attendee_id for e in entries}:
        first = min((e for e in entries if e.attendee_id == attendee_id), key=earliest)
        count("country", first.country, "attendees", 1)
        count("desk", first.desk_id, "attendees", 1)
    return rows


def breakdowns(state: State) -> dict[tuple[str, str], dict[str, int]]:
    """The breakdown rows the fold keeps that count something."""
    return {row: counts for row, counts in state.rows.items() if any(counts.values())}


def observed(state: State) -> Figures:
    totals = state.totals
    countries = countries_of(state)
    assert totals["countries"] == len(countries)
    figures = Tally.of_session(totals, countries, is_open=True).figures()
    assert figures.countries == len(countries)
    return Figures(
        checkins=totals["checkins"],
        attendees=figures.attendees,
        by_category=dict(figures.attendees_by_category),
        deals=figures.deals,
        by_kind=dict(figures.deals_by_kind),
        deal_value_cny=figures.deal_value_cny,
        exhibitors=totals["exhibitors"],
        projects_on_display=totals["projects_on_display"],
        countries=countries,
        inside_now=figures.inside_now,
        as_of=totals.as_of,
    )


def records(state: State) -> tuple[object, ...]:
    """What the aggregator persists besides the totals: every record, and the country refs."""
    refs = {code: n for code, n in state.country_refs.items() if n > 0}
    return (state.totals, state.attendees, state.deals, state.exhibitors, refs, breakdowns(state))


def content(e: DealSigned) -> tuple[object, ...]:
    rate = Decimal(1) if e.fx_rate_to_cny is None else e.fx_rate_to_cny
    return (
        e.title,
        e.kind,
        e.amount,
        e.currency,
        rate,
        e.amount_cny,
        e.sector,
        e.counterparty,
        e.counterparty_country,
        *((e.exhibitor_id,) if e.exhibitor_id else ()),
    )


# --- properties ----------------------------------------------------------------------------


@PROPERTY
@given(deliveries())
def test_any_arrival_order_with_redeliveries_gives_the_reference_figures(
    delivery: tuple[list[Event], list[Event]],
) -> None:
    events, delivered = delivery
    state, _ = fold(delivered)
    assert observed(state) == reference(events)
    assert state.attendees == reference_attendees(events)
    assert breakdowns(state) == reference_breakdowns(events)


@PROPERTY
@given(deliveries(), st.data())
def test_revisions_count_each_event_once_by_when_it_was_first_stored(
    delivery: tuple[list[Event], list[Event]], data: st.DataObject
) -> None:
    events, delivered = delivery
    late_after = timedelta(minutes=2)
    closed_at = data.draw(st.none() | st.integers(min_value=0, max_value=8).map(at))
    stored_at = {e.event_id: at(data.draw(st.integers(min_value=0, max_value=8))) for e in events}
    state, seen = State(), set()
    for event in delivered:  # a redelivery is no new event: the event store skips it
        if event.event_id not in seen:
            seen.add(event.event_id)
            state.absorb(
                apply(state, event, Folding(stored_at[event.event_id], late_after, closed_at))
            )

    late = [
        stored_at[e.event_id] for e in events if stored_at[e.event_id] - e.occurred_at > late_after
    ]
    after_close = [e for e in events if closed_at is not None and stored_at[e.event_id] > closed_at]
    assert state.totals.revisions == Revisions(len(late), max(late, default=None), len(after_close))


def touched(state: State, batch: list[Event]) -> State:
    """What the aggregator loads to fold `batch`: the totals, the records the batch names,
    and the country refs of the countries it names or that those records hold."""
    keys = keys_of(batch)
    part = State(totals=deepcopy(state.totals))
    part.attendees = {k: v for k, v in state.attendees.items() if k in keys.attendees}
    part.deals = {k: v for k, v in state.deals.items() if k in keys.deals}
    part.exhibitors = {k: v for k, v in state.exhibitors.items() if k in keys.exhibitors}
    named = set(keys.countries) | {x.country for x in part.exhibitors.values()}
    named |= {
        d.signing.counterparty_country
        for d in part.deals.values()
        if d.signing and d.signing.counterparty_country
    }
    part.country_refs = {k: v for k, v in state.country_refs.items() if k in named}
    return part


@PROPERTY
@given(deliveries(), st.data())
def test_folding_in_two_batches_equals_folding_at_once(
    delivery: tuple[list[Event], list[Event]], data: st.DataObject
) -> None:
    events, delivered = delivery
    cut = data.draw(st.integers(min_value=0, max_value=len(delivered)))
    first = delivered[:cut]
    folded_ids = {e.event_id for e in first}
    second = [e for e in delivered[cut:] if e.event_id not in folded_ids]
    rebuilt, _ = fold(events)

    live, _ = fold(first)
    loaded = touched(live, second)
    fold(second, state=live)
    fold(second, state=loaded)

    assert records(live) == records(rebuilt)
    assert observed(live) == reference(events)
    # Folded into only what it touches (the aggregator's way), the batch moves the same totals
    # and leaves the records it touched as a rebuild would have them.
    assert loaded.totals == rebuilt.totals
    assert loaded.attendees == {a: rebuilt.attendees[a] for a in loaded.attendees}
    assert loaded.attendees.keys() >= {
        e.attendee_id for e in second if isinstance(e, AttendeeCheckedIn)
    }


@settings(PROPERTY, max_examples=200)
@given(deliveries())
def test_conflicts_are_reported_for_the_deals_signed_with_differing_content(
    delivery: tuple[list[Event], list[Event]],
) -> None:
    events, delivered = delivery
    _, conflicts = fold(delivered)

    signings = {e.event_id: e for e in events if isinstance(e, DealSigned)}
    contents: dict[str, set[tuple[object, ...]]] = {}
    for e in signings.values():
        contents.setdefault(e.deal_id, set()).add(content(e))
    assert {c.deal_id for c in conflicts} == {d for d, seen in contents.items() if len(seen) > 1}
    for conflict in conflicts:
        counted = signings[conflict.counted_event_id]
        ignored = signings[conflict.ignored_event_id]
        assert counted.deal_id == ignored.deal_id == conflict.deal_id
        assert earliest(counted) < earliest(ignored)
        assert content(counted) != content(ignored)


# --- events stored before exits existed (schema version 1) ----------------------------------


def read_back(event: Event, version_1: bool) -> Event:
    """The event as the aggregator reads it from the stream or the event store: stored as a
    version-1 check-in when `version_1` and it is an entry, as the current version otherwise."""
    if version_1 and isinstance(event, AttendeeCheckedIn) and event.direction is Direction.ENTRY:
        return decode_event(as_version_1(event))
    return decode_event(encode_event(event))


# Decoding is per event: fewer examples suffice.
@settings(PROPERTY, max_examples=120)
@given(deliveries(), st.data())
def test_checkins_stored_as_version_1_fold_exactly_like_version_2_entries(
    delivery: tuple[list[Event], list[Event]], data: st.DataObject
) -> None:
    events, delivered = delivery
    old = data.draw(st.lists(st.booleans(), min_size=len(delivered), max_size=len(delivered)))
    as_stored = [read_back(e, version_1) for e, version_1 in zip(delivered, old, strict=True)]

    # Each version-1 check-in reads back as the very entry it was, so the fold cannot tell.
    assert as_stored == delivered
    state, _ = fold(as_stored)
    assert records(state) == records(fold(delivered)[0])
    assert observed(state) == reference(events)
    assert state.attendees == reference_attendees(events)

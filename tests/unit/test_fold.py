"""The fold, case by case: what each figure of a session means (docs/design.md §4).

Most cases fold their events in EVERY order of arrival (`folded`) and check that the figures
do not depend on it; the cases about "arrives late" also replay one explicit order with
`apply`, to show the figures moving as a display would see them.
"""

from copy import deepcopy
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from itertools import permutations

import pytest

from shared.events import Category, DealKind, Event, decode_event
from shared.figures import Figures, Tally
from shared.fold import Keys, apply, fold, keys_of
from shared.fold_state import Attendee, Conflict, State

from .factories import (
    SESSION_ID,
    as_version_1,
    at,
    checkin,
    countries_of,
    event_id,
    exit_scan,
    registered,
    signed,
    voided,
)


def folded(*events: Event) -> State:
    """The state after folding `events`, checked to be the same in every order of arrival."""
    states = [fold(order)[0] for order in permutations(events)]
    first = states[0]
    for state in states[1:]:
        assert state.totals == first.totals
        assert countries_of(state) == countries_of(first)
        assert (state.attendees, state.deals, state.exhibitors) == (
            first.attendees,
            first.deals,
            first.exhibitors,
        )
    return first


def arrived(*events: Event) -> State:
    """The state after folding `events` in exactly this order of arrival."""
    state = State()
    for event in events:
        state.absorb(apply(state, event))
    return state


def figures(state: State) -> Figures:
    """The session's figures as the display board shows them."""
    return Tally.of_session(state.totals, countries_of(state), is_open=True).figures()


# --- check-ins -----------------------------------------------------------------------------


def test_empty_session_has_zero_figures_and_no_as_of() -> None:
    state, conflicts = fold([])
    assert state.totals["checkins"] == 0
    assert set(figures(state).attendees_by_category.values()) == {0}
    assert set(figures(state).deals_by_kind.values()) == {0}
    assert figures(state).deal_value_cny == Decimal("0.00")
    assert state.totals["exhibitors"] == 0
    assert state.totals["projects_on_display"] == 0
    assert state.totals["countries"] == 0
    assert state.totals.as_of is None
    assert conflicts == []


def test_repeat_scan_counts_a_checkin_not_an_attendee() -> None:
    state = folded(
        checkin(1, "att-1", minute=0, category=Category.PROFESSIONAL),
        checkin(2, "att-1", minute=90, category=Category.PROFESSIONAL),
        checkin(3, "att-1", minute=300, category=Category.PROFESSIONAL),
    )
    assert state.totals["checkins"] == 3
    assert state.totals[Category.PROFESSIONAL] == 1
    assert figures(state).attendees == 1


def test_attendee_counts_under_the_category_of_their_earliest_checkin() -> None:
    state = folded(
        checkin(1, "att-1", minute=5, category=Category.MEDIA),
        checkin(2, "att-1", minute=0, category=Category.VIP),
        checkin(3, "att-2", minute=1, category=Category.MEDIA),
    )
    assert state.totals[Category.VIP] == 1
    assert state.totals[Category.MEDIA] == 1
    assert figures(state).attendees == 2


def test_late_earlier_checkin_moves_attendee_to_its_category() -> None:
    state = arrived(checkin(1, "att-1", minute=60, category=Category.GENERAL))
    assert state.totals[Category.GENERAL] == 1

    # A desk that was offline uploads the scan made at the gate an hour earlier.
    state.absorb(
        apply(state, checkin(2, "att-1", minute=0, category=Category.DELEGATE, recorded_minute=120))
    )

    assert state.totals[Category.GENERAL] == 0
    assert state.totals[Category.DELEGATE] == 1
    assert state.totals["checkins"] == 2


def test_checkins_at_the_same_moment_are_ordered_by_event_id() -> None:
    state = folded(
        checkin(7, "att-1", minute=0, category=Category.MEDIA),
        checkin(3, "att-1", minute=0, category=Category.EXHIBITOR),
    )
    assert state.totals[Category.EXHIBITOR] == 1
    assert state.totals[Category.MEDIA] == 0


def test_earliest_checkin_is_decided_by_the_instant_whatever_the_utc_offset() -> None:
    nine_in_shanghai = checkin(5, "att-1", minute=0, category=Category.MEDIA)
    same_instant_in_utc = nine_in_shanghai.model_copy(
        update={
            "event_id": event_id(9),
            "occurred_at": datetime(2025, 9, 26, 1, 0, tzinfo=UTC),
            "category": Category.VIP,
        }
    )
    a_minute_before_in_utc = nine_in_shanghai.model_copy(
        update={
            "event_id": event_id(7),
            "occurred_at": datetime(2025, 9, 26, 0, 59, tzinfo=UTC),
            "category": Category.DELEGATE,
        }
    )
    tie = folded(nine_in_shanghai, same_instant_in_utc)
    assert tie.totals[Category.MEDIA] == 1
    earlier = folded(nine_in_shanghai, same_instant_in_utc, a_minute_before_in_utc)
    assert earlier.totals[Category.DELEGATE] == 1
    assert figures(earlier).attendees == 1


# --- entries, exits and inside-now --------------------------------------------------------


def test_exit_after_entry_leaves_nobody_inside() -> None:
    state = folded(
        checkin(1, "att-1", minute=0),
        exit_scan(2, "att-1", minute=30),
    )
    assert state.totals["inside_now"] == 0
    assert (figures(state).checkins, figures(state).attendees) == (1, 1)


def test_reentry_after_exit_is_inside_again_and_a_new_visit() -> None:
    state = folded(
        checkin(1, "att-1", minute=0),
        exit_scan(2, "att-1", minute=30),
        checkin(3, "att-1", minute=60),
    )
    assert state.totals["inside_now"] == 1
    assert (figures(state).checkins, figures(state).attendees) == (2, 1)


def test_inside_now_counts_each_attendee_whose_latest_scan_is_an_entry() -> None:
    state = folded(
        checkin(1, "att-1", minute=0),
        checkin(2, "att-1", minute=10),
        checkin(3, "att-2", minute=0),
        exit_scan(4, "att-2", minute=20),
        checkin(5, "att-3", minute=5),
    )
    assert state.totals["inside_now"] == 2
    assert figures(state).inside_now == 2


def test_late_exit_older_than_the_latest_entry_changes_nothing() -> None:
    state = arrived(checkin(1, "att-1", minute=0), checkin(2, "att-1", minute=60))
    before = deepcopy(state)
    assert state.totals["inside_now"] == 1

    # An offline desk uploads, at minute 90, the exit it scanned at minute 30.
    state.absorb(apply(state, exit_scan(3, "att-1", minute=30, country="DE", recorded_minute=90)))

    assert replace(state.totals, as_of=before.totals.as_of) == before.totals
    assert (state.attendees, state.country_refs) == (before.attendees, before.country_refs)
    assert state.totals.as_of == at(90)


def test_late_exit_newer_than_the_latest_entry_takes_the_attendee_out() -> None:
    state = arrived(checkin(1, "att-1", minute=0))
    assert state.totals["inside_now"] == 1

    state.absorb(apply(state, exit_scan(2, "att-1", minute=30, recorded_minute=90)))

    assert state.totals["inside_now"] == 0
    assert state.totals["checkins"] == 1


def test_late_entry_older_than_the_latest_exit_is_a_visit_but_not_inside() -> None:
    state = arrived(checkin(1, "att-1", minute=20), exit_scan(2, "att-1", minute=30))
    assert state.totals["inside_now"] == 0

    state.absorb(
        apply(state, checkin(3, "att-1", minute=0, category=Category.VIP, recorded_minute=90))
    )

    assert state.totals["inside_now"] == 0
    assert state.totals["checkins"] == 2
    assert state.totals[Category.VIP] == 1
    assert figures(state).attendees == 1


def test_attendee_seen_only_leaving_is_neither_an_attendee_nor_inside() -> None:
    state = folded(
        exit_scan(1, "att-1", minute=0, category=Category.VIP, country="DE"),
        exit_scan(2, "att-1", minute=30, category=Category.VIP, country="DE"),
    )
    shown = figures(state)
    assert (shown.checkins, shown.attendees, shown.inside_now, shown.countries) == (0, 0, 0, 0)
    assert set(figures(state).attendees_by_category.values()) == {0}
    assert state.attendees["att-1"] == Attendee(None, None, (at(30), event_id(2)), False)


def test_attendee_seen_leaving_before_entering_counts_from_the_entry() -> None:
    state = folded(
        exit_scan(1, "att-1", minute=0, category=Category.MEDIA, country="DE"),
        checkin(2, "att-1", minute=30, category=Category.VIP, country="CN"),
    )
    assert (figures(state).attendees, state.totals["inside_now"]) == (1, 1)
    assert state.totals[Category.VIP] == 1
    assert countries_of(state) == {"CN"}


@pytest.mark.parametrize(
    "exit_minute",
    [
        pytest.param(-30, id="exit before the first entry"),
        pytest.param(15, id="exit between entries"),
        pytest.param(90, id="exit after the last entry"),
    ],
)
def test_an_exit_never_changes_checkins_attendees_categories_or_countries(
    exit_minute: int,
) -> None:
    entries = (
        checkin(1, "att-1", minute=0, category=Category.PROFESSIONAL, country="CN"),
        checkin(2, "att-1", minute=30, category=Category.PROFESSIONAL, country="CN"),
        checkin(3, "att-2", minute=10, category=Category.MEDIA, country="HK"),
    )
    an_exit = exit_scan(4, "att-1", minute=exit_minute, category=Category.VIP, country="DE")
    without = folded(*entries)
    with_exit = folded(*entries, an_exit)
    for state in (without, with_exit):
        assert figures(state).checkins == 3
        assert figures(state).attendees == 2
        assert state.totals[Category.PROFESSIONAL] == 1
        assert state.totals[Category.MEDIA] == 1
        assert countries_of(state) == {"CN", "HK"}
        assert state.totals["countries"] == 2


@pytest.mark.parametrize(
    ("entry_id", "exit_id", "inside"),
    [
        pytest.param(3, 7, 0, id="exit with the higher event id is the latest scan"),
        pytest.param(7, 3, 1, id="entry with the higher event id is the latest scan"),
    ],
)
def test_scans_at_the_same_moment_are_ordered_by_event_id(
    entry_id: int, exit_id: int, inside: int
) -> None:
    state = folded(
        checkin(entry_id, "att-1", minute=10),
        exit_scan(exit_id, "att-1", minute=10),
    )
    assert state.totals["inside_now"] == inside
    assert figures(state).attendees == 1


def test_checkins_stored_before_exits_existed_are_entries_and_count_inside() -> None:
    stored = [
        checkin(1, "att-1", minute=0, category=Category.MEDIA, country="DE"),
        checkin(2, "att-1", minute=60, category=Category.VIP, country="CN"),
        checkin(3, "att-2", minute=5, category=Category.PROFESSIONAL, country="HK"),
    ]
    read_back = [decode_event(as_version_1(e)) for e in stored]

    state = folded(*read_back)

    assert read_back == stored
    shown = figures(state)
    assert (shown.checkins, shown.attendees, shown.inside_now, shown.countries) == (3, 2, 2, 3)
    assert state.totals[Category.MEDIA] == 1

    # A version-2 exit after the upgrade takes a version-1 entrant out.
    state.absorb(apply(state, exit_scan(4, "att-2", minute=90)))
    assert state.totals["inside_now"] == 1


# --- deals ---------------------------------------------------------------------------------


def test_signed_deals_count_by_kind_and_value() -> None:
    state = folded(
        signed(1, "deal-1", kind=DealKind.CONTRACT, amount="13550000000.00"),
        signed(2, "deal-2", kind=DealKind.AGREEMENT, amount="26800000000.00"),
        signed(3, "deal-3", kind=DealKind.INTENT, amount="0.01"),
        signed(4, "deal-4", kind=DealKind.CONTRACT, amount="1.99"),
    )
    assert figures(state).deals_by_kind == {
        DealKind.CONTRACT: 2,
        DealKind.AGREEMENT: 1,
        DealKind.INTENT: 1,
    }
    assert figures(state).deal_value_cny == Decimal("40350000002.00")


def test_deal_value_is_an_exact_decimal_sum() -> None:
    state = folded(
        signed(1, "deal-1", amount="0.10"),
        signed(2, "deal-2", amount="0.20"),
        signed(3, "deal-3", amount="9999999999999.99"),
    )
    assert isinstance(figures(state).deal_value_cny, Decimal)
    assert figures(state).deal_value_cny == Decimal("10000000000000.29")
    assert str(figures(state).deal_value_cny) == "10000000000000.29"


def test_voided_deals_leave_the_value_exact() -> None:
    state = folded(
        signed(1, "deal-1", amount="0.10"),
        signed(2, "deal-2", amount="0.20"),
        voided(3, "deal-2", minute=5),
    )
    assert figures(state).deal_value_cny == Decimal("0.10")
    assert str(figures(state).deal_value_cny) == "0.10"


def test_foreign_currency_deal_counts_its_cny_value() -> None:
    state = folded(signed(1, "deal-1", amount="1000000.00", currency="EUR", fx_rate_to_cny="7.8"))
    assert figures(state).deal_value_cny == Decimal("7800000.00")


def test_major_deals_are_those_of_a_hundred_million_yuan_or_more_that_count() -> None:
    """亿元以上项目: the CNY value decides; a void or an earlier signing moves a deal out."""
    state = folded(
        signed(1, "deal-1", amount="100000000.00"),
        signed(2, "deal-2", amount="99999999.99"),
        signed(3, "deal-3", amount="20000000.00", currency="USD", fx_rate_to_cny="7.1"),
        signed(4, "deal-4", amount="500000000.00"),
        voided(5, "deal-4", minute=10),
        signed(6, "deal-5", minute=30, amount="13550000000.00"),
        signed(7, "deal-5", minute=5, amount="1000.00"),  # the signing that counts
    )
    assert figures(state).major_deals == 2  # deal-1, and deal-3 at ¥142,000,000.00
    assert figures(state).deals == 4


@pytest.mark.parametrize(
    ("events", "deals", "value"),
    [
        pytest.param(
            [signed(1, "deal-1", amount="500.00"), voided(2, "deal-1", minute=10)],
            0,
            "0",
            id="void after sign removes the deal",
        ),
        pytest.param(
            [voided(1, "deal-1", minute=0), signed(2, "deal-1", minute=10, amount="500.00")],
            0,
            "0",
            id="void before sign never counts",
        ),
        pytest.param(
            [
                signed(1, "deal-1", amount="500.00"),
                voided(2, "deal-1", minute=10),
                voided(3, "deal-1", minute=20),
            ],
            0,
            "0",
            id="second void is a no-op",
        ),
        pytest.param(
            [signed(1, "deal-1", amount="500.00"), voided(2, "deal-9", minute=10)],
            1,
            "500.00",
            id="void of another deal changes nothing",
        ),
        pytest.param(
            [
                signed(1, "deal-1", minute=10, amount="500.00"),
                voided(2, "deal-1", minute=20),
                signed(3, "deal-1", minute=0, amount="700.00"),
            ],
            0,
            "0",
            id="voided deal stays voided when an earlier signing arrives",
        ),
        pytest.param(
            [
                signed(1, "deal-1", amount="500.00"),
                signed(2, "deal-2", amount="250.50"),
                voided(3, "deal-1", minute=5),
            ],
            1,
            "250.50",
            id="void removes only its own deal",
        ),
    ],
)
def test_deal_lifecycle(events: list[Event], deals: int, value: str) -> None:
    state = folded(*events)
    assert figures(state).deals == deals
    assert figures(state).deal_value_cny == Decimal(value)


def test_void_before_sign_never_counts() -> None:
    state = arrived(voided(1, "deal-1", minute=0))
    assert figures(state).deals == 0

    state.absorb(apply(state, signed(2, "deal-1", minute=10, counterparty_country="DE")))

    assert figures(state).deals == 0
    assert figures(state).deal_value_cny == 0
    assert state.totals["countries"] == 0


def test_first_signing_by_occurred_at_counts_even_when_it_arrives_last() -> None:
    later = signed(1, "deal-1", minute=30, kind=DealKind.INTENT, amount="100.00")
    first = signed(2, "deal-1", minute=0, kind=DealKind.CONTRACT, amount="900.00")
    state = arrived(later)
    assert state.totals[DealKind.INTENT] == 1

    change = apply(state, first)
    state.absorb(change)

    assert figures(state).deals_by_kind == {
        DealKind.CONTRACT: 1,
        DealKind.AGREEMENT: 0,
        DealKind.INTENT: 0,
    }
    assert figures(state).deal_value_cny == Decimal("900.00")
    assert change.conflicts == [Conflict(SESSION_ID, "deal-1", event_id(2), event_id(1))]


def test_signings_at_the_same_moment_are_ordered_by_event_id() -> None:
    state = folded(
        signed(8, "deal-1", minute=0, amount="800.00"),
        signed(4, "deal-1", minute=0, amount="400.00"),
    )
    assert figures(state).deal_value_cny == Decimal("400.00")


def test_conflicting_resigning_is_reported_not_counted() -> None:
    first = signed(1, "deal-1", minute=0, amount="500.00", counterparty_country="DE")
    resigning = signed(2, "deal-1", minute=10, amount="5000.00", counterparty_country="FR")

    state, conflicts = fold([first, resigning])

    assert figures(state).deals == 1
    assert figures(state).deal_value_cny == Decimal("500.00")
    assert countries_of(state) == {"DE"}
    assert conflicts == [Conflict(SESSION_ID, "deal-1", event_id(1), event_id(2))]


def test_identical_resigning_is_neither_counted_nor_reported() -> None:
    first = signed(1, "deal-1", minute=0, amount="500.00")
    retry_without_event_id = signed(2, "deal-1", minute=1, amount="500.00")
    for events in ([first, retry_without_event_id], [retry_without_event_id, first]):
        state, conflicts = fold(events)
        assert figures(state).deals == 1
        assert figures(state).deal_value_cny == Decimal("500.00")
        assert conflicts == []


def test_resigning_with_the_same_amount_written_differently_is_not_a_conflict() -> None:
    first = signed(1, "deal-1", minute=0, amount="500")
    same = signed(2, "deal-1", minute=1, amount="500.00")
    assert fold([first, same])[1] == []
    assert fold([same, first])[1] == []


def test_resigning_in_cny_with_a_rate_of_one_is_not_a_conflict() -> None:
    first = signed(1, "deal-1", minute=0, amount="500.00")
    same = signed(2, "deal-1", minute=1, amount="500.00", fx_rate_to_cny="1.0")
    assert fold([first, same])[1] == []
    assert fold([same, first])[1] == []


def test_resigning_in_another_currency_is_a_conflict() -> None:
    first = signed(1, "deal-1", minute=0, amount="500.00")
    other = signed(2, "deal-1", minute=1, amount="500.00", currency="HKD", fx_rate_to_cny="1.0")
    assert fold([first, other])[1] == [Conflict(SESSION_ID, "deal-1", event_id(1), event_id(2))]


def test_resigning_of_a_voided_deal_with_other_content_is_still_reported() -> None:
    state, conflicts = fold(
        [
            signed(1, "deal-1", minute=0, amount="500.00"),
            voided(2, "deal-1", minute=5),
            signed(3, "deal-1", minute=10, amount="600.00"),
        ]
    )
    assert figures(state).deals == 0
    assert conflicts == [Conflict(SESSION_ID, "deal-1", event_id(1), event_id(3))]


# --- exhibitors ----------------------------------------------------------------------------


def test_exhibitor_counts_once_with_projects_of_its_first_registration() -> None:
    state = folded(
        registered(1, "exh-1", minute=0, projects_on_display=12),
        registered(2, "exh-1", minute=60, projects_on_display=15),
        registered(3, "exh-2", minute=30, projects_on_display=3),
    )
    assert state.totals["exhibitors"] == 2
    assert state.totals["projects_on_display"] == 15


def test_late_first_registration_replaces_projects_and_country() -> None:
    state = arrived(registered(1, "exh-1", minute=60, country="DE", projects_on_display=15))
    assert state.totals["projects_on_display"] == 15
    assert countries_of(state) == {"DE"}

    state.absorb(
        apply(state, registered(2, "exh-1", minute=0, country="FR", projects_on_display=12))
    )

    assert state.totals["exhibitors"] == 1
    assert state.totals["projects_on_display"] == 12
    assert countries_of(state) == {"FR"}
    assert state.totals["countries"] == 1


def test_exhibitor_with_no_projects_still_counts() -> None:
    state = folded(registered(1, "exh-1", projects_on_display=0))
    assert state.totals["exhibitors"] == 1
    assert state.totals["projects_on_display"] == 0


# --- countries -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "countries"),
    [
        pytest.param(
            [
                checkin(1, "att-1", country="CN"),
                checkin(2, "att-2", country="CN"),
                signed(3, "deal-1", counterparty_country="DE"),
                registered(4, "exh-1", country="ID"),
            ],
            {"CN", "DE", "ID"},
            id="check-ins, counted deal counterparties and exhibitors, each code once",
        ),
        pytest.param(
            [
                checkin(1, "att-1", minute=0, country="CN"),
                checkin(2, "att-1", minute=30, country="HK"),
            ],
            {"CN", "HK"},
            id="every check-in names its country, not only an attendee's first",
        ),
        pytest.param(
            [
                checkin(1, "att-1", country="HK"),
                checkin(2, "att-2", country="MO"),
                registered(3, "exh-1", country="TW"),
            ],
            {"HK", "MO", "TW"},
            id="regions count as countries",
        ),
        pytest.param(
            [signed(1, "deal-1", counterparty_country="DE"), voided(2, "deal-1", minute=5)],
            set(),
            id="country of a voided deal no longer counts",
        ),
        pytest.param(
            [voided(1, "deal-1"), signed(2, "deal-1", minute=5, counterparty_country="DE")],
            set(),
            id="country of a deal voided in advance never counts",
        ),
        pytest.param(
            [
                signed(1, "deal-1", counterparty_country="DE"),
                voided(2, "deal-1", minute=5),
                checkin(3, "att-1", country="DE"),
            ],
            {"DE"},
            id="country of a voided deal counts when a check-in names it",
        ),
        pytest.param(
            [
                signed(1, "deal-1", counterparty_country="DE"),
                signed(2, "deal-2", counterparty_country="DE"),
                voided(3, "deal-1", minute=5),
            ],
            {"DE"},
            id="country of a voided deal counts when another counted deal names it",
        ),
        pytest.param(
            [
                signed(1, "deal-1", minute=0, counterparty_country="DE"),
                signed(2, "deal-1", minute=5, counterparty_country="FR"),
            ],
            {"DE"},
            id="country of an ignored later signing does not count",
        ),
        pytest.param(
            [
                registered(1, "exh-1", minute=0, country="DE"),
                registered(2, "exh-1", minute=5, country="FR"),
            ],
            {"DE"},
            id="country of an exhibitor's later registration does not count",
        ),
        pytest.param(
            [signed(1, "deal-1", counterparty_country=None)],
            set(),
            id="deal without counterparty country adds none",
        ),
    ],
)
def test_countries(events: list[Event], countries: set[str]) -> None:
    state = folded(*events)
    assert countries_of(state) == countries
    assert state.totals["countries"] == len(countries)


def test_country_of_a_voided_deal_disappears_from_the_running_figures() -> None:
    state = arrived(
        checkin(1, "att-1", country="CN"),
        signed(2, "deal-1", counterparty_country="DE"),
    )
    assert state.totals["countries"] == 2

    state.absorb(apply(state, voided(3, "deal-1", minute=5)))

    assert state.totals["countries"] == 1
    assert countries_of(state) == {"CN"}


# --- as_of, redeliveries, batches ----------------------------------------------------------


def test_as_of_is_the_latest_recorded_at_not_the_latest_occurred_at() -> None:
    state = folded(
        checkin(1, "att-1", minute=50, recorded_minute=51),
        checkin(2, "att-2", minute=0, recorded_minute=120),
        voided(3, "deal-1", minute=30, recorded_minute=31),
    )
    assert state.totals.as_of == at(120)


def test_redelivered_events_are_folded_once() -> None:
    scan = checkin(1, "att-1", country="DE")
    deal = signed(2, "deal-1", amount="500.00", counterparty_country="FR")
    state, conflicts = fold([scan, deal, scan, deal, deal])
    assert state.totals["checkins"] == 1
    assert figures(state).deal_value_cny == Decimal("500.00")
    assert countries_of(state) == {"DE", "FR"}
    assert conflicts == []


def test_folding_in_batches_equals_folding_at_once() -> None:
    events: list[Event] = [
        checkin(1, "att-1", minute=30, category=Category.GENERAL, country="CN"),
        signed(2, "deal-1", minute=10, amount="300.00", counterparty_country="DE"),
        registered(3, "exh-1", minute=20, projects_on_display=4),
        checkin(4, "att-1", minute=0, category=Category.VIP, country="HK"),
        voided(5, "deal-1", minute=40),
        registered(6, "exh-1", minute=0, projects_on_display=9),
    ]
    at_once, _ = fold(events)
    live, _ = fold(events[:2])
    live, _ = fold(events[2:4], state=live)
    live, _ = fold(events[4:], state=live)
    assert live.totals == at_once.totals
    assert countries_of(live) == countries_of(at_once)


def test_keys_name_the_records_a_batch_touches() -> None:
    keys = keys_of(
        [
            checkin(1, "att-1", country="CN"),
            signed(2, "deal-1", counterparty_country="DE"),
            signed(3, "deal-2"),
            voided(4, "deal-3"),
            registered(5, "exh-1", country="TW"),
            exit_scan(6, "att-2", country="CN"),
        ]
    )
    assert keys == Keys(
        attendees=frozenset({"att-1", "att-2"}),
        deals=frozenset({"deal-1", "deal-2", "deal-3"}),
        exhibitors=frozenset({"exh-1"}),
        countries=frozenset({"CN", "DE", "TW"}),
    )

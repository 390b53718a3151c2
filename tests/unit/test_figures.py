"""How editions add up (docs/design.md §4, "Across sessions") and how figures read
(docs/design.md §5, `F`)."""

import json
from decimal import Decimal
from itertools import permutations

import pytest

from shared.events import Category, DealKind
from shared.figures import Figures, Tally, total
from shared.fold import fold

from .factories import checkin, countries_of, registered, signed, voided

BILLION = Decimal(10) ** 9

# "During the four previous sessions, 2,107 projects have been signed, involving RMB 345
# billion; 56 countries (regions) have participated in [...] 3,088 exhibitors with 6,899
# projects on display, which have attracted 1.96 million attendees, including 270 thousand
# professional ones." No country list, no breakdown of deals or of the other attendees.
FOUR_PREVIOUS_SESSIONS = Tally.of_figures(
    {
        "attendees": 1_960_000,
        "professional_attendees": 270_000,
        "deals": 2_107,
        "deal_value_cny": 345 * BILLION,
        "exhibitors": 3_088,
        "projects_on_display": 6_899,
        "countries": 56,
    }
)


def part(**figures: object) -> Tally:
    """A session known by some of its figures (with its list of countries, none)."""
    return Tally.of_figures(figures, countries=())


def session(*countries: str) -> Tally:
    """A session as far as countries go: it always knows its list."""
    return Tally(country_list=frozenset(countries))


def test_session_figures_come_from_its_fold() -> None:
    state, _ = fold(
        [
            checkin(1, "att-1", minute=0, category=Category.PROFESSIONAL, country="CN"),
            checkin(2, "att-1", minute=30, category=Category.PROFESSIONAL, country="CN"),
            checkin(3, "att-2", minute=5, category=Category.MEDIA, country="HK"),
            signed(4, "deal-1", kind=DealKind.CONTRACT, amount="13550000000.00"),
            signed(5, "deal-2", kind=DealKind.INTENT, amount="0.01", counterparty_country="ID"),
            signed(6, "deal-3", kind=DealKind.AGREEMENT, counterparty_country="DE"),
            voided(7, "deal-3", minute=10),
            registered(8, "exh-1", country="TW", projects_on_display=12),
            registered(9, "exh-2", country="CN", projects_on_display=0),
        ]
    )

    figures = Tally.of_session(state.totals, countries_of(state), is_open=True).figures()

    assert figures == Figures.model_validate(
        {
            "checkins": 3,
            "attendees": 2,
            "professional_attendees": 1,
            "attendees_by_category": dict.fromkeys(Category, 0)
            | {Category.PROFESSIONAL: 1, Category.MEDIA: 1},
            "deals": 2,
            "deals_by_kind": {DealKind.CONTRACT: 1, DealKind.AGREEMENT: 0, DealKind.INTENT: 1},
            "deal_value_cny": Decimal("13550000000.01"),
            "major_deals": 1,
            "countries": 4,
            "countries_exact": True,
            "exhibitors": 2,
            "projects_on_display": 12,
            "inside_now": 2,
        }
    )


def test_additive_figures_add() -> None:
    twelfth = part(
        checkins=10,
        attendees_by_category={Category.PROFESSIONAL: 4, Category.GENERAL: 3},
        deals_by_kind={DealKind.CONTRACT: 2},
        deal_value_cny=Decimal("100.10"),
        exhibitors=5,
        projects_on_display=20,
    )
    thirteenth = part(
        checkins=7,
        attendees_by_category={Category.PROFESSIONAL: 1, Category.VIP: 2},
        deals_by_kind={DealKind.CONTRACT: 1, DealKind.INTENT: 3},
        deal_value_cny=Decimal("0.20"),
        exhibitors=1,
        projects_on_display=0,
    )

    figures = (twelfth + thirteenth).figures()

    assert figures.checkins == 17
    assert figures.attendees == 10
    assert figures.professional_attendees == 5
    assert figures.attendees_by_category[Category.GENERAL] == 3
    assert figures.attendees_by_category[Category.VIP] == 2
    assert figures.deals == 6
    assert figures.deals_by_kind == {
        DealKind.CONTRACT: 3,
        DealKind.AGREEMENT: 0,
        DealKind.INTENT: 3,
    }
    assert figures.deal_value_cny == Decimal("100.30")
    assert figures.exhibitors == 6
    assert figures.projects_on_display == 20


def test_countries_are_the_union_when_every_part_lists_them() -> None:
    figures = (session("CN", "DE") + session("DE", "FR") + session("CN")).figures()
    assert figures.countries == 3
    assert figures.countries_exact is True


def test_baseline_with_only_a_count_of_countries_gives_a_lower_bound() -> None:
    baseline = Tally.of_figures({"countries": 56})
    figures = (baseline + session("CN", "DE")).figures()
    assert figures.countries == 56
    assert figures.countries_exact is False


def test_lower_bound_is_the_known_list_when_it_is_longer_than_the_count() -> None:
    baseline = Tally.of_figures({"countries": 2})
    figures = (baseline + session("CN", "DE", "FR")).figures()
    assert figures.countries == 3
    assert figures.countries_exact is False


def test_two_counts_of_countries_give_the_larger_as_the_lower_bound() -> None:
    first = Tally.of_figures({"countries": 56})
    second = Tally.of_figures({"countries": 40})
    figures = (first + second).figures()
    assert figures.countries == 56
    assert figures.countries_exact is False


def test_baseline_that_lists_its_countries_keeps_the_union_exact() -> None:
    baseline = Tally.of_figures({"countries": 4}, countries={"CN", "DE", "ID", "HK"})
    figures = (baseline + session("CN", "TW")).figures()
    assert figures.countries == 5
    assert figures.countries_exact is True


def test_unclassified_attendees_count_in_the_total_under_no_category() -> None:
    figures = FOUR_PREVIOUS_SESSIONS.figures()
    assert figures.attendees == 1_960_000
    assert figures.professional_attendees == 270_000
    assert sum(figures.attendees_by_category.values()) == 270_000


def test_unclassified_deals_count_in_the_total_under_no_kind() -> None:
    figures = (FOUR_PREVIOUS_SESSIONS + part(deals_by_kind={DealKind.CONTRACT: 3})).figures()
    assert figures.deals == 2_110
    assert figures.deals_by_kind == {
        DealKind.CONTRACT: 3,
        DealKind.AGREEMENT: 0,
        DealKind.INTENT: 0,
    }


def test_cumulative_figures_of_the_press_release_add_up() -> None:
    this_session = Tally.of_figures(
        {
            "deals_by_kind": {DealKind.CONTRACT: 100, DealKind.AGREEMENT: 20, DealKind.INTENT: 8},
            "deal_value_cny": Decimal("15.2") * BILLION,
        },
        countries={"CN", "ID", "DE"},
    )

    cumulative = (FOUR_PREVIOUS_SESSIONS + this_session).figures()

    assert cumulative.deals == 2_235
    assert cumulative.deal_value_cny == Decimal("360.2") * BILLION
    assert cumulative.countries == 56
    assert cumulative.countries_exact is False
    assert cumulative.exhibitors == 3_088
    assert cumulative.projects_on_display == 6_899


def test_figures_carry_money_as_a_decimal_string_and_every_category_and_kind() -> None:
    figures = (FOUR_PREVIOUS_SESSIONS + part(deal_value_cny=Decimal("0.1"))).figures()
    raw = json.loads(figures.model_dump_json())
    assert raw["deal_value_cny"] == "345000000000.10"
    assert raw["attendees_by_category"] == {
        "professional": 270_000,
        "general": 0,
        "exhibitor": 0,
        "media": 0,
        "vip": 0,
        "delegate": 0,
    }
    assert raw["deals_by_kind"] == {"contract": 0, "agreement": 0, "intent": 0}
    assert raw["countries_exact"] is False


def test_no_parts_add_up_to_zero_figures_with_exact_countries() -> None:
    figures = total([]).figures()
    assert figures.checkins == figures.attendees == figures.deals == 0
    assert figures.deal_value_cny == Decimal("0.00")
    assert figures.countries == 0
    assert figures.countries_exact is True


PARTS = (
    FOUR_PREVIOUS_SESSIONS,
    Tally.of_figures(
        {"checkins": 5, "attendees_by_category": {Category.VIP: 2}, "exhibitors": 2},
        countries={"CN"},
    ),
    part(deals_by_kind={DealKind.INTENT: 1}, deal_value_cny=Decimal("0.05")),
)


@pytest.mark.parametrize("parts", list(permutations(PARTS)))
def test_order_of_parts_does_not_matter(parts: tuple[Tally, ...]) -> None:
    assert total(parts).figures() == total(PARTS).figures()


def test_grouping_of_parts_does_not_matter() -> None:
    a, b, c = PARTS
    assert ((a + b) + c).figures() == (a + (b + c)).figures()

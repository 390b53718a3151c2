"""Figures as people read them (`F` in docs/design.md §5), and how editions add up.

Additive figures add. Countries are a set: across editions they are the size of the union,
which is only known when every part knows its list; where one part (a baseline from before
the system) gives a count alone, the answer is the best lower bound, flagged not exact.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from shared.events import Category, DealKind
from shared.fold import Totals
from shared.money import CENT

K = TypeVar("K")

DecimalString = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True)

    checkins: int
    attendees: int
    professional_attendees: int
    attendees_by_category: dict[Category, int]
    deals: int
    deals_by_kind: dict[DealKind, int]
    deal_value_cny: DecimalString = Field(json_schema_extra={"type": "string"})
    countries: int
    countries_exact: bool
    exhibitors: int
    projects_on_display: int
    inside_now: int = Field(
        description="Attendees whose latest scan is an entry, while their session is open: 0 "
        "for a closed session; across editions, the open session's figure."
    )


@dataclass(frozen=True)
class Tally:
    """The figures of one part (a baseline, a session, or a sum of them)."""

    checkins: int = 0
    by_category: Mapping[Category, int] = field(default_factory=dict)
    by_kind: Mapping[DealKind, int] = field(default_factory=dict)
    # Baselines may give a total without its breakdown (1.96 m attendees, 270 k of them
    # professional): the rest counts in the total under no category.
    unclassified_attendees: int = 0
    unclassified_deals: int = 0
    deal_value_cny: Decimal = Decimal("0.00")
    exhibitors: int = 0
    projects_on_display: int = 0
    inside_now: int = 0  # only an open session has people inside: past editions add nothing
    # Countries: the known codes, plus a count for parts that only give a count.
    country_list: frozenset[str] = frozenset()
    country_count_only: int = 0
    countries_exact: bool = True

    @classmethod
    def of_session(cls, totals: Totals, countries: Iterable[str], is_open: bool) -> "Tally":
        """A session's tally; nobody is inside the halls of a session that is not open."""
        return cls(
            checkins=totals.checkins,
            by_category=dict(totals.by_category),
            by_kind=dict(totals.by_kind),
            deal_value_cny=totals.deal_value_cny,
            exhibitors=totals.exhibitors,
            projects_on_display=totals.projects_on_display,
            inside_now=totals.inside_now if is_open else 0,
            country_list=frozenset(countries),
        )

    @property
    def countries(self) -> int:
        return max(len(self.country_list), self.country_count_only)

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            checkins=self.checkins + other.checkins,
            by_category=_add(self.by_category, other.by_category),
            by_kind=_add(self.by_kind, other.by_kind),
            unclassified_attendees=self.unclassified_attendees + other.unclassified_attendees,
            unclassified_deals=self.unclassified_deals + other.unclassified_deals,
            deal_value_cny=self.deal_value_cny + other.deal_value_cny,
            exhibitors=self.exhibitors + other.exhibitors,
            projects_on_display=self.projects_on_display + other.projects_on_display,
            inside_now=self.inside_now + other.inside_now,
            country_list=self.country_list | other.country_list,
            country_count_only=max(self.country_count_only, other.country_count_only),
            countries_exact=self.countries_exact and other.countries_exact,
        )

    def figures(self) -> Figures:
        by_category = {c: self.by_category.get(c, 0) for c in Category}
        by_kind = {k: self.by_kind.get(k, 0) for k in DealKind}
        return Figures(
            checkins=self.checkins,
            attendees=sum(by_category.values()) + self.unclassified_attendees,
            professional_attendees=by_category[Category.PROFESSIONAL],
            attendees_by_category=by_category,
            deals=sum(by_kind.values()) + self.unclassified_deals,
            deals_by_kind=by_kind,
            deal_value_cny=self.deal_value_cny.quantize(CENT),
            countries=self.countries,
            countries_exact=self.countries_exact,
            exhibitors=self.exhibitors,
            projects_on_display=self.projects_on_display,
            inside_now=self.inside_now,
        )


def total(parts: Iterable[Tally]) -> Tally:
    result = Tally()
    for part in parts:
        result = result + part
    return result


def _add(a: Mapping[K, int], b: Mapping[K, int]) -> dict[K, int]:
    return {key: a.get(key, 0) + b.get(key, 0) for key in {*a, *b}}

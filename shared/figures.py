"""Figures as people read them (`F` in docs/design.md §5), and how editions add up, both
derived from the figures vocabulary (`shared.vocabulary`).

A part (a baseline, a session, or a sum of them) is a `Tally`: the fold's counters, what a
baseline gives beyond its breakdowns, and its countries. Counters add. Countries are a set:
across editions they are the size of the union, which is only known when every part knows
its list; where one part (a baseline from before the system) gives a count alone, the answer
is the best lower bound, flagged not exact.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, create_model
from pydantic.config import JsonDict

from shared.fold_state import Totals
from shared.money import CENT, fen_of, yuan_of
from shared.vocabulary import (
    BY_NAME,
    FIGURES,
    LIVE_COUNTERS,
    Figure,
    Kind,
    compact,
    fen_counter,
    of_kind,
)

K = TypeVar("K")

DecimalString = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]


def _api_type(figure: Figure) -> Any:
    match figure.kind:
        case Kind.MONEY:
            return DecimalString
        case Kind.BREAKDOWN:
            return dict.__class_getitem__((figure.members, int))
        case Kind.FLAG:
            return bool
    return int


def figures_model(name: str, figures: Iterable[Figure]) -> type[BaseModel]:
    """A response model of these figures, each described by its meaning."""
    fields: dict[str, Any] = {}
    for figure in figures:
        extra: JsonDict | None = {"type": "string"} if figure.kind is Kind.MONEY else None
        fields[figure.name] = (
            _api_type(figure),
            Field(description=figure.meaning, json_schema_extra=extra),
        )
    return create_model(name, __config__=ConfigDict(frozen=True), **fields)


if TYPE_CHECKING:  # their fields are the vocabulary's, made when the module loads

    class Figures(BaseModel):
        def __getattr__(self, name: str) -> Any: ...

    DisplayFigures = Figures
else:
    Figures = figures_model("Figures", FIGURES)
    DisplayFigures = figures_model("DisplayFigures", compact())


@dataclass(frozen=True)
class Tally:
    """The figures of one part (a baseline, a session, or a sum of them)."""

    counts: Mapping[str, int] = field(default_factory=dict)  # the fold's counters
    # A baseline may give a total without its breakdown (1.96 m attendees, 270 k of them
    # professional): the rest counts in the total, under no member (by the total's name).
    unclassified: Mapping[str, int] = field(default_factory=dict)
    # Countries: the known codes, plus a count for parts that only give a count.
    country_list: frozenset[str] = frozenset()
    country_count_only: int = 0
    countries_exact: bool = True

    @classmethod
    def of_session(cls, totals: Totals, countries: Iterable[str], is_open: bool) -> "Tally":
        """A session's tally; nobody is inside the halls of a session that is not open."""
        counts = dict(totals.counts)
        if not is_open:
            counts.update(dict.fromkeys(LIVE_COUNTERS, 0))
        return cls(counts, country_list=frozenset(countries))

    @classmethod
    def of_figures(
        cls, given: Mapping[str, Any], countries: Iterable[str] | None = None
    ) -> "Tally":
        """A part known only by its figures (a baseline): what `given` holds, by figure name,
        with the countries listed, if they are."""
        counts, count_only = _counted(given)
        unclassified = {
            f.name: given[f.name] - sum(counts.get(c, 0) for c in BY_NAME[f.of].counters)
            for f in of_kind(Kind.TOTAL)
            if f.name in given
        }
        listed = frozenset(countries) if countries is not None else None
        return cls(
            counts,
            unclassified,
            country_list=listed or frozenset(),
            country_count_only=0 if listed is not None else count_only,
            countries_exact=listed is not None,
        )

    @property
    def countries(self) -> int:
        return max(len(self.country_list), self.country_count_only)

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            counts=_add(self.counts, other.counts),
            unclassified=_add(self.unclassified, other.unclassified),
            country_list=self.country_list | other.country_list,
            country_count_only=max(self.country_count_only, other.country_count_only),
            countries_exact=self.countries_exact and other.countries_exact,
        )

    def values(self) -> dict[str, Any]:
        """Every figure's value, by name, in the vocabulary's order."""
        return {figure.name: self._value(figure) for figure in FIGURES}

    def _value(self, figure: Figure) -> Any:
        counts = self.counts
        value: Any
        match figure.kind:
            case Kind.COUNT | Kind.LIVE:
                value = counts.get(figure.name, 0)
            case Kind.MONEY:
                value = yuan_of(counts.get(fen_counter(figure.name), 0)).quantize(CENT)
            case Kind.BREAKDOWN:
                value = {m: counts.get(m.value, 0) for m in figure.members or ()}
            case Kind.TOTAL:
                parts = BY_NAME[figure.of].counters
                value = sum(counts.get(c, 0) for c in parts)
                value += self.unclassified.get(figure.name, 0)
            case Kind.MEMBER:
                value = counts.get(figure.member, 0)
            case Kind.SET_SIZE:
                value = self.countries
            case Kind.FLAG:
                value = self.countries_exact
        return value

    def figures(self) -> Figures:
        # The values are the vocabulary's own, of the declared types: nothing to validate.
        return Figures.model_construct(**self.values())

    def compact(self) -> DisplayFigures:
        """The board's figures (no breakdowns)."""
        values = self.values()
        return DisplayFigures.model_construct(**{f.name: values[f.name] for f in compact()})


def _counted(given: Mapping[str, Any]) -> tuple[dict[str, int], int]:
    """The counters a part's figures give, and its count of countries (a set's size)."""
    counts: dict[str, int] = {}
    count_only = 0
    for figure in FIGURES:
        value = given.get(figure.name)
        if value is None:
            continue
        match figure.kind:
            case Kind.COUNT:
                counts[figure.name] = value
            case Kind.MONEY:
                counts[fen_counter(figure.name)] = fen_of(value)
            case Kind.BREAKDOWN:
                counts.update({str(member): n for member, n in value.items()})
            case Kind.SET_SIZE:
                count_only = value
    for figure in of_kind(Kind.MEMBER):  # a member given without its breakdown
        if (value := given.get(figure.name)) is not None:
            counts.setdefault(figure.member, value)
    return counts, count_only


def total(parts: Iterable[Tally]) -> Tally:
    result = Tally()
    for part in parts:
        result = result + part
    return result


def _add(a: Mapping[K, int], b: Mapping[K, int]) -> dict[K, int]:
    return {key: a.get(key, 0) + b.get(key, 0) for key in {*a, *b}}

"""The figures are declared once; what the API, baselines, exports and history files carry
is that declaration."""

from services.api.export import FIGURES_HEADER
from services.api.schemas import BaselineFigures
from services.history_import import WHOLE_NUMBERS
from shared import vocabulary
from shared.events import Category, DealKind
from shared.figures import Figures


def test_the_api_figures_are_the_declared_ones_in_order() -> None:
    assert tuple(Figures.model_fields) == tuple(f.name for f in vocabulary.FIGURES)


def test_a_baseline_takes_every_figure_history_may_give() -> None:
    historic = {f.name for f in vocabulary.FIGURES if f.in_history}
    assert set(BaselineFigures.model_fields) == historic


def test_an_export_spreads_each_breakdown_over_its_members() -> None:
    columns = vocabulary.export_columns()
    assert [c for c in columns if c.startswith("attendees_")] == [
        f"attendees_{c}" for c in Category
    ]
    assert [c for c in columns if c.startswith("deals_")] == [f"deals_{k}" for k in DealKind]
    assert "inside_now" not in columns  # a live figure, not a figure of an edition
    assert FIGURES_HEADER[-1] == "cumulative_projects_on_display"


def test_a_history_file_gives_plain_figures_and_money_is_not_a_whole_number() -> None:
    fields = vocabulary.history_fields()
    assert "deal_value_cny" in fields
    assert "attendees_by_category" not in fields
    assert "deal_value_cny" not in WHOLE_NUMBERS
    assert set(fields) - {"deal_value_cny"} <= set(WHOLE_NUMBERS)

"""An expo's history page in Chromium: the figures of each edition and the cumulative ones,
and this edition hour by hour beside the previous one at the same point of its run."""

import json
from itertools import accumulate

import pytest
from playwright.sync_api import Page, expect

from tests.browser.stack import Editions, editions
from tests.e2e.conftest import Services

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def history(stack: Services) -> Editions:
    return editions(stack.client("api"), stack.client("ingest"))


def cell(page: Page, ordinal: int, kind: str, figure: str) -> str:
    return f'tr[data-ordinal="{ordinal}"][data-kind="{kind}"] td[data-figure="{figure}"]'


def running(per_hour: dict[int, int]) -> dict[str, int]:
    """The running total at the end of each hour with check-ins (keys as the page has them)."""
    hours = sorted(per_hour)
    totals = accumulate(per_hour[hour] for hour in hours)
    return {str(hour + 1): total for hour, total in zip(hours, totals, strict=True)}


def test_the_history_page_shows_each_edition_and_the_running_cumulative(
    page: Page, services: Services, history: Editions
) -> None:
    page.goto(f"{services.url('api')}/history/{history.expo_id}")
    expect(page.locator("body")).to_have_attribute("data-state", "ready")

    fifth = sum(history.hourly[history.fifth].values())
    sixth = sum(history.hourly[history.sixth].values())
    expect(page.locator(cell(page, 4, "edition", "attendees"))).to_have_text("1,960,000")
    expect(page.locator(cell(page, 5, "edition", "attendees"))).to_have_text(f"{fifth:,}")
    expect(page.locator(cell(page, 6, "cumulative", "attendees"))).to_have_text(
        f"{1_960_000 + fifth + sixth:,}"
    )
    signed = sum(history.deal_value[history.fifth].values()) + sum(
        history.deal_value[history.sixth].values()
    )
    expect(page.locator(cell(page, 6, "cumulative", "deal_value_cny"))).to_have_text(
        f"¥{345_000_000_000 + signed:,}.00"
    )
    expect(page.locator(cell(page, 6, "cumulative", "deals"))).to_have_text("2,115")
    expect(page.locator(cell(page, 6, "cumulative", "countries"))).to_have_text("≥56")
    expect(page.locator("#editions-chart canvas")).to_have_count(1)


def test_editions_changed_by_late_events_are_marked_revised(
    page: Page, services: Services, history: Editions
) -> None:
    """Every event of the 5th session was uploaded years after it occurred: its figures
    are revisions, and the page says so; the baseline has no events to be late."""
    page.goto(f"{services.url('api')}/history/{history.expo_id}?lang=en")
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    fifth = page.locator('tr[data-ordinal="5"][data-kind="edition"]')
    expect(fifth).to_have_attribute("data-revised", "true")
    late = sum(history.hourly[history.fifth].values()) + 4  # its scans and its four deals
    expect(fifth.locator(".revised")).to_contain_text(f"Revised · {late:,} late events")
    baseline = page.locator('tr[data-ordinal="4"][data-kind="edition"]')
    expect(baseline).not_to_have_attribute("data-revised", "true")


def test_the_hourly_chart_puts_this_edition_beside_the_last_at_the_same_hour(
    page: Page, services: Services, history: Editions
) -> None:
    page.goto(f"{services.url('api')}/history/{history.expo_id}")
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    expect(page.locator("#hourly-title")).to_have_text(
        "逐小时累计 · 第六届科博会 对比 第五届科博会"
    )
    expect(page.locator("#hourly-chart canvas")).to_have_count(1)
    series = json.loads(page.locator("#hourly-chart").get_attribute("data-series") or "[]")
    assert series == [
        running(history.hourly[history.sixth]),
        running(history.hourly[history.fifth]),
    ]

    page.select_option("#metric", "deal_value_cny")
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    series = json.loads(page.locator("#hourly-chart").get_attribute("data-series") or "[]")
    assert series == [
        running(history.deal_value[history.sixth]),
        running(history.deal_value[history.fifth]),
    ]

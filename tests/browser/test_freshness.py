"""How fresh the board says its figures are, run in the browser on the page's own module:
the age of the figures out of an answer's lag, and the time of a recent revision in the
expo's timezone for an hour."""

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page

REVISED = datetime(2025, 9, 26, 6, 42, 30, tzinfo=UTC)  # 14:42 in Mianyang, 08:42 in Paris


def run(page: Page, call: str, *args: object) -> Any:
    return page.evaluate(
        f"""async (args) => {{
            const f = await import("/static/freshness.js");
            return {call};
        }}""",
        list(args),
    )


def millis(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def test_figures_are_as_old_as_the_time_since_the_answer_plus_its_lag(module_page: Page) -> None:
    assert run(module_page, "f.dataAge(10_000, 4_000, 7.5)") == 13.5
    assert run(module_page, "f.dataAge(10_000, 4_000, 0)") == 6


def test_the_age_of_figures_is_unknown_when_the_api_cannot_tell_their_lag(
    module_page: Page,
) -> None:
    assert run(module_page, "f.dataAge(10_000, 4_000, null)") is None
    assert run(module_page, "f.dataAge(10_000, 4_000, undefined)") is None
    assert run(module_page, "[f.behind(null), f.behind(undefined)]") == [False, False]


def test_figures_are_behind_once_their_lag_passes_ten_seconds(module_page: Page) -> None:
    assert run(module_page, "[0, 9.9, 10, 10.1, 300].map(f.behind)") == [
        False,
        False,
        False,
        True,
        True,
    ]


def test_a_revision_shows_its_time_in_the_expos_timezone_for_an_hour(module_page: Page) -> None:
    revisions = {"late_events": 3, "last_revised_at": REVISED.isoformat(), "after_close": 0}
    at = [millis(REVISED + timedelta(minutes=m)) for m in (0, 59, 60, 61)]
    shown = run(
        module_page,
        "args[1].map((now) => f.recentRevision(args[0], now, 'Asia/Shanghai'))",
        revisions,
        at,
    )
    assert shown == ["14:42", "14:42", None, None]
    paris = run(module_page, "f.recentRevision(args[0], args[1], 'Europe/Paris')", revisions, at[0])
    assert paris == "08:42"


def test_no_revision_or_no_timezone_yet_shows_no_time(module_page: Page) -> None:
    none = {"late_events": 0, "last_revised_at": None, "after_close": 0}
    revised = {"late_events": 1, "last_revised_at": REVISED.isoformat(), "after_close": 0}
    now = millis(REVISED)
    shanghai = "f.recentRevision(args[0], args[1], 'Asia/Shanghai')"
    assert run(module_page, shanghai, none, now) is None
    assert run(module_page, shanghai, None, now) is None
    assert run(module_page, "f.recentRevision(args[0], args[1], null)", revised, now) is None

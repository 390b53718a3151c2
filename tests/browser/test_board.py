"""The hall display board in Chromium, against the services as processes."""

import re
import signal
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.stack import Expo
from tests.e2e.conftest import Services

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def figure(page: Page, column: str, key: str) -> Locator:
    return page.locator(f'[data-column="{column}"] [data-figure="{key}"] dd')


def open_board(page: Page, services: Services, expo: Expo, query: str = "") -> None:
    page.goto(f"{services.url('api')}/display/{expo.expo_id}{query}")
    expect(page.locator("body")).to_have_attribute("data-state", "live")


def test_the_board_shows_this_edition_beside_all_editions_in_wan_and_yi(
    page: Page, services: Services, expo: Expo
) -> None:
    expo.settled(expo.deal("92913000000.00"))
    open_board(page, services, expo)

    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#current-title")).to_have_text("本届 · 第5届")
    expect(page.locator("#cumulative-title")).to_have_text("历届累计 · 共5届")
    expect(figure(page, "current", "deal_value_cny")).to_have_text("929.13亿元")
    expect(figure(page, "current", "deals")).to_have_text("1个")
    expect(figure(page, "cumulative", "deal_value_cny")).to_have_text("4,379.13亿元")
    expect(figure(page, "cumulative", "deals")).to_have_text("2,108个")
    expect(figure(page, "cumulative", "attendees")).to_have_text("196.00万人")
    expect(figure(page, "cumulative", "professional_attendees")).to_have_text("27.00万人")
    expect(figure(page, "cumulative", "countries")).to_have_text("≥56个")
    expect(page.locator('[data-column="cumulative"] [data-figure="countries"] dt')).to_contain_text(
        "下限"
    )
    expect(page.locator('[data-figure="inside_now"] dd')).to_have_text("0人")
    expect(page.locator("#updated-text")).to_contain_text("秒前更新")


def test_the_board_speaks_english_with_lang_en(page: Page, services: Services, expo: Expo) -> None:
    expo.settled(expo.deal("92913000000.00"))
    open_board(page, services, expo, "?lang=en")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#cumulative-title")).to_have_text("All 5 editions")
    expect(figure(page, "current", "deal_value_cny")).to_have_text("92.91 bn yuan")
    expect(figure(page, "cumulative", "deal_value_cny")).to_have_text("437.91 bn yuan")
    expect(figure(page, "cumulative", "deals")).to_have_text("2,108")
    expect(figure(page, "cumulative", "attendees")).to_have_text("1.96 m")
    expect(figure(page, "cumulative", "countries")).to_have_text("≥56")
    expect(page.locator('[data-column="cumulative"] [data-figure="countries"] dt')).to_contain_text(
        "(lower bound)"
    )
    expect(page.locator("#updated-text")).to_contain_text("s ago")


def test_the_board_moves_within_two_seconds_of_a_check_in_over_sse(
    page: Page, services: Services, expo: Expo
) -> None:
    open_board(page, services, expo, "?milestone_step=100000000")
    expect(page.locator("body")).to_have_attribute("data-transport", "sse")
    expect(figure(page, "current", "attendees")).to_have_text("0人")

    posted = time.monotonic()
    expo.checkin("A-000001", "professional", "DE")
    expect(figure(page, "current", "attendees")).to_have_text("1人", timeout=2000)
    assert time.monotonic() - posted < 2.0
    expect(page.locator('[data-figure="inside_now"] dd')).to_have_text("1人")
    expect(figure(page, "current", "countries")).to_have_text("1个")

    expect(page.locator("#milestone")).to_be_hidden()
    expo.deal("150000000.00")  # passes 1亿元, the milestone step given in the URL
    expect(page.locator("#milestone")).to_contain_text("本届签约金额突破 1亿元", timeout=2000)


def test_the_board_turns_stale_without_the_api_and_recovers_by_itself(
    page: Page, services: Services, expo: Expo
) -> None:
    open_board(page, services, expo, "?refresh=1&lang=en")
    expect(page.locator("#stale")).to_be_hidden()

    services.kill("api")
    expect(page.locator("body")).to_have_attribute("data-state", "stale", timeout=5000)
    expect(page.locator("#stale")).to_contain_text("No fresh data")

    expo.checkin("A-000001")  # ingest and the aggregator carry on meanwhile
    services.start("api")
    expect(page.locator("body")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(page.locator("#stale")).to_be_hidden()
    expect(figure(page, "current", "attendees")).to_have_text("1", timeout=5000)


def test_a_board_with_a_live_stream_stops_polling_the_display_feed(
    page: Page, services: Services, expo: Expo
) -> None:
    feed_reads: list[float] = []
    page.on(
        "request",
        lambda request: (
            feed_reads.append(time.monotonic()) if "/v1/display/" in request.url else None
        ),
    )
    open_board(page, services, expo, "?refresh=1")
    expect(page.locator("body")).to_have_attribute("data-transport", "sse")
    settled = time.monotonic()
    page.wait_for_timeout(4000)  # four refresh intervals of a board that would poll
    assert [t for t in feed_reads if t > settled] == []
    expect(page.locator("body")).to_have_attribute("data-state", "live")


def test_a_board_opened_after_a_milestone_announces_only_the_next_one(
    page: Page, services: Services, expo: Expo
) -> None:
    kept = expo.api.get(f"/v1/display/{expo.expo_id}")  # a screen already polls this expo
    assert kept.status_code == 200
    expo.settled(expo.deal("35000000000.00"))  # past 300亿元 before the board opens

    open_board(page, services, expo)
    expect(page.locator("body")).to_have_attribute("data-transport", "sse")
    expect(figure(page, "current", "deal_value_cny")).to_have_text("350.00亿元")
    expect(page.locator("#milestone")).to_be_hidden()

    expo.deal("6000000000.00")  # 410亿元: passes 400亿元 while the board shows it
    expect(page.locator("#milestone")).to_contain_text("本届签约金额突破 400亿元")


def test_a_board_back_from_a_gap_does_not_announce_what_passed_meanwhile(
    page: Page, services: Services, expo: Expo
) -> None:
    open_board(page, services, expo, "?refresh=1")
    expect(figure(page, "current", "deal_value_cny")).to_have_text("0元")

    services.kill("api")
    expect(page.locator("body")).to_have_attribute("data-state", "stale", timeout=5000)
    expo.deal("35000000000.00")  # passes 300亿元 while the board hears nothing
    services.start("api")
    expect(page.locator("body")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(figure(page, "current", "deal_value_cny")).to_have_text("350.00亿元", timeout=5000)
    expect(page.locator("#milestone")).to_be_hidden()

    expo.deal("6000000000.00")  # 410亿元: passes 400亿元 while the board shows it
    expect(page.locator("#milestone")).to_contain_text("本届签约金额突破 400亿元")


def late_upload(expo: Expo, attendee: str) -> str:
    """A desk that was offline uploads a check-in of 10 minutes ago; it is folded. Returns
    the time of the fold that revised the figures, as HH:MM in the expo's timezone."""
    occurred = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    body = {"attendee_id": attendee, "category": "general", "country": "CN"}
    position = expo.post("/v1/checkins", {**body, "occurred_at": occurred})["position"]
    revised = expo.settled(position)["revisions"]["last_revised_at"]
    zone = ZoneInfo(expo.api.get(f"/v1/expos/{expo.expo_id}").json()["timezone"])
    return datetime.fromisoformat(revised).astimezone(zone).strftime("%H:%M")


def test_a_board_whose_figures_a_late_upload_revised_says_when_in_the_expos_timezone(
    page: Page, services: Services, expo: Expo
) -> None:
    at = late_upload(expo, "A-000001")  # the expo is in Asia/Shanghai, the browser in UTC
    open_board(page, services, expo)
    expect(figure(page, "current", "attendees")).to_have_text("1人")
    expect(page.locator("#revised")).to_have_text(f"数据已于 {at} 修订")
    expect(page.locator("#behind")).to_be_hidden()


def test_a_board_without_late_events_shows_no_revision_until_a_late_upload_arrives(
    page: Page, services: Services, expo: Expo
) -> None:
    expo.settled(expo.deal("150000000.00"))  # signed as it happened
    open_board(page, services, expo, "?lang=en")
    expect(page.locator("body")).to_have_attribute("data-transport", "sse")
    expect(figure(page, "current", "deals")).to_have_text("1")
    expect(page.locator("#revised")).to_be_hidden()

    at = late_upload(expo, "A-000001")  # arrives over the live stream
    expect(figure(page, "current", "attendees")).to_have_text("1")
    expect(page.locator("#revised")).to_have_text(f"revised at {at}")


def test_a_board_warns_while_its_figures_lag_behind_a_stalled_aggregator(
    page: Page, services: Services, expo: Expo
) -> None:
    open_board(page, services, expo, "?refresh=1&lang=en")
    expect(page.locator("body")).to_have_attribute("data-transport", "sse")
    expect(page.locator("#updated-text")).to_have_text(re.compile(r"^updated [01] s ago$"))

    services.kill("aggregator", signal.SIGTERM)
    expo.checkin("A-000001")  # accepted by ingest, not folded: the stream's heartbeats say so
    behind = page.locator("#behind")
    expect(behind).to_have_text(re.compile(r"^Figures 1\d s behind$"), timeout=15_000)
    expect(page.locator("#updated-text")).to_have_text(re.compile(r"^updated 1\d s ago$"))
    expect(page.locator("body")).to_have_attribute("data-state", "live")  # answers still come
    expect(figure(page, "current", "attendees")).to_have_text("0")

    services.start("aggregator")
    expect(figure(page, "current", "attendees")).to_have_text("1", timeout=10_000)
    expect(behind).to_be_hidden()
    expect(page.locator("#updated-text")).to_have_text(re.compile(r"^updated [01] s ago$"))


def test_the_leaderboard_shows_top_sectors_by_value_then_top_countries_in_turn(
    page: Page, services: Services, expo: Expo
) -> None:
    expo.checkin("A-1", country="DE")
    expo.checkin("A-2", country="DE")
    expo.checkin("A-3", country="JP")
    expo.deal("1850000000.00", sector="低空经济")
    expo.settled(expo.deal("520000000.00", sector="人工智能"))
    open_board(page, services, expo, "?leaders=2")

    leaders = page.locator("#leaders")
    expect(leaders).to_have_attribute("data-by", "sector")
    expect(page.locator("#leaders-list li")).to_have_text(
        ["低空经济18.50亿元", "人工智能5.20亿元"]  # ranked by value
    )
    expect(leaders).to_have_attribute("data-by", "country", timeout=5000)
    expect(page.locator("#leaders-list li").first).to_have_text("德国2人")

"""The registration desk in Chromium: a keyboard-wedge scanner types the badge and Enter."""

import json

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.stack import Expo
from tests.e2e.conftest import Services

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def open_desk(page: Page, services: Services, expo: Expo) -> None:
    page.goto(f"{services.url('api')}/desk/{expo.session_id}?lang=en")
    page.fill("#setup-token", expo.token("desk"))
    page.fill("#setup-desk", "hall-a-1")
    page.click("#setup-save")
    expect(page.locator("#badge")).to_be_focused()


def scan(page: Page, badge: str) -> None:
    """What a scanner does: type into whatever has the focus, then Enter."""
    page.keyboard.type(badge)
    page.keyboard.press("Enter")


def uploaded(page: Page) -> None:
    expect(page.locator("#queue")).to_have_attribute("data-count", "0", timeout=15_000)


def test_scans_submit_with_enter_and_show_the_answer_big(
    page: Page, services: Services, expo: Expo
) -> None:
    open_desk(page, services, expo)

    scan(page, "A-1")
    expect(page.locator("#result")).to_have_attribute("data-status", "accepted")
    expect(page.locator("#result-status")).to_have_text("Welcome")
    scan(page, "A-1")
    expect(page.locator("#result")).to_have_attribute("data-status", "repeat")
    expect(page.locator("#result-status")).to_have_text("Repeat visit")

    page.keyboard.press("F1")  # professional
    expect(page.locator('[data-category="professional"]')).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("F10")
    expect(page.locator("#country")).to_be_focused()
    page.keyboard.type("XX")
    page.keyboard.press("Enter")
    expect(page.locator("#badge")).to_be_focused()
    scan(page, "A-2")
    expect(page.locator("#result")).to_have_attribute("data-status", "rejected")
    expect(page.locator("#result-detail")).to_contain_text("ISO 3166-1 alpha-2")

    page.keyboard.press("F10")
    page.keyboard.type("DE")
    page.keyboard.press("Enter")
    page.keyboard.press("F9")  # exit mode
    expect(page.locator("#direction")).to_have_attribute("data-direction", "exit")
    scan(page, "A-1")
    expect(page.locator("#result")).to_have_attribute("data-status", "exit")
    page.keyboard.press("F9")
    scan(page, "A-2")
    expect(page.locator("#result")).to_have_attribute("data-status", "accepted")

    page.mouse.click(5, 700)  # a stray click leaves the badge field focused
    expect(page.locator("#badge")).to_be_focused()
    uploaded(page)
    expo.wait_for("checkins", 3)  # two entries of A-1 and A-2's; the exit is no check-in
    current = expo.totals()["current"]
    assert current["attendees"] == 2
    assert current["attendees_by_category"]["professional"] == 1
    assert current["inside_now"] == 1  # A-1 left again


def test_scans_queue_while_ingest_is_down_and_upload_once_when_it_is_back(
    page: Page, services: Services, expo: Expo
) -> None:
    open_desk(page, services, expo)
    scan(page, "B-1")
    expect(page.locator("#result")).to_have_attribute("data-status", "accepted")

    services.kill("ingest")
    for badge in ("B-2", "B-3", "B-1", "B-4"):
        scan(page, badge)
    expect(page.locator("#queue-count")).to_have_text("4")
    expect(page.locator("#network")).to_have_text("offline")
    expect(page.locator("#result")).to_have_attribute("data-status", "queued")

    page.reload()  # the queue is kept on the device
    expect(page.locator("#queue-count")).to_have_text("4")

    services.start("ingest")
    uploaded(page)
    expect(page.locator("#network")).to_have_text("online")
    expo.wait_for("checkins", 5)
    assert expo.current("attendees") == 4
    expo.settled(expo.deal("1.00"))  # everything posted before it is folded...
    assert expo.current("checkins") == 5  # ...and each scan counted once


def test_a_scan_whose_answer_was_lost_is_sent_again_and_counted_once(
    page: Page, services: Services, expo: Expo
) -> None:
    lost: list[str] = []

    def lose_the_first_answers(route: Route) -> None:
        if route.request.method == "POST" and len(lost) < 2:
            route.fetch()  # ingest gets the scan and appends it...
            lost.append(json.loads(route.request.post_data or "{}")["event_id"])
            route.abort("connectionreset")  # ...but the desk never hears back
        else:
            route.fallback()

    page.route(f"{services.url('ingest')}/v1/checkins", lose_the_first_answers)
    open_desk(page, services, expo)
    scan(page, "C-1")
    expect(page.locator("#result")).to_have_attribute("data-status", "queued")
    uploaded(page)
    expect(page.locator("#result")).to_have_attribute("data-status", "accepted")

    assert len(lost) == 2
    assert lost[0] == lost[1]
    expo.settled(expo.deal("1.00"))
    assert expo.current("checkins") == 1

"""The signing ceremony page in Chromium: a deal logged on stage shows in the session total
it reads back (read-your-writes), and a void takes it out again."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.stack import Expo
from tests.e2e.conftest import Services

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def log_deal(page: Page, title: str, amount: str, **more: str) -> None:
    page.fill("#title", title)
    page.fill("#amount", amount)
    for field, value in more.items():
        page.fill(f"#{field}", value)
    page.click("#submit")


def test_a_deal_logged_on_stage_is_in_the_total_and_a_void_takes_it_out(
    page: Page, services: Services, expo: Expo
) -> None:
    page.goto(f"{services.url('api')}/ceremony/{expo.session_id}")
    page.fill("#setup-token", expo.token("ceremony", bound=False))
    page.click("#setup-save")
    expect(page.locator("#total-deals")).to_have_text("0")
    first_id = page.input_value("#deal-id")
    assert first_id.startswith("D-")

    log_deal(page, "Battery materials plant", "1,850,000,000.00", sector="energy")
    expect(page.locator("#total")).to_have_attribute("data-state", "confirmed")
    expect(page.locator("#total-deals")).to_have_text("1")
    expect(page.locator("#total-value")).to_have_text("18.50亿元")
    expect(page.locator("#total-note")).to_contain_text(first_id)
    assert page.input_value("#deal-id") != first_id  # a fresh id for the next deal

    expect(page.locator("#fx-rate")).to_be_hidden()
    page.fill("#currency", "USD")
    expect(page.locator("#fx-rate")).to_be_visible()
    log_deal(
        page,
        "Satellite ground-station equipment",
        "150000000.00",
        **{"fx-rate": "6.6213", "counterparty": "Example Avionics GmbH"},
        **{"counterparty-country": "de"},
    )
    expect(page.locator("#total-deals")).to_have_text("2")
    expect(page.locator("#total-exact")).to_have_text("¥2,843,195,000.00")

    page.locator(f'[data-deal-id="{first_id}"] button').click()
    expect(page.locator("#void-dialog")).to_be_visible()
    page.fill("#void-reason", "entered twice; the signed contract is the next one")
    page.click("#void-confirm")
    expect(page.locator("#void-dialog")).to_be_hidden()
    expect(page.locator(f'[data-deal-id="{first_id}"]')).to_have_attribute("data-voided", "true")
    expect(page.locator("#total-deals")).to_have_text("1")
    expect(page.locator("#total-exact")).to_have_text("¥993,195,000.00")
    expect(page.locator("#total")).to_have_attribute("data-state", "confirmed")

    totals = expo.totals()["current"]
    assert (totals["deals"], totals["deal_value_cny"]) == (1, "993195000.00")
    assert totals["countries"] == 1  # DE, the counterparty's


def test_a_refused_deal_shows_why_and_changes_nothing(
    page: Page, services: Services, expo: Expo
) -> None:
    page.goto(f"{services.url('api')}/ceremony/{expo.session_id}?lang=en")
    page.fill("#setup-token", expo.token("desk"))  # a desk token cannot log deals
    page.click("#setup-save")
    log_deal(page, "Radar test line", "1000.00")
    expect(page.locator("#form-message")).to_contain_text("this needs a token with role")

    page.fill("#amount", "12.345")
    page.click("#submit")
    expect(page.locator("#form-message")).to_contain_text("at most two decimals")
    assert expo.current("deals") == 0


def test_the_exhibitor_that_signs_is_picked_from_those_registered_and_counts_in_its_row(
    page: Page, services: Services, expo: Expo
) -> None:
    for exhibitor_id, name in (
        ("E-0042", "Mianyang Optics Co."),
        ("E-0007", "Sichuan Drone Works"),
    ):
        expo.post(
            "/v1/exhibitors",
            {"exhibitor_id": exhibitor_id, "name": name, "country": "CN", "projects_on_display": 3},
        )
    expo.wait_for("exhibitors", 2)
    page.goto(f"{services.url('api')}/ceremony/{expo.session_id}")
    page.fill("#setup-token", expo.token("ceremony"))
    page.click("#setup-save")
    options = page.locator("#exhibitor option")
    expect(options).to_have_text(  # by name, after "not given"
        ["（未注明）", "Mianyang Optics Co. (E-0042)", "Sichuan Drone Works (E-0007)"]
    )

    page.select_option("#exhibitor", "E-0007")
    log_deal(page, "Survey drones", "52000000.00")
    expect(page.locator("#total")).to_have_attribute("data-state", "confirmed")
    expect(page.locator("#exhibitor")).to_have_value("")  # the next deal starts without one

    rows = expo.api.get(f"/v1/sessions/{expo.session_id}/breakdown?by=exhibitor").json()["rows"]
    assert [(r["key"], r["label"], r["deal_value_cny"]) for r in rows] == [
        ("E-0007", "Sichuan Drone Works", "52000000.00")
    ]

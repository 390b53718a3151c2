"""The pages' security headers in Chromium: a policy that allows only the page's own
scripts and styles and, for requests, the API and the ingest service the pages post to; no
framing, no referrer, no sniffing. Every page test fails on anything the policy refuses
(see the `page` fixture); these show the policy is there and that the check sees refusals."""

from collections.abc import Iterator

import httpx2
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import policy_violations
from tests.browser.stack import Expo
from tests.e2e.conftest import Services

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

PAGES = ["/display/{expo}", "/desk/{session}", "/ceremony/{session}"]


@pytest.fixture
def browser_page(browser: Browser, services: Services) -> Iterator[Page]:
    """A page that may see refusals (the `page` fixture fails on them)."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_strict_policy_that_lets_them_post_to_ingest(
    services: Services, expo: Expo, path: str
) -> None:
    url = services.url("api") + path.format(expo=expo.expo_id, session=expo.session_id)
    headers = httpx2.get(url, timeout=10).headers

    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in headers["content-security-policy"].split("; ")
    }
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    ingest_port = services.env["EXPO_INGEST_PORT"]
    assert policy["connect-src"] == ["'self'", f"127.0.0.1:{ingest_port}"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", [*PAGES, "/history/{expo}"])
def test_a_page_is_revalidated_and_served_whole_again_only_when_it_changed(
    services: Services, expo: Expo, path: str
) -> None:
    url = services.url("api") + path.format(expo=expo.expo_id, session=expo.session_id)
    first = httpx2.get(url, timeout=10)
    again = httpx2.get(url, headers={"If-None-Match": first.headers["etag"]}, timeout=10)

    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-cache"
    assert first.text.startswith("<!doctype html>")
    assert '<link rel="stylesheet" href="/static/common.css">' in first.text
    assert first.text.count("<body") == first.text.count("</head>") == 1
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["content-security-policy"] == first.headers["content-security-policy"]


def test_assets_are_never_sniffed(services: Services) -> None:
    response = httpx2.get(services.url("api") + "/static/client.js", timeout=10)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"].startswith("text/javascript")


def test_each_page_works_under_its_policy(page: Page, services: Services, expo: Expo) -> None:
    """The board shows figures; the desk posts a scan to ingest; the ceremony logs a deal.
    The `page` fixture fails the test on anything the policy refused meanwhile."""
    api = services.url("api")
    page.goto(f"{api}/display/{expo.expo_id}?lang=en")
    expect(page.locator("body")).to_have_attribute("data-state", "live")

    page.goto(f"{api}/desk/{expo.session_id}?lang=en")
    page.fill("#setup-token", expo.token("desk"))
    page.click("#setup-save")
    page.keyboard.type("A-CSP-1")
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_have_attribute("data-status", "accepted")

    page.goto(f"{api}/ceremony/{expo.session_id}?lang=en")
    page.fill("#setup-token", expo.token("ceremony"))
    page.click("#setup-save")
    page.fill("#title", "Radar test line")
    page.fill("#amount", "1000.00")
    page.click("#submit")
    expect(page.locator("#total")).to_have_attribute("data-state", "confirmed")


def test_the_policy_refuses_inline_script_and_requests_elsewhere(
    browser_page: Page, services: Services, expo: Expo
) -> None:
    """The check the page tests rely on: Chromium reports what the policy refuses."""
    refused = policy_violations(browser_page)
    browser_page.goto(f"{services.url('api')}/display/{expo.expo_id}")
    browser_page.evaluate("fetch('http://127.0.0.2:9/').catch(() => null)")
    browser_page.evaluate(
        "document.body.append(Object.assign(document.createElement('script'),"
        " {textContent: 'window.inlineRan = true'}))"
    )

    expect(browser_page.locator("body")).to_have_attribute("data-state", "live")
    assert browser_page.evaluate("window.inlineRan === undefined")
    assert any("connect-src" in text for text in refused), refused
    assert any("script-src" in text for text in refused), refused

"""Page tests: Debian's Chromium, headless, driven by Playwright against the three services
running as processes, on the SQLite leg only. One stack serves every page test (each test
opens its own expo); a test that stops a service gets it back before the next one."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Route, sync_playwright

from tests.browser.stack import Expo, launch, open_expo, running
from tests.e2e.conftest import PORTS, Services

STATIC = Path(__file__).parents[2] / "services" / "api" / "static"
ORIGIN = "http://pages.test"


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    with running(tmp_path_factory.mktemp("stack"), database_url) as started:
        yield started


@pytest.fixture
def services(stack: Services) -> Services:
    """The shared stack with all three services up."""
    for name in PORTS:
        if name not in stack.processes:
            stack.start(name)
    return stack


def policy_violations(page: Page) -> list[str]:
    """What the page's Content-Security-Policy refuses, as Chromium reports it on the console
    (filled in as the page runs)."""
    refused: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", record)
    return refused


@pytest.fixture
def page(browser: Browser, services: Services) -> Iterator[Page]:
    """A fresh browser profile (empty localStorage) at 1920x1080; fails the test on any
    uncaught script error or anything the page's security policy refuses. It closes before
    the services stop: an open event stream would hold up the API's graceful shutdown."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    errors: list[Error] = []

    def record(error: Error) -> None:  # Playwright wants a Python function, not a builtin
        errors.append(error)

    page.on("pageerror", record)
    refused = policy_violations(page)
    yield page
    context.close()
    assert not errors, f"script errors on the page: {errors}"
    assert not refused, f"refused by the page's security policy: {refused}"


@pytest.fixture
def expo(services: Services) -> Expo:
    """An expo with the four previous sessions as a baseline, its 5th session open."""
    return open_expo(services.client("api"), services.client("ingest"))


@pytest.fixture(scope="module")
def module_page(browser: Browser) -> Iterator[Page]:
    """A page that can import /static/*.js straight from the source tree, no services."""
    page = browser.new_page()

    def serve(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path.startswith("/static/"):
            source = STATIC / path.removeprefix("/static/")
            if not source.is_file():  # a missing module fails its import at once
                route.fulfill(status=404)
                return
            route.fulfill(body=source.read_text(), content_type="text/javascript")
        else:
            route.fulfill(body="<!doctype html><title>modules</title>", content_type="text/html")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    yield page
    page.close()

"""`make screenshots`: the board at three screen sizes (and in English), the desk page, the
ceremony page, an expo's history page and a session's fact sheet (and its PDF), as PNG
files in screenshots/, from the three services running with a day's data (and, for the
history, two editions hour by hour).

Run with `python -m tests.browser.screenshots [folder]`.
"""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from shared import migration
from shared.db import make_engine
from tests.browser.stack import Editions, Expo, busy_day, editions, launch, open_expo, running
from tests.e2e.conftest import Services

BOARDS = [
    ("board-1920x1080.png", 1920, 1080, ""),
    ("board-3840x2160.png", 3840, 2160, ""),
    ("board-1080x1920.png", 1080, 1920, ""),
    ("board-1920x1080-en.png", 1920, 1080, "?lang=en"),
]


def migrated(directory: Path) -> str:
    database = f"sqlite:///{directory / 'expo.db'}"
    engine = make_engine(database)
    migration.upgrade(engine)
    engine.dispose()
    return database


def seeded(stack: Services) -> Expo:
    expo = open_expo(stack.client("api"), stack.client("ingest"))
    busy_day(expo, attendees=2400)
    for amount, sector in (("35600000000.00", "电子信息"), ("42313000000.00", "低空经济")):
        expo.deal(amount, sector=sector)
    expo.settled(expo.deal("15000000000.00", sector="人工智能"))
    return expo


def shoot(browser: Browser, base: str, expo: Expo, folder: Path) -> None:
    for name, width, height, lang in BOARDS:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{base}/display/{expo.expo_id}{lang}")
        expect(page.locator("body")).to_have_attribute("data-state", "live")
        page.wait_for_timeout(1500)  # the count-up animation settles
        expect(page.locator("#leaders")).to_be_visible()
        write(page, folder / name)
        page.close()
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{base}/desk/{expo.session_id}")
    page.fill("#setup-token", expo.token("desk"))
    page.fill("#setup-desk", "hall-a-1")
    page.click("#setup-save")
    for badge in ("A-000101", "A-000102", "A-000101"):
        page.keyboard.type(badge)
        page.keyboard.press("Enter")
        expect(page.locator("#queue")).to_have_attribute("data-count", "0")
    page.wait_for_timeout(300)
    write(page, folder / "desk-1366x768.png")
    page.goto(f"{base}/ceremony/{expo.session_id}")
    page.fill("#setup-token", expo.token("ceremony"))
    page.click("#setup-save")
    page.fill("#title", "卫星地面站设备供应")
    page.fill("#amount", "150000000.00")
    page.fill("#currency", "USD")
    page.fill("#fx-rate", "6.6213")
    page.fill("#counterparty", "Example Avionics GmbH")
    page.fill("#counterparty-country", "DE")
    page.fill("#sector", "航空航天")
    page.click("#submit")
    expect(page.locator("#total")).to_have_attribute("data-state", "confirmed")
    page.fill("#title", "电池材料生产线")
    page.fill("#amount", "1850000000.00")
    write(page, folder / "ceremony-1366x768.png")
    page.close()
    shoot_factsheet(browser, base, expo, folder)


def shoot_factsheet(browser: Browser, base: str, expo: Expo, folder: Path) -> None:
    """The fact sheet as on screen (A4 width at 96 dpi) and as printed to PDF."""
    for lang in ("", "?lang=en"):
        page = browser.new_page(viewport={"width": 900, "height": 1273})
        page.goto(f"{base}/factsheet/{expo.session_id}{lang}")
        expect(page.locator("body")).to_have_attribute("data-state", "ready")
        suffix = "-en" if lang else ""
        write(page, folder / f"factsheet{suffix}.png")
        page.emulate_media(media="print")
        page.pdf(path=folder / f"factsheet{suffix}.pdf", format="A4", prefer_css_page_size=True)
        print(f"wrote {folder / f'factsheet{suffix}.pdf'}")
        page.close()


def shoot_history(browser: Browser, base: str, history: Editions, folder: Path) -> None:
    for name, lang in (("history-1600x1000.png", ""), ("history-1600x1000-en.png", "?lang=en")):
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{base}/history/{history.expo_id}{lang}")
        expect(page.locator("body")).to_have_attribute("data-state", "ready")
        write(page, folder / name)
        page.close()


def write(page: Page, path: Path) -> None:
    page.screenshot(path=path)
    print(f"wrote {path}")


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work, running(Path(work), migrated(Path(work))) as stack:
        expo = seeded(stack)
        history = editions(stack.client("api"), stack.client("ingest"))
        with sync_playwright() as playwright:
            browser = launch(playwright)
            shoot(browser, stack.url("api"), expo, folder)
            shoot_history(browser, stack.url("api"), history, folder)
            browser.close()


if __name__ == "__main__":
    main()

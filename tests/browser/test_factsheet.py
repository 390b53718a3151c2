"""A session's fact sheet in Chromium: printed to PDF, it holds every figure exact and as the
press quotes it, in Chinese and in English."""

import unicodedata
from io import BytesIO

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.stack import Expo
from tests.e2e.conftest import Services

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def printed(page: Page) -> str:
    """The page as the browser prints it (A4), read back as text. NFKC: the PDF's text maps
    some glyphs to their Kangxi radicals (⽬ for 目), which NFKC folds back."""
    page.emulate_media(media="print")
    pdf = PdfReader(BytesIO(page.pdf(format="A4", prefer_css_page_size=True)))
    assert len(pdf.pages) == 1  # one sheet of paper
    text = unicodedata.normalize("NFKC", "\n".join(p.extract_text() for p in pdf.pages))
    return " ".join(text.split())  # a table cell wraps its words over lines


def test_the_fact_sheet_prints_on_one_a4_page_with_every_figure_exact_and_quoted(
    page: Page, services: Services, expo: Expo
) -> None:
    expo.checkin("A-1", "professional", "DE")
    expo.settled(expo.deal("15200000000.00"))

    page.goto(f"{services.url('api')}/factsheet/{expo.session_id}")
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    text = printed(page)

    # This edition: one deal of ¥15.2 bn; with the four previous sessions' ¥345 bn, 2,108.
    for quoted in ("152亿元", "¥15,200,000,000.00", "3,602亿元", "¥360,200,000,000.00", "2,108个"):
        assert quoted in text, quoted
    assert "至少56个国家和地区" in text  # the baseline gives a count of countries, no list
    assert "196万人" in text
    assert "未注明 · 152亿元" in text  # the deal named no sector

    page.goto(f"{services.url('api')}/factsheet/{expo.session_id}?lang=en")
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    english = printed(page)
    for quoted in ("15.2 billion yuan", "360.2 billion yuan", "at least 56 countries and regions"):
        assert quoted in english, quoted

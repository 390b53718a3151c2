"""The pages' number formatting, run in the browser on the page's own module: 万, 亿 and
万亿 in Chinese, m, bn and tn in English, exact from the decimal string, two decimals when
scaled and rounded down (a screen never shows more than was counted)."""

import pytest
from playwright.sync_api import Page


def run(page: Page, call: str, *args: object) -> str:
    result: str = page.evaluate(
        f"""async (args) => {{
            const f = await import("/static/format.js");
            const {{ number, unit }} = {call};
            return number + unit;
        }}""",
        list(args),
    )
    return result


MONEY = [
    ("92913000000.00", "zh", "929.13亿元"),
    ("92913000000.00", "en", "92.91 bn yuan"),
    ("345000000000.00", "zh", "3,450.00亿元"),
    ("437913000000.00", "en", "437.91 bn yuan"),
    ("99999999.99", "zh", "9,999.99万元"),  # down: not yet 1亿
    ("100000000.00", "zh", "1.00亿元"),
    ("1230000000000.00", "zh", "1.23万亿元"),
    ("1239999999999.99", "en", "1.23 tn yuan"),
    ("125000.00", "zh", "12.50万元"),
    ("9994.00", "zh", "9,994元"),
    ("9999.99", "zh", "9,999元"),
    ("999999.99", "en", "999,999 yuan"),
    ("1250000.00", "en", "1.25 m yuan"),
    ("8000.00", "en", "8,000 yuan"),
    ("0.00", "zh", "0元"),
    ("10000000000000000.00", "zh", "10,000.00万亿元"),
]


@pytest.mark.parametrize(("decimal", "lang", "shown"), MONEY)
def test_money_reads_in_yi_and_wan_or_bn_and_m(
    module_page: Page, decimal: str, lang: str, shown: str
) -> None:
    assert run(module_page, "f.formatMoney(f.fenOf(args[0]), args[1])", decimal, lang) == shown


COUNTS = [
    (1960000, "zh", "196.00万"),
    (1969999, "zh", "196.99万"),
    (1960000, "en", "1.96 m"),
    (2235, "zh", "2,235"),
    (2235, "en", "2,235"),
    (9999, "zh", "9,999"),
    (10000, "zh", "1.00万"),
    (270400, "zh", "27.04万"),
    (270400, "en", "270,400"),
    (99999999, "zh", "9,999.99万"),
    (1999999, "en", "1.99 m"),
    (0, "en", "0"),
]


@pytest.mark.parametrize(("count", "lang", "shown"), COUNTS)
def test_counts_read_in_wan_from_ten_thousand_and_m_from_a_million(
    module_page: Page, count: int, lang: str, shown: str
) -> None:
    assert run(module_page, "f.formatCount(args[0], args[1])", count, lang) == shown


def test_a_count_in_a_sentence_drops_zero_decimals(module_page: Page) -> None:
    assert run(module_page, "f.formatCount(args[0], 'zh', true)", 1960000) == "196万"


def test_milestones_drop_zero_decimals(module_page: Page) -> None:
    assert run(module_page, "f.formatMoney(f.fenOf(args[0]), 'zh', true)", "10000000000") == (
        "100亿元"
    )

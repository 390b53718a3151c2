"""Press style: the wording rules of shared/press.py, as the press texts write figures
(seeds 000 and 004) and never overstating what was counted."""

from decimal import Decimal

import pytest

from shared import press
from shared.press import Lang
from shared.vocabulary import BY_NAME, quoted

ZH, EN = Lang.ZH, Lang.EN


@pytest.mark.parametrize(
    ("yuan", "zh", "en"),
    [
        ("92913000000.00", "929.13亿元", "92.91 billion yuan"),  # 2022: "about 93 billion"
        ("345000000000.00", "3,450亿元", "345 billion yuan"),
        ("13550000000.00", "135.5亿元", "13.55 billion yuan"),
        ("52563000000.00", "525.63亿元", "52.56 billion yuan"),
        ("922864000000.00", "9,228.64亿元", "922.86 billion yuan"),
        ("1230000000000.00", "1.23万亿元", "1.23 trillion yuan"),
        ("99999999.99", "9,999.99万元", "99.99 million yuan"),  # down, never 1亿元
        ("100000000.00", "1亿元", "100 million yuan"),
        ("12500.00", "1.25万元", "12,500 yuan"),
        ("8000.75", "8,000元", "8,000 yuan"),
        ("0.00", "0元", "0 yuan"),
    ],
)
def test_money_takes_its_largest_tier_with_two_decimals_at_most_rounded_down(
    yuan: str, zh: str, en: str
) -> None:
    assert press.money(Decimal(yuan), ZH) == zh
    assert press.money(Decimal(yuan), EN) == en


@pytest.mark.parametrize(
    ("n", "zh", "en"),
    [
        (1960000, "196万人次", "1.96 million"),
        (1969999, "196.99万人次", "1.96 million"),
        (270000, "27万人次", "270,000"),
        (5432, "5,432人次", "5,432"),
        (0, "0人次", "0"),
    ],
)
def test_counts_read_in_wan_in_chinese_and_millions_in_english(n: int, zh: str, en: str) -> None:
    assert press.count(n, ZH, "人次") == zh
    assert press.count(n, EN, "人次") == en


def test_a_lower_bound_of_countries_says_at_least() -> None:
    assert press.countries(56, False, ZH) == "至少56个国家和地区"
    assert press.countries(56, False, EN) == "at least 56 countries and regions"
    assert press.countries(56, True, ZH) == "56个国家和地区"
    assert press.countries(1, True, EN) == "1 country or region"


def test_the_exact_form_keeps_every_fen_and_every_person() -> None:
    assert press.exact(BY_NAME["deal_value_cny"], Decimal("92913000000.00")) == (
        "¥92,913,000,000.00"
    )
    assert press.exact(BY_NAME["attendees"], 1960002) == "1,960,002"


def test_every_quoted_figure_is_named_in_both_languages() -> None:
    assert {f.name for f in quoted()} >= {"deals", "deal_value_cny", "attendees", "countries"}
    for figure in quoted():
        assert figure.zh
        assert figure.en


def test_names_are_listed_as_each_language_lists_them() -> None:
    assert press.listed(["厦门", "东莞"], ZH) == "厦门、东莞"
    assert press.listed(["Xiamen", "Dongguan"], EN) == "Xiamen and Dongguan"
    assert press.listed(["A", "B", "C"], EN) == "A, B and C"

"""Figures as a press release quotes them, in Chinese and in English (docs/figures.md, "Press
style").

Every figure has two forms: the exact one (`¥92,913,000,000.00`, `1,960,002`) and the press
one (`929.13亿元` / `92.91 billion yuan`, `196万人次` / `1.96 million`). The press form
takes the largest tier the figure reaches (万亿, 亿, 万 in Chinese; trillion, billion,
million in English) with at most two decimals, trailing zeros dropped, and is rounded DOWN:
a quote never claims more than was counted (¥99,999,999.99 is `9999.99万元`, not 1亿元).
A count of countries that is a lower bound reads `至少56个国家和地区` / `at least 56
countries and regions`.
"""

from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from shared.vocabulary import Breakdown, Figure, Kind


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


# Tiers from large to small: (size, word). Chinese counts in 万 and 亿; English in thousands.
TIERS: dict[Lang, tuple[tuple[int, str], ...]] = {
    Lang.ZH: ((10**12, "万亿"), (10**8, "亿"), (10**4, "万")),
    Lang.EN: ((10**12, " trillion"), (10**9, " billion"), (10**6, " million")),
}
HUNDREDTH = Decimal("0.01")


def grouped(value: int | Decimal) -> str:
    """Digits grouped by thousands: 1,960,002; money keeps its two places."""
    if isinstance(value, Decimal):
        return f"{value.quantize(HUNDREDTH, rounding=ROUND_DOWN):,.2f}"
    return f"{value:,}"


def exact(figure: Figure, value: object) -> str:
    """The exact form: money as ¥ with fen, counts grouped."""
    if figure.kind is Kind.MONEY:
        assert isinstance(value, Decimal)
        return f"¥{grouped(value)}"
    assert isinstance(value, int)
    return grouped(value)


def scaled(value: int | Decimal, lang: Lang) -> str:
    """The largest tier `value` reaches, two decimals at most, rounded down; below the
    smallest tier, the grouped whole number (rounded down too)."""
    for size, word in TIERS[lang]:
        if value >= size:
            shown = (Decimal(value) / size).quantize(HUNDREDTH, rounding=ROUND_DOWN)
            return _trimmed(shown) + word
    return grouped(int(value))


def _trimmed(number: Decimal) -> str:
    text = f"{number:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(yuan: Decimal, lang: Lang) -> str:
    """`929.13亿元`, `92.91 billion yuan`."""
    return scaled(yuan, lang) + ("元" if lang is Lang.ZH else " yuan")


def count(n: int, lang: Lang, unit: str = "") -> str:
    """`196万人次`, `1.96 million`; `unit` is the Chinese measure word."""
    return scaled(n, lang) + (unit if lang is Lang.ZH else "")


def countries(n: int, is_exact: bool, lang: Lang) -> str:
    """`56个国家和地区`; a lower bound `至少56个国家和地区` / `at least 56 ...`."""
    if lang is Lang.ZH:
        return f"{'' if is_exact else '至少'}{count(n, lang)}个国家和地区"
    what = "country or region" if n == 1 else "countries and regions"
    return f"{'' if is_exact else 'at least '}{count(n, lang)} {what}"


def press(figure: Figure, value: object, lang: Lang, countries_exact: bool = True) -> str:
    """A figure's value as the press quotes it."""
    if figure.kind is Kind.MONEY:
        assert isinstance(value, Decimal)
        return money(value, lang)
    assert isinstance(value, int)
    if figure.kind is Kind.SET_SIZE:
        return countries(value, countries_exact, lang)
    return count(value, lang, figure.unit)


def label(named: Figure | Breakdown, lang: Lang) -> str:
    """A figure's or a breakdown's name in `lang`."""
    return named.zh if lang is Lang.ZH else named.en


def listed(names: list[str], lang: Lang) -> str:
    """`厦门、东莞` / `Xiamen and Dongguan` / `A, B and C`."""
    if lang is Lang.ZH:
        return "、".join(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# A breakdown member's name, and the columns of an export that are not figures.
WORDS: dict[str, tuple[str, str]] = {
    "professional": ("专业观众", "professional"),
    "general": ("普通观众", "general"),
    "exhibitor": ("展商", "exhibitor"),
    "media": ("媒体", "media"),
    "vip": ("贵宾", "VIP"),
    "delegate": ("代表", "delegate"),
    "contract": ("合同", "contract"),
    "agreement": ("协议", "agreement"),
    "intent": ("意向", "intent"),
    "kind": ("类型", "Kind"),
    "label": ("名称", "Name"),
    "first_ordinal": ("起始届次", "First edition"),
    "last_ordinal": ("截止届次", "Last edition"),
    "session_id": ("场次编号", "Session id"),
    "status": ("状态", "Status"),
    "as_of": ("数据截至 (UTC)", "As of (UTC)"),
    "key": ("键", "Key"),
    "part": ("行", "Row"),
    "cumulative": ("历届累计", "cumulative"),
    "countries_exact": ("国家和地区为确数", "Countries exact"),
}


def word(name: str, lang: Lang) -> str:
    """A word of WORDS in `lang`; a name it does not hold is left as it is."""
    zh, en = WORDS.get(name, (name, name))
    return zh if lang is Lang.ZH else en

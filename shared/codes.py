"""ISO code sets: countries (3166-1 alpha-2, regions such as HK, MO, TW included) and
currencies (4217), as published by the pycountry package."""

from functools import cache

import pycountry


@cache
def country_codes() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def currency_codes() -> frozenset[str]:
    return frozenset(currency.alpha_3 for currency in pycountry.currencies)

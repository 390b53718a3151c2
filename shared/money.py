"""Money and other exact quantities as text on the wire (docs/design.md §3).

A money string is ASCII digits, an optional point and at most two places (a rate: at most
ten), nothing else: no exponent, sign, spaces, full-width digits, and never a JSON number.
Every request body (events, baselines) takes these types; they are written back the same
way, in fixed-point notation.

Records stored by earlier versions (the event store, stream entries, baseline figures)
were written with Python's `str(Decimal)`, which uses an exponent for some values (a rate
of 0.0000001 as `1E-7`). Read with `shared.stored.STORED` as the validation context, they
may use that notation as well; what comes from outside never may.
"""

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
)

from shared.stored import is_stored

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** 13
MAX_AMOUNT_CNY = Decimal(10) ** 14
MAX_RATE = Decimal(10) ** 6
MAX_AREA = Decimal(10) ** 7
MAX_BASELINE_VALUE = Decimal(10) ** 16

# What `str(Decimal)` writes for a finite, non-negative value: digits, a point, an exponent.
_STORED_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:E[+-][0-9]+)?", re.ASCII)


def pattern(places: int) -> str:
    """The JSON-schema pattern of a decimal string with at most `places` places."""
    return rf"^[0-9]+(\.[0-9]{{1,{places}}})?$"


def _text_check(places: int) -> Callable[[object, ValidationInfo], object]:
    exact = re.compile(pattern(places)[1:-1], re.ASCII)

    def check(value: object, info: ValidationInfo) -> object:
        if isinstance(value, Decimal):  # built by the services' own code, not parsed
            return value
        if not isinstance(value, str):
            msg = 'send decimals as strings, e.g. "13550000000.00", never as JSON numbers'
            raise ValueError(msg)
        if exact.fullmatch(value) or (is_stored(info) and _STORED_TEXT.fullmatch(value)):
            return value
        msg = (
            f"must be ASCII digits with an optional point and at most {places} places, "
            'e.g. "1200.50": no exponent, sign, spaces or full-width digits'
        )
        raise ValueError(msg)

    return check


def _fixed(value: Decimal) -> str:
    """Fixed-point text, never an exponent: `1E+1` is written as `10`."""
    return format(value, "f")


def _as_text(places: int) -> BeforeValidator:
    return BeforeValidator(_text_check(places))


def _schema(places: int) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern(places)})


FIXED = PlainSerializer(_fixed, return_type=str, when_used="json")

Amount = Annotated[
    Decimal, _as_text(2), Field(gt=0, le=MAX_AMOUNT, decimal_places=2), FIXED, _schema(2)
]
AmountCny = Annotated[
    Decimal, _as_text(2), Field(gt=0, le=MAX_AMOUNT_CNY, decimal_places=2), FIXED, _schema(2)
]
FxRate = Annotated[
    Decimal, _as_text(10), Field(gt=0, le=MAX_RATE, decimal_places=10), FIXED, _schema(10)
]
Area = Annotated[
    Decimal, _as_text(2), Field(ge=0, le=MAX_AREA, decimal_places=2), FIXED, _schema(2)
]
BaselineValue = Annotated[
    Decimal,
    _as_text(2),
    Field(ge=0, le=MAX_BASELINE_VALUE, decimal_places=2),
    FIXED,
    _schema(2),
]


def fen_of(amount: Decimal) -> int:
    """Yuan as whole fen, exactly (`amount` has at most two places)."""
    return int(amount.scaleb(2))


def yuan_of(fen: int) -> Decimal:
    """Whole fen as yuan with two places, exactly."""
    return Decimal(fen).scaleb(-2)

"""The events Expo tally counts: one discriminated union of frozen models.

Every event carries the envelope (`event_id`, `type`, `session_id`, `occurred_at`,
`recorded_at`, `schema_version`, `source`). A new schema version comes with an upcaster in
`UPCASTERS`, so events stored under an old version stay readable.
"""

import json
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from shared.codes import country_codes, currency_codes
from shared.money import CENT, Amount, AmountCny, Area, FxRate
from shared.stored import STORED
from shared.text import free_text, identifier


class Category(StrEnum):
    PROFESSIONAL = "professional"
    GENERAL = "general"
    EXHIBITOR = "exhibitor"
    MEDIA = "media"
    VIP = "vip"
    DELEGATE = "delegate"


class Direction(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class DealKind(StrEnum):
    CONTRACT = "contract"
    AGREEMENT = "agreement"
    INTENT = "intent"


def _country(value: str) -> str:
    if value not in country_codes():
        msg = "must be an ISO 3166-1 alpha-2 code in upper case, e.g. CN, HK, DE"
        raise ValueError(msg)
    return value


def _currency(value: str) -> str:
    if value not in currency_codes():
        msg = "must be an ISO 4217 currency code in upper case, e.g. CNY, USD"
        raise ValueError(msg)
    return value


# The pattern is the rule every version held (no C0 control, no DEL); `shared.text` adds
# what new input must also keep to.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Id64 = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=_PRINTABLE),
    AfterValidator(identifier),
]
Text200 = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=_PRINTABLE),
    AfterValidator(free_text),
]
Text500 = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, pattern=_PRINTABLE),
    AfterValidator(free_text),
]
SessionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
CountryCode = Annotated[str, AfterValidator(_country)]
CurrencyCode = Annotated[str, AfterValidator(_currency)]


def to_cny(amount: Decimal, fx_rate_to_cny: Decimal | None) -> Decimal:
    """The reporting-currency value of a deal: amount x rate, half-even to 0.01."""
    rate = Decimal(1) if fx_rate_to_cny is None else fx_rate_to_cny
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    session_id: SessionId
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    schema_version: Literal[1] = 1
    source: Annotated[str, StringConstraints(max_length=128)]


class AttendeeCheckedIn(Envelope):
    """A badge scanned at a desk or gate. Version 2 added `direction`: an exit scan says
    the attendee left the halls; it is not a check-in."""

    type: Literal["attendee.checked_in"] = "attendee.checked_in"
    schema_version: Literal[2] = 2  # type: ignore[assignment]
    attendee_id: Id64
    category: Category
    country: CountryCode
    desk_id: Id64 | None = None
    direction: Direction = Direction.ENTRY


class DealSigned(Envelope):
    """A deal signed on stage. Version 3 added `exhibitor_id`, the exhibitor that signed
    (versions count across the event types: a check-in's version 2 is its `direction`)."""

    type: Literal["deal.signed"] = "deal.signed"
    schema_version: Literal[3] = 3  # type: ignore[assignment]
    deal_id: Id64
    title: Text200
    kind: DealKind
    amount: Amount
    currency: CurrencyCode = "CNY"
    fx_rate_to_cny: FxRate | None = None
    amount_cny: AmountCny
    sector: Text200 | None = None
    counterparty: Text200 | None = None
    counterparty_country: CountryCode | None = None
    exhibitor_id: Id64 | None = None

    def content(self) -> tuple[object, ...]:
        """What makes two signings of one deal the same signing: values, not how they are
        written (500 and 500.00 are one amount; no rate and a rate of 1 are one CNY rate).
        The exhibitor is part of it only when named, so a signing without one reads as it
        did before version 3."""
        rate = Decimal(1) if self.fx_rate_to_cny is None else self.fx_rate_to_cny
        named = (self.exhibitor_id,) if self.exhibitor_id is not None else ()
        return (
            self.title,
            self.kind,
            self.amount.normalize(),
            self.currency,
            rate.normalize(),
            self.amount_cny.normalize(),
            self.sector,
            self.counterparty,
            self.counterparty_country,
            *named,
        )


class DealVoided(Envelope):
    type: Literal["deal.voided"] = "deal.voided"
    deal_id: Id64
    reason: Text500


class ExhibitorRegistered(Envelope):
    type: Literal["exhibitor.registered"] = "exhibitor.registered"
    exhibitor_id: Id64
    name: Text200
    country: CountryCode
    projects_on_display: Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
    booth_area_m2: Area | None = None


Event = Annotated[
    AttendeeCheckedIn | DealSigned | DealVoided | ExhibitorRegistered,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[str, ...] = (
    "attendee.checked_in",
    "deal.signed",
    "deal.voided",
    "exhibitor.registered",
)
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

# (type, from_version) -> function turning that version's raw dict into the next version's.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _checkin_v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """Before version 2 every scan was an entry. A version-1 record that names a direction
    is not one we ever wrote: it is left as it is, and so refused."""
    if "direction" in raw:
        return raw
    return {**raw, "schema_version": 2, "direction": Direction.ENTRY.value}


def _deal_v1_to_v3(raw: dict[str, Any]) -> dict[str, Any]:
    """A deal signed before version 3 names no exhibitor."""
    if "exhibitor_id" in raw:
        return raw
    return {**raw, "schema_version": 3}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("attendee.checked_in", 1): _checkin_v1_to_v2,
    ("deal.signed", 1): _deal_v1_to_v3,
}


def upcast(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored event's raw dict up to the current schema version."""
    version = raw.get("schema_version", 1)
    while isinstance(version, int) and (raw.get("type"), version) in UPCASTERS:
        upcasted = UPCASTERS[(str(raw["type"]), version)](raw)
        if upcasted is raw:
            break
        raw, version = upcasted, upcasted["schema_version"]
    return raw


def decode_event(data: bytes | str) -> Event:
    """Parse a stored or streamed event of any schema version, upcast to the current one;
    raises pydantic.ValidationError when it is not an event."""
    try:
        return EVENT_ADAPTER.validate_json(data, context=STORED)
    except ValidationError as error:
        try:
            raw = json.loads(data)
        except ValueError:
            raise error from None
        upcasted = upcast(raw) if isinstance(raw, dict) else raw
        if upcasted is raw:
            raise
        return EVENT_ADAPTER.validate_python(upcasted, context=STORED)


def encode_event(event: Event) -> bytes:
    return EVENT_ADAPTER.dump_json(event)


def sort_key(event: Envelope) -> tuple[datetime, UUID]:
    """The order that decides "first" and "earliest": occurred_at, then event_id."""
    return (event.occurred_at, event.event_id)

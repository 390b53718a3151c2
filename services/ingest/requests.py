"""What desks, ceremonies and organisers post, and how it becomes an event."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, Self
from uuid import UUID, uuid4

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from shared import events
from shared.errors import DomainError, Reason
from shared.events import (
    Category,
    CountryCode,
    CurrencyCode,
    DealKind,
    Direction,
    Id64,
    SessionId,
    Text200,
    Text500,
    to_cny,
)
from shared.money import CENT, MAX_AMOUNT_CNY, Amount, FxRate
from shared.money import Area as AreaM2

MAX_FUTURE = timedelta(minutes=5)
MAX_BATCH = 1000


def _rfc3339_text(value: Any) -> Any:
    """A bare number is not taken for seconds since 1970."""
    if not isinstance(value, str | datetime):
        msg = "must be RFC 3339 text with an offset, e.g. 2017-11-16T09:02:11+08:00"
        raise ValueError(msg)
    return value


def _in_utc_range(value: datetime) -> datetime:
    """An offset that takes the time before the year 1 or past 9999 in UTC makes an event
    no one can store or fold."""
    try:
        value.astimezone(UTC)
    except OverflowError as error:
        msg = "is out of range once converted to UTC"
        raise ValueError(msg) from error
    return value


OccurredAt = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_in_utc_range)]


class EventRequest(BaseModel):
    """The fields every posted event may carry besides its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    session_id: SessionId
    event_id: UUID | None = Field(
        default=None, description="Send one so that retries are counted once."
    )
    occurred_at: OccurredAt | None = Field(
        default=None, description="RFC 3339 with offset; defaults to the time of receipt."
    )

    def envelope(self, received_at: datetime, source: str) -> dict[str, Any]:
        occurred_at = self.occurred_at or received_at
        if occurred_at > received_at + MAX_FUTURE:
            raise DomainError(
                Reason.VALIDATION_FAILED,
                "the request is not valid",
                [{"loc": ["body", "occurred_at"], "msg": "is more than 5 minutes in the future"}],
            )
        return {
            "event_id": self.event_id or uuid4(),
            "session_id": self.session_id,
            "occurred_at": occurred_at,
            "recorded_at": received_at,
            "source": source,
        }


class CheckIn(EventRequest):
    attendee_id: Id64
    category: Category
    country: CountryCode
    desk_id: Id64 | None = None
    direction: Direction = Field(
        default=Direction.ENTRY, description="entry (a check-in) or exit (left the halls)"
    )

    def to_event(self, received_at: datetime, source: str) -> events.Event:
        fields = self.model_dump(exclude={"session_id", "event_id", "occurred_at"})
        return events.AttendeeCheckedIn(**self.envelope(received_at, source), **fields)


class SignDeal(EventRequest):
    deal_id: Id64
    title: Text200
    kind: DealKind
    amount: Amount
    currency: CurrencyCode = Field(default="CNY", description="The ISO 4217 code of `amount`.")
    fx_rate_to_cny: FxRate | None = Field(
        default=None, description="CNY per unit of `currency`; required unless it is CNY."
    )
    sector: Text200 | None = None
    counterparty: Text200 | None = None
    counterparty_country: CountryCode | None = None
    exhibitor_id: Id64 | None = Field(
        default=None, description="The exhibitor that signed, as it registered."
    )

    @model_validator(mode="after")
    def _rate_fits_currency(self) -> Self:
        if self.currency != "CNY" and self.fx_rate_to_cny is None:
            msg = "fx_rate_to_cny is required when currency is not CNY"
            raise ValueError(msg)
        if self.currency == "CNY" and self.fx_rate_to_cny not in (None, Decimal(1)):
            msg = "fx_rate_to_cny must be absent (or 1) when currency is CNY"
            raise ValueError(msg)
        amount_cny = to_cny(self.amount, self.fx_rate_to_cny)
        if not Decimal(0) < amount_cny <= MAX_AMOUNT_CNY:
            msg = f"amount x fx_rate_to_cny must be between 0.01 and {MAX_AMOUNT_CNY} CNY"
            raise ValueError(msg)
        return self

    def to_event(self, received_at: datetime, source: str) -> events.Event:
        fields = self.model_dump(exclude={"session_id", "event_id", "occurred_at", "amount"})
        amount_cny = to_cny(self.amount, self.fx_rate_to_cny)
        return events.DealSigned(
            **self.envelope(received_at, source),
            **fields,
            amount=self.amount.quantize(CENT),  # "100" goes on as "100.00"
            amount_cny=amount_cny,
        )


class VoidDeal(EventRequest):
    reason: Text500

    def to_void(self, deal_id: str, received_at: datetime, source: str) -> events.Event:
        envelope = self.envelope(received_at, source)
        return events.DealVoided(**envelope, deal_id=deal_id, reason=self.reason)


class RegisterExhibitor(EventRequest):
    exhibitor_id: Id64
    name: Text200
    country: CountryCode
    projects_on_display: Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
    booth_area_m2: AreaM2 | None = None

    def to_event(self, received_at: datetime, source: str) -> events.Event:
        fields = self.model_dump(exclude={"session_id", "event_id", "occurred_at"})
        return events.ExhibitorRegistered(**self.envelope(received_at, source), **fields)


# --- events:batch items -----------------------------------------------------------------


class CheckInItem(CheckIn):
    type: Literal["attendee.checked_in"]


class SignDealItem(SignDeal):
    type: Literal["deal.signed"]


class VoidDealItem(VoidDeal):
    type: Literal["deal.voided"]
    deal_id: Id64

    def to_event(self, received_at: datetime, source: str) -> events.Event:
        return self.to_void(self.deal_id, received_at, source)


class RegisterExhibitorItem(RegisterExhibitor):
    type: Literal["exhibitor.registered"]


BatchItem = Annotated[
    CheckInItem | SignDealItem | VoidDealItem | RegisterExhibitorItem,
    Field(discriminator="type"),
]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Any] = Field(min_length=1, max_length=MAX_BATCH)


class Accepted(BaseModel):
    event_id: UUID
    status: Literal["accepted"] = "accepted"
    position: str = Field(description="The stream entry id the event was appended at.")


class ItemResult(BaseModel):
    index: int
    event_id: UUID | None = None
    status: Literal["accepted", "rejected"]
    position: str | None = None
    reason: str | None = None
    errors: list[dict[str, Any]] | None = None


class BatchResult(BaseModel):
    results: list[ItemResult]

"""Request and response bodies of the API service (XCreate / XPublic)."""

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from services.api.freshness import Freshness
from shared import vocabulary
from shared.auth import Role
from shared.events import CountryCode, SessionId, Text200
from shared.figures import DisplayFigures, Figures
from shared.fold_state import Revisions
from shared.money import BaselineValue
from shared.vocabulary import Figure, Kind

Count = Annotated[int, Field(strict=True, ge=0, le=10**12)]


def _timezone(value: str) -> str:
    if value not in available_timezones():
        msg = "must be an IANA timezone, e.g. Asia/Shanghai"
        raise ValueError(msg)
    return value


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpoCreate(Body):
    id: SessionId
    name: Text200
    timezone: Annotated[str, AfterValidator(_timezone)] = "Asia/Shanghai"


class ExpoPublic(BaseModel):
    id: str
    name: str
    timezone: str


class SessionCreate(Body):
    id: SessionId
    ordinal: Annotated[int, Field(strict=True, ge=1, le=10_000)]
    name: Text200
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.ends_on < self.starts_on:
            msg = "ends_on must not be before starts_on"
            raise ValueError(msg)
        return self


class SessionPatch(Body):
    status: Literal["open", "closed"]


class SessionPublic(BaseModel):
    id: str
    expo_id: str
    ordinal: int
    name: str
    starts_on: date
    ends_on: date
    status: str
    opened_at: datetime | None
    closed_at: datetime | None


class BaselineBody(Body):
    """Figures of editions from before the system; give what the record gives."""

    @model_validator(mode="after")
    def _parts_fit_totals(self) -> Self:
        given = dict(self)
        for figure in vocabulary.of_kind(Kind.MEMBER):
            member, breakdown = given[figure.name], given[figure.of] or {}
            if member is not None and breakdown.get(figure.member, member) != member:
                msg = f"{figure.name} differs from {figure.of}.{figure.member}"
                raise ValueError(msg)
        for figure in vocabulary.of_kind(Kind.TOTAL):
            members = {
                m.member: given[m.name]
                for m in vocabulary.of_kind(Kind.MEMBER)
                if m.of == figure.of and given[m.name] is not None
            }
            known = sum((given[figure.of] or members).values())
            if known > given[figure.name]:
                subject = figure.of.split("_by_")[1]
                msg = f"the {figure.name} by {subject} add up to more than {figure.name}"
                raise ValueError(msg)
        return self


def _baseline_field(figure: Figure) -> tuple[Any, Any]:
    """What a baseline may give of a figure, and what it means when not given."""
    match figure.kind:
        case Kind.MONEY:
            return BaselineValue, Decimal(0)
        case Kind.MEMBER:
            return Count | None, None
        case Kind.BREAKDOWN:
            return dict.__class_getitem__((figure.members, Count)) | None, None
    return Count, 0


if TYPE_CHECKING:  # its fields are the vocabulary's, made when the module loads
    BaselineFigures = BaselineBody
else:
    BaselineFigures = create_model(
        "BaselineFigures",
        __base__=BaselineBody,
        **{f.name: _baseline_field(f) for f in vocabulary.FIGURES if f.in_history},
    )


class BaselineCreate(Body):
    label: Text200
    first_ordinal: Annotated[int, Field(strict=True, ge=1, le=10_000)]
    last_ordinal: Annotated[int, Field(strict=True, ge=1, le=10_000)]
    figures: BaselineFigures
    countries_list: list[CountryCode] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.last_ordinal < self.first_ordinal:
            msg = "last_ordinal must not be below first_ordinal"
            raise ValueError(msg)
        if self.countries_list is not None:
            listed = len(set(self.countries_list))
            if dict(self.figures)["countries"] not in (0, listed):
                msg = "figures.countries differs from the number of countries_list entries"
                raise ValueError(msg)
        return self


class BaselinePublic(BaseModel):
    id: int
    expo_id: str
    label: str
    first_ordinal: int
    last_ordinal: int
    figures: Figures
    countries_list: list[str] | None


class TokenCreate(Body):
    role: Role
    session_id: SessionId | None = None
    label: Text200 | None = None


class TokenIssued(BaseModel):
    id: str
    token: str = Field(description="Shown once; only its hash is stored.")
    role: Role
    session_id: str | None
    label: str | None


class RevisionsPublic(BaseModel):
    """Figures already shown that late events changed afterwards (docs/design.md §4)."""

    late_events: int = Field(
        description="Events folded more than EXPO_LATE_AFTER_SECONDS (120) after they "
        "occurred: uploads of desks that were offline, deals logged after the fact."
    )
    last_revised_at: datetime | None = Field(
        description="When the latest of those late events was folded; null when none."
    )
    after_close: int = Field(description="Events folded after the session closed.")

    @classmethod
    def of(cls, revisions: Revisions) -> "RevisionsPublic":
        return cls(
            late_events=revisions.late_events,
            last_revised_at=revisions.last_revised_at,
            after_close=revisions.after_close,
        )


class Totals(Freshness):
    session_id: str
    expo_id: str
    ordinal: int
    status: str
    position: str | None = Field(
        description="The newest stream entry folded into `current`. With several aggregators "
        "an older entry may still be folding: wait for one with `min_position`."
    )
    caught_up: bool = Field(
        default=True, description="False when `min_position` was not folded within 5 s."
    )
    revisions: RevisionsPublic = Field(description="Late changes to this session's figures.")
    current: Figures
    previous: Figures
    cumulative: Figures
    rejected_scans: dict[str, int] = Field(
        description="Scans refused for this session (closed, not open, another session's "
        "token, dated outside its days)."
    )


class HistoryRow(Freshness):
    """A baseline or a session; a baseline has nothing to fold (`as_of` null, 0 and 0)."""

    kind: Literal["baseline", "session"]
    label: str
    first_ordinal: int
    last_ordinal: int
    session_id: str | None = None
    status: str | None = None
    revisions: RevisionsPublic | None = Field(
        default=None, description="A session's late changes; null for a baseline."
    )
    figures: Figures
    cumulative: Figures


class History(Freshness):
    """Freshness over the sessions: the newest `as_of`, the largest lag, the sum of the
    unfolded events."""

    expo_id: str
    rows: list[HistoryRow]


class DisplaySession(BaseModel):
    id: str
    name: str
    ordinal: int
    status: str
    as_of: datetime | None
    revisions: RevisionsPublic


class Display(Freshness):
    """The shown session and the cumulative figures; the freshness is over every session
    they include."""

    expo_id: str
    expo_name: str
    editions: int = Field(description="How many editions the cumulative figures span.")
    session: DisplaySession | None
    current: DisplayFigures | None
    cumulative: DisplayFigures

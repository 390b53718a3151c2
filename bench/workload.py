"""The events the bench sends and stores: a realistic mix for one session.

Mostly check-ins of a pool of attendees (so most are repeat scans), some deals signed (a
few of them voided later) and a few exhibitors registered. The same generator makes the
JSON items posted to `events:batch` and the event objects seeded straight into SQL.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from shared.events import (
    AttendeeCheckedIn,
    DealSigned,
    DealVoided,
    Event,
    ExhibitorRegistered,
)

CATEGORIES = (
    *(["general"] * 6),
    *(["professional"] * 3),
    "exhibitor",
    "media",
    "vip",
    "delegate",
)
COUNTRIES = (*(["CN"] * 8), "HK", "MO", "TW", "US", "DE", "JP", "KR", "FR", "GB", "SG", "RU")
COUNTRIES += ("IN", "BR", "IT", "AU", "TH", "MY", "VN", "PK", "AE", "ZA", "NL", "CH", "SE")
SECTORS = (
    "artificial intelligence",
    "low-altitude economy",
    "electronic information",
    "advanced manufacturing",
    "new materials",
    "biomedicine",
    "new energy",
    "aerospace",
)
KINDS = ("contract", "agreement", "intent")
MODELS: dict[str, type[AttendeeCheckedIn | DealVoided | ExhibitorRegistered]] = {
    "attendee.checked_in": AttendeeCheckedIn,
    "deal.voided": DealVoided,
    "exhibitor.registered": ExhibitorRegistered,
}


@dataclass(frozen=True)
class Mix:
    """Shares of each kind of event; the rest are check-ins."""

    attendees: int = 100_000  # the pool of badges that are scanned (repeat scans)
    deals: float = 0.03
    voids: float = 0.003
    exhibitors: float = 0.01


class Workload:
    """A deterministic stream of event fields for one session (seeded)."""

    def __init__(self, seed: int, mix: Mix | None = None) -> None:
        self.rng = random.Random(seed)
        self.mix = mix or Mix()
        self.signed: list[str] = []
        self.exhibitors = 0
        self.deals = 0

    def fields(self) -> dict[str, Any]:
        """The fields of the next event, as posted (with `type` and a client event id)."""
        pick = self.rng.random
        roll = pick()
        mix = self.mix
        if roll < mix.deals:
            return self._deal()
        if roll < mix.deals + mix.voids and self.signed:
            deal_id = self.signed.pop(self.rng.randrange(len(self.signed)))
            return {"type": "deal.voided", "deal_id": deal_id, "reason": "entered by mistake"}
        if roll < mix.deals + mix.voids + mix.exhibitors:
            self.exhibitors += 1
            return {
                "type": "exhibitor.registered",
                "exhibitor_id": f"X{self.exhibitors:06d}",
                "name": f"Exhibitor {self.exhibitors}",
                "country": self.rng.choice(COUNTRIES),
                "projects_on_display": self.rng.randrange(0, 12),
            }
        return {  # random() is several times cheaper than randrange() and choice()
            "type": "attendee.checked_in",
            "attendee_id": f"A{int(pick() * mix.attendees):06d}",
            "category": CATEGORIES[int(pick() * len(CATEGORIES))],
            "country": COUNTRIES[int(pick() * len(COUNTRIES))],
            "desk_id": f"desk-{int(pick() * 40):02d}",
        }

    def _deal(self) -> dict[str, Any]:
        self.deals += 1
        deal_id = f"D{self.deals:07d}"
        self.signed.append(deal_id)
        item = {
            "type": "deal.signed",
            "deal_id": deal_id,
            "title": f"Project {deal_id}",
            "kind": self.rng.choice(KINDS),
            "amount": f"{self.rng.randrange(1, 50_000) * 10_000}.00",
        }
        if self.rng.random() < 0.5:
            item["counterparty_country"] = self.rng.choice(COUNTRIES)
        item["sector"] = SECTORS[int(self.rng.random() * len(SECTORS))]
        if self.exhibitors and self.rng.random() < 0.5:
            item["exhibitor_id"] = f"X{int(self.rng.random() * self.exhibitors) + 1:06d}"
        return item

    def item(self, session_id: str) -> dict[str, Any]:
        """An `events:batch` item (JSON-ready), with its own event id."""
        return {**self.fields(), "session_id": session_id, "event_id": str(self.uuid())}

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def draw(self) -> tuple[dict[str, Any], UUID]:
        """The fields of the next event and its id, without building it."""
        fields = self.fields()
        return fields, self.uuid()

    def event(self, session_id: str, at: datetime, source: str) -> Event:
        """The event ingest would have made of the next item, accepted at `at`."""
        fields, event_id = self.draw()
        return build(fields, event_id, session_id, at, source)


def key_of(fields: dict[str, Any]) -> str:
    """The record an event's fold touches: its attendee, deal or exhibitor."""
    for name in ("attendee_id", "deal_id", "exhibitor_id"):
        if name in fields:
            return str(fields[name])
    msg = f"no key in {fields}"
    raise ValueError(msg)


def build(
    fields: dict[str, Any], event_id: UUID, session_id: str, at: datetime, source: str
) -> Event:
    """The event of drawn fields, as ingest would have accepted it at `at`."""
    values = {
        **fields,
        "event_id": event_id,
        "session_id": session_id,
        "occurred_at": at,
        "recorded_at": at + timedelta(milliseconds=40),
        "source": source,
    }
    kind = values.pop("type")
    if kind == "deal.signed":
        return DealSigned(**values, amount_cny=values["amount"])
    made: Event = MODELS[kind](**values)
    return made

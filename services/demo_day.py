"""The simulated expo day of `expo demo`: desks scanning badges (some people inside, some
repeat visits, an offline gate that uploads late), a signing ceremony, exhibitors."""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.demo import DemoPlan

SESSION_ID = "demo-hitech-expo-5"
COUNTRIES = ["CN"] * 20 + ["HK", "MO", "TW", "DE", "ID", "JP", "FR", "SG", "RU", "BR"]
CATEGORIES = ["general"] * 6 + ["professional"] * 3 + ["exhibitor", "media", "vip", "delegate"]
SECTORS = ["artificial intelligence", "low-altitude economy", "new materials", "medical devices"]


def _new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


@dataclass
class Day:
    """The state of the simulated day: who is inside, what an offline desk holds back."""

    rng: random.Random
    inside: list[str] = field(default_factory=list)
    offline: list[dict[str, Any]] = field(default_factory=list)
    deals: list[str] = field(default_factory=list)
    exhibitors: int = 0
    run: str = ""  # in the ids of this run's deals and exhibitors

    def __post_init__(self) -> None:
        self.run = self.run or f"{self.rng.getrandbits(24):06x}"

    def scan(self) -> dict[str, Any]:
        """Mostly entries (some of them repeat visits), some exits of people inside."""
        rng = self.rng
        leaving = self.inside and rng.random() < 0.25
        badge = self.inside.pop(rng.randrange(len(self.inside))) if leaving else None
        if badge is None:
            repeat = self.inside and rng.random() < 0.1
            badge = rng.choice(self.inside) if repeat else f"badge-{rng.randint(1, 50_000):06d}"
            self.inside.append(badge)
        return {
            "type": "attendee.checked_in",
            "session_id": SESSION_ID,
            "event_id": _new_id(rng),
            "occurred_at": datetime.now(UTC).isoformat(),
            "attendee_id": badge,
            "category": rng.choice(CATEGORIES),
            "country": rng.choice(COUNTRIES),
            "desk_id": f"gate-{rng.randint(1, 12)}",
            "direction": "exit" if leaving else "entry",
        }

    def deal(self) -> dict[str, Any]:
        rng = self.rng
        deal_id = f"demo-deal-{self.run}-{len(self.deals) + 1:05d}"
        self.deals.append(deal_id)
        return {
            "type": "deal.signed",
            "session_id": SESSION_ID,
            "event_id": _new_id(rng),
            "deal_id": deal_id,
            "title": f"{rng.choice(SECTORS)} project",
            "kind": rng.choice(["contract", "contract", "agreement", "intent"]),
            "amount": f"{rng.randint(10, 3000) * 1_000_000}.00",
            "sector": rng.choice(SECTORS),
            "counterparty_country": rng.choice(COUNTRIES),
        }

    def void(self) -> dict[str, Any]:
        return {
            "type": "deal.voided",
            "session_id": SESSION_ID,
            "event_id": _new_id(self.rng),
            "deal_id": self.rng.choice(self.deals),
            "reason": "entered twice on stage",
        }

    def exhibitor(self) -> dict[str, Any]:
        self.exhibitors += 1
        return {
            "type": "exhibitor.registered",
            "session_id": SESSION_ID,
            "event_id": _new_id(self.rng),
            "exhibitor_id": f"demo-exhibitor-{self.run}-{self.exhibitors:04d}",
            "name": f"Exhibitor {self.exhibitors}",
            "country": self.rng.choice(COUNTRIES),
            "projects_on_display": self.rng.randint(1, 12),
        }

    def moment(self, plan: "DemoPlan") -> list[dict[str, Any]]:
        """What happens in one tick: events to post now (an offline desk keeps its own)."""
        rng, now = self.rng, [self.scan()]
        if rng.random() < 0.1:  # gate 13 is offline: its scans upload late, in one batch
            self.offline.append(now.pop())
        if len(self.offline) >= 25:
            now += self.offline
            self.offline = []
        if rng.random() < 1 / (plan.seconds_per_deal * plan.checkins_per_second):
            now.append(self.void() if self.deals and rng.random() < 0.1 else self.deal())
        if rng.random() < 0.02:
            now.append(self.exhibitor())
        return now

"""`expo demo`: a simulated expo day, so a display moves. Desks post check-ins and a
signing ceremony logs deals at realistic rates, over the real HTTP API."""

import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from shared import auth, runtime
from shared.settings import Settings

logger = logging.getLogger(__name__)

EXPO_ID = "demo-hitech-expo"
SESSION_ID = "demo-hitech-expo-5"
COUNTRIES = ["CN"] * 20 + ["HK", "MO", "TW", "DE", "ID", "JP", "FR", "SG", "RU", "BR"]
CATEGORIES = ["general"] * 6 + ["professional"] * 3 + ["exhibitor", "media", "vip", "delegate"]
SECTORS = ["artificial intelligence", "low-altitude economy", "new materials", "medical devices"]


@dataclass(frozen=True)
class DemoPlan:
    checkins_per_second: float = 20.0
    seconds_per_deal: float = 3.0
    duration: float | None = None  # run until interrupted when None
    seed: int = 13


class Client:
    def __init__(self, settings: Settings, token: str) -> None:
        host = "127.0.0.1" if settings.bind_host in ("0.0.0.0", "::") else settings.bind_host  # noqa: S104
        self.api = f"http://{host}:{settings.api_port}"
        self.ingest = f"http://{host}:{settings.ingest_port}"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, url: str, body: dict[str, Any]) -> int:
        request = urllib.request.Request(  # noqa: S310 - our own services
            url, json.dumps(body).encode(), self.headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def batch(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - our own services
            f"{self.ingest}/v1/events:batch",
            json.dumps({"events": events}).encode(),
            self.headers,
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            results: list[dict[str, Any]] = json.loads(response.read())["results"]
        return results


def _admin_token(settings: Settings) -> str:
    if settings.admin_token:
        return settings.admin_token
    issued = auth.issue(auth.Role.ADMIN, label="expo demo")
    with Session(runtime.engine(settings)) as db:
        db.add(issued.record)
        db.commit()
    return issued.secret


def _set_up(client: Client) -> None:
    """The demo expo, its four earlier editions as a baseline, and an open session."""
    today = datetime.now(UTC).date()
    client.call("POST", f"{client.api}/v1/expos", {"id": EXPO_ID, "name": "Demo High-Tech Expo"})
    client.call(
        "POST",
        f"{client.api}/v1/expos/{EXPO_ID}/baselines",
        {
            "label": "The four previous sessions",
            "first_ordinal": 1,
            "last_ordinal": 4,
            "figures": {
                "deals": 2107,
                "deal_value_cny": "345000000000.00",
                "countries": 56,
                "exhibitors": 3088,
                "projects_on_display": 6899,
                "attendees": 1960000,
                "professional_attendees": 270000,
            },
        },
    )
    client.call(
        "POST",
        f"{client.api}/v1/expos/{EXPO_ID}/sessions",
        {
            "id": SESSION_ID,
            "ordinal": 5,
            "name": "The 5th session",
            # Running today: check-ins are taken only on a session's days, a day either side.
            "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=2)).isoformat(),
        },
    )
    client.call("PATCH", f"{client.api}/v1/sessions/{SESSION_ID}", {"status": "open"})


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
        deal_id = f"demo-deal-{len(self.deals) + 1:05d}"
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
            "exhibitor_id": f"demo-exhibitor-{self.exhibitors:04d}",
            "name": f"Exhibitor {self.exhibitors}",
            "country": self.rng.choice(COUNTRIES),
            "projects_on_display": self.rng.randint(1, 12),
        }

    def moment(self, plan: DemoPlan) -> list[dict[str, Any]]:
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


def run(settings: Settings, plan: DemoPlan) -> dict[str, int]:
    """Post until the duration is over (or Ctrl-C); returns what was accepted."""
    client = Client(settings, _admin_token(settings))
    _set_up(client)
    day = Day(random.Random(plan.seed))  # noqa: S311 - a simulation, not a secret
    posted: Counter[str] = Counter()
    started = time.monotonic()
    print(f"demo: posting to session {SESSION_ID}; watch {client.api}/display/{EXPO_ID}")  # noqa: T201
    try:
        while plan.duration is None or time.monotonic() - started < plan.duration:
            events = day.moment(plan)
            if events:
                results = client.batch(events)
                posted.update(r["status"] for r in results)
            time.sleep(day.rng.expovariate(plan.checkins_per_second))
    except KeyboardInterrupt:
        pass
    print(f"demo: {dict(posted)}")  # noqa: T201
    return dict(posted)

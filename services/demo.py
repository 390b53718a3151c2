"""`expo demo`: a simulated expo day, so a display moves. Desks post check-ins and a
signing ceremony logs deals at realistic rates, over the real HTTP API."""

import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
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
            "starts_on": "2026-11-21",
            "ends_on": "2026-11-24",
        },
    )
    client.call("PATCH", f"{client.api}/v1/sessions/{SESSION_ID}", {"status": "open"})


def _checkin(rng: random.Random) -> dict[str, Any]:
    return {
        "session_id": SESSION_ID,
        "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "attendee_id": f"badge-{rng.randint(1, 50_000):06d}",
        "category": rng.choice(CATEGORIES),
        "country": rng.choice(COUNTRIES),
        "desk_id": f"gate-{rng.randint(1, 12)}",
    }


def _deal(rng: random.Random, number: int) -> dict[str, Any]:
    return {
        "session_id": SESSION_ID,
        "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "deal_id": f"demo-deal-{number:05d}",
        "title": f"{rng.choice(SECTORS)} project",
        "kind": rng.choice(["contract", "contract", "agreement", "intent"]),
        "amount": f"{rng.randint(10, 3000) * 1_000_000}.00",
        "sector": rng.choice(SECTORS),
        "counterparty_country": rng.choice(COUNTRIES),
    }


def run(settings: Settings, plan: DemoPlan) -> dict[str, int]:
    """Post until the duration is over (or Ctrl-C); returns what was accepted."""
    client = Client(settings, _admin_token(settings))
    _set_up(client)
    rng = random.Random(plan.seed)  # noqa: S311 - a simulation, not a secret
    posted = {"checkins": 0, "deals": 0, "refused": 0}
    started = time.monotonic()
    next_deal = started
    print(f"demo: posting to session {SESSION_ID}; watch {client.api}/v1/display/{EXPO_ID}")  # noqa: T201
    try:
        while plan.duration is None or time.monotonic() - started < plan.duration:
            status = client.call("POST", f"{client.ingest}/v1/checkins", _checkin(rng))
            posted["checkins" if status == 202 else "refused"] += 1
            if time.monotonic() >= next_deal:
                deal = _deal(rng, posted["deals"] + 1)
                status = client.call("POST", f"{client.ingest}/v1/deals", deal)
                posted["deals" if status == 202 else "refused"] += 1
                next_deal += rng.expovariate(1 / plan.seconds_per_deal)
            time.sleep(rng.expovariate(plan.checkins_per_second))
    except KeyboardInterrupt:
        pass
    print(f"demo: {posted}")  # noqa: T201
    return posted

"""Debian's Chromium driven by Playwright, and an expo with data for the pages to show.

Chromium comes from the Debian package (`make browser`); nothing is downloaded at test time.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
from playwright.sync_api import Browser, Playwright

from shared import embedded_redis
from tests.conftest import ADMIN_TOKEN, new_id
from tests.e2e.conftest import PORTS, Services, create, free_port
from tests.seeds import FOUR_PREVIOUS_SESSIONS
from tests.wait import wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
EXPO_NAME = "中国（绵阳）科技城国际科技博览会"  # noqa: RUF001 - Chinese brackets are right here
SESSION_NAME = "第五届科博会"


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@contextmanager
def running(directory: Path, database_url: str) -> Iterator[Services]:
    """The three services as processes on free ports, with the embedded Redis, over a
    migrated database."""
    redis = embedded_redis.start(directory / "var")
    env = {
        **os.environ,
        "EXPO_DATABASE_URL": database_url,
        "EXPO_REDIS_URL": embedded_redis.url_of(redis),
        "EXPO_ADMIN_TOKEN": ADMIN_TOKEN,
        "EXPO_CONSUMER_NAME": new_id("aggregator"),
        "EXPO_READ_BLOCK_MS": "50",
        "EXPO_LOG_LEVEL": "WARNING",
        **{variable: str(free_port()) for variable in PORTS.values()},
    }
    stack = Services(env, directory)
    try:
        for name in PORTS:
            stack.spawn(name)
        for name in PORTS:
            wait_until(partial(stack.ready, name), timeout=60, what=f"{name} to be ready")
        yield stack
    finally:
        stack.stop_all()
        redis.stop()


@dataclass(frozen=True)
class Expo:
    """An expo with the four previous sessions as a baseline and its 5th session open."""

    api: httpx2.Client
    ingest: httpx2.Client
    expo_id: str
    session_id: str

    def token(self, role: str, *, bound: bool = True) -> str:
        body = {"role": role, "session_id": self.session_id if bound else None}
        return str(create(self.api, "/v1/tokens", body)["token"])

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Post an event as the admin; the answer must be 202."""
        response = self.ingest.post(
            path, json={"session_id": self.session_id, **body}, headers=ADMIN
        )
        assert response.status_code == 202, response.text
        accepted: dict[str, Any] = response.json()
        return accepted

    def checkin(self, attendee: str, category: str = "general", country: str = "CN") -> None:
        self.post(
            "/v1/checkins", {"attendee_id": attendee, "category": category, "country": country}
        )

    def deal(self, amount: str, title: str = "Satellite ground-station line") -> str:
        """Sign a deal in CNY; returns the stream position of the event."""
        body = {"deal_id": new_id("D"), "title": title, "kind": "contract", "amount": amount}
        return str(self.post("/v1/deals", body)["position"])

    def settled(self, position: str) -> dict[str, Any]:
        """The totals once the aggregator has folded everything up to `position`."""
        return wait_until(
            lambda: (totals := self.totals(position))["caught_up"] and totals,
            timeout=30,
            what=f"position {position} to be folded",
        )

    def totals(self, min_position: str | None = None) -> dict[str, Any]:
        params = {"min_position": min_position} if min_position else {}
        response = self.api.get(f"/v1/sessions/{self.session_id}/totals", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def current(self, figure: str) -> Any:
        return self.totals()["current"][figure]

    def wait_for(self, figure: str, value: Any, timeout: float = 15) -> None:
        wait_until(
            lambda: self.current(figure) == value, timeout=timeout, what=f"{figure} == {value}"
        )


def open_expo(api: httpx2.Client, ingest: httpx2.Client, name: str = EXPO_NAME) -> Expo:
    expo = create(api, "/v1/expos", {"id": new_id("mianyang"), "name": name})
    create(api, f"/v1/expos/{expo['id']}/baselines", FOUR_PREVIOUS_SESSIONS)
    session = create(
        api,
        f"/v1/expos/{expo['id']}/sessions",
        {
            "id": new_id("mianyang-5"),
            "ordinal": 5,
            "name": SESSION_NAME,
            "starts_on": "2017-11-16",
            "ends_on": "2017-11-19",
        },
    )
    opened = api.patch(f"/v1/sessions/{session['id']}", json={"status": "open"}, headers=ADMIN)
    assert opened.status_code == 200, opened.text
    return Expo(api, ingest, expo["id"], session["id"])


def busy_day(expo: Expo, attendees: int) -> None:
    """A morning at the fair in one batch: check-ins from several places, some exits,
    exhibitors, and a few signed deals."""
    countries = ["CN", "CN", "CN", "HK", "TW", "DE", "RU", "JP", "KR", "US", "FR", "SG"]
    categories = ["general", "general", "professional", "exhibitor", "media", "vip"]
    start = datetime.now(UTC) - timedelta(hours=3)
    events: list[dict[str, Any]] = []
    for n in [*range(attendees), *range(0, attendees, 6)]:  # every 6th has left again
        events.append(
            {
                "type": "attendee.checked_in",
                "session_id": expo.session_id,
                "attendee_id": f"A-{n:06d}",
                "category": categories[n % len(categories)],
                "country": countries[n % len(countries)],
                "occurred_at": (start + timedelta(seconds=len(events))).isoformat(),
                "direction": "exit" if len(events) >= attendees else "entry",
            }
        )
    for n in range(40):
        events.append(
            {
                "type": "exhibitor.registered",
                "session_id": expo.session_id,
                "exhibitor_id": f"E-{n:04d}",
                "name": f"Exhibitor {n}",
                "country": countries[n % len(countries)],
                "projects_on_display": 3,
            }
        )
    for chunk in range(0, len(events), 1000):
        response = expo.ingest.post(
            "/v1/events:batch", json={"events": events[chunk : chunk + 1000]}, headers=ADMIN
        )
        assert response.status_code == 200, response.text

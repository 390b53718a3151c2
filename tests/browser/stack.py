"""Debian's Chromium driven by Playwright, and an expo with data for the pages to show.

Chromium comes from the Debian package (`make browser`); nothing is downloaded at test time.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
from playwright.sync_api import Browser, Playwright

from shared import embedded_redis
from tests.conftest import ADMIN_TOKEN, new_id, running_days
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
EXPO_NAME = "中国（绵阳）科技城国际科技博览会"
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

    def deal(
        self, amount: str, title: str = "Satellite ground-station line", sector: str | None = None
    ) -> str:
        """Sign a deal in CNY; returns the stream position of the event."""
        body = {"deal_id": new_id("D"), "title": title, "kind": "contract", "amount": amount}
        return str(
            self.post("/v1/deals", body | ({"sector": sector} if sector else {}))["position"]
        )

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
            **running_days(),
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


@dataclass(frozen=True)
class Editions:
    """An expo with the four previous sessions as a baseline, its 5th session run and
    closed, and its 6th open: check-ins and deals hour by hour, in Mianyang's time."""

    expo_id: str
    fifth: str
    sixth: str
    hourly: dict[str, dict[int, int]]  # session -> hours into its run -> check-ins that hour
    deal_value: dict[str, dict[int, int]]  # session -> hours into its run -> yuan signed


# Deals signed (hour into the run, whole yuan) at the 5th and 6th sessions.
FIFTH_DEALS = [(10, 1_200_000_000), (14, 3_550_000_000), (34, 800_000_000), (37, 2_100_000_000)]
SIXTH_DEALS = [(10, 2_400_000_000), (11, 650_000_000), (15, 4_200_000_000), (35, 1_000_000_000)]


MIANYANG = timezone(timedelta(hours=8), "CST")
FIFTH_STARTS = datetime(2017, 11, 16, tzinfo=MIANYANG)
SIXTH_STARTS = datetime(2018, 11, 15, tzinfo=MIANYANG)


def _scans(
    session_id: str, starts: datetime, hours: list[int], per_hour: int
) -> list[dict[str, Any]]:
    """`per_hour + hour % 5` entries in each of `hours` (hours into the run, local time)."""
    events = []
    for hour in hours:
        day, clock = divmod(hour, 24)
        at = starts + timedelta(days=day, hours=clock)
        for n in range(per_hour + hour % 5):
            events.append(
                {
                    "type": "attendee.checked_in",
                    "session_id": session_id,
                    "attendee_id": f"{session_id}-{hour:03d}-{n:03d}",
                    "category": "professional" if n % 4 == 0 else "general",
                    "country": "CN" if n % 7 else "DE",
                    "occurred_at": (at + timedelta(seconds=n)).isoformat(),
                }
            )
    return events


def _deals(session_id: str, starts: datetime, deals: list[tuple[int, int]]) -> list[dict[str, Any]]:
    return [
        {
            "type": "deal.signed",
            "session_id": session_id,
            "deal_id": f"{session_id}-D{n}",
            "title": f"Signed project {n}",
            "kind": "contract",
            "amount": f"{amount}.00",
            "occurred_at": (starts + timedelta(hours=hour, minutes=30)).isoformat(),
        }
        for n, (hour, amount) in enumerate(deals)
    ]


def _session(api: httpx2.Client, expo_id: str, ordinal: int, starts: datetime) -> str:
    session = create(
        api,
        f"/v1/expos/{expo_id}/sessions",
        {
            "id": new_id(f"mianyang-{ordinal}"),
            "ordinal": ordinal,
            "name": f"第{'五六'[ordinal - 5]}届科博会",
            "starts_on": starts.date().isoformat(),
            "ends_on": (starts + timedelta(days=3)).date().isoformat(),
        },
    )
    opened = api.patch(f"/v1/sessions/{session['id']}", json={"status": "open"}, headers=ADMIN)
    assert opened.status_code == 200, opened.text
    return str(session["id"])


def _post_all(ingest: httpx2.Client, events: list[dict[str, Any]]) -> str:
    """Post in batches; returns the stream position of the last event."""
    position = ""
    for chunk in range(0, len(events), 1000):
        response = ingest.post(
            "/v1/events:batch", json={"events": events[chunk : chunk + 1000]}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        position = str(response.json()["results"][-1]["position"])
    return position


def editions(api: httpx2.Client, ingest: httpx2.Client) -> Editions:
    expo = create(api, "/v1/expos", {"id": new_id("mianyang"), "name": EXPO_NAME})
    create(api, f"/v1/expos/{expo['id']}/baselines", FOUR_PREVIOUS_SESSIONS)
    fifth = _session(api, expo["id"], 5, FIFTH_STARTS)
    days = [*range(9, 18), *range(24 + 9, 24 + 18)]  # 09:00-17:59 on days 1 and 2
    last_year = _scans(fifth, FIFTH_STARTS, days, 30)
    _folded(api, fifth, _post_all(ingest, last_year + _deals(fifth, FIFTH_STARTS, FIFTH_DEALS)))
    closed = api.patch(f"/v1/sessions/{fifth}", json={"status": "closed"}, headers=ADMIN)
    assert closed.status_code == 200, closed.text
    sixth = _session(api, expo["id"], 6, SIXTH_STARTS)
    this_year = _scans(sixth, SIXTH_STARTS, [*range(9, 18), *range(24 + 9, 24 + 14)], 36)
    _folded(api, sixth, _post_all(ingest, this_year + _deals(sixth, SIXTH_STARTS, SIXTH_DEALS)))
    return Editions(
        expo["id"],
        fifth,
        sixth,
        {fifth: _per_hour(last_year, FIFTH_STARTS), sixth: _per_hour(this_year, SIXTH_STARTS)},
        {fifth: dict(FIFTH_DEALS), sixth: dict(SIXTH_DEALS)},
    )


def _folded(api: httpx2.Client, session_id: str, position: str) -> None:
    def caught_up() -> bool:
        params = {"min_position": position}
        response = api.get(f"/v1/sessions/{session_id}/totals", params=params)
        return bool(response.json()["caught_up"])

    wait_until(caught_up, timeout=30, what=f"{session_id} to be folded up to {position}")


def _per_hour(events: list[dict[str, Any]], starts: datetime) -> dict[int, int]:
    """Check-ins per hour into the run: the reference the page's charts are held to."""
    counted: dict[int, int] = {}
    for event in events:
        hour = (datetime.fromisoformat(event["occurred_at"]) - starts) // timedelta(hours=1)
        counted[hour] = counted.get(hour, 0) + 1
    return counted

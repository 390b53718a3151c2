"""`expo demo`: a simulated expo day, so a display moves. Desks post check-ins and a
signing ceremony logs deals at realistic rates, over the real HTTP API."""

import json
import logging
import random
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from services.console import FAILED, refuse
from services.demo_day import SESSION_ID, Day
from services.operator import tell_ingest
from shared import auth, runtime
from shared.settings import Settings
from shared.tables import ApiToken, ExpoSession

logger = logging.getLogger(__name__)

EXPO_ID = "demo-hitech-expo"
TOKEN_LABEL = "expo demo"  # noqa: S105 - the label of the demo's one token, not a secret


@dataclass(frozen=True)
class DemoPlan:
    checkins_per_second: float = 20.0
    seconds_per_deal: float = 3.0
    duration: float | None = None  # run until interrupted when None
    seed: int | None = None  # a new day each run: event ids are never sent twice


class Client:
    """The API and ingest over HTTP; any failure ends the demo with one line."""

    def __init__(self, settings: Settings) -> None:
        host = "127.0.0.1" if settings.bind_host in ("0.0.0.0", "::") else settings.bind_host  # noqa: S104
        self.api = f"http://{host}:{settings.api_port}"
        self.ingest = f"http://{host}:{settings.ingest_port}"
        self.headers = {"Content-Type": "application/json"}

    def reach(self) -> None:
        """Refuse at once (exit 2) when the services are not running."""
        for name, base in (("API", self.api), ("ingest", self.ingest)):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5):  # noqa: S310
                    pass
            except OSError:
                refuse(f"no {name} answers at {base} — start `expo up` first")

    def call(self, method: str, url: str, body: Any, taken: int | None = None) -> Any:
        """The answer's JSON; an answer `taken` (e.g. 409, already there) is accepted too."""
        request = urllib.request.Request(  # noqa: S310 - our own services
            url, json.dumps(body).encode(), self.headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == taken:
                return None
            detail = json.loads(error.read() or b"{}").get("detail", error.reason)
            refuse(f"{method} {url} answered {error.code}: {detail}", FAILED)
        except OSError as error:
            refuse(f"{method} {url} failed: {error}", FAILED)

    def batch(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answer = self.call("POST", f"{self.ingest}/v1/events:batch", {"events": events})
        results: list[dict[str, Any]] = answer["results"]
        return results


@contextmanager
def _token(settings: Settings) -> Iterator[str]:
    """EXPO_ADMIN_TOKEN when set; otherwise the demo's own admin token, issued afresh (only
    a hash of a secret is kept, so an earlier one cannot be reused) and revoked at exit."""
    if settings.admin_token:
        yield settings.admin_token
        return
    engine = runtime.engine(settings)
    try:
        issued = _replace_token(engine)
    except SQLAlchemyError as error:
        refuse(f"cannot issue the demo's token in {engine.url!r}: {error.__class__.__name__}")
    tell_ingest(settings)
    try:
        yield issued.secret
    finally:
        with Session(engine) as db:
            db.exec(
                update(ApiToken)
                .where(col(ApiToken.id) == issued.id)
                .values(revoked_at=datetime.now(UTC))
            )
            db.commit()
        tell_ingest(settings)
        engine.dispose()


def _replace_token(engine: Engine) -> auth.IssuedToken:
    """Delete the tokens of earlier runs (no table refers to a token; events name the token
    they came through by its id, as text) and issue this run's."""
    issued = auth.issue(auth.Role.ADMIN, label=TOKEN_LABEL)
    with Session(engine) as db:
        db.exec(delete(ApiToken).where(col(ApiToken.label) == TOKEN_LABEL))
        db.add(issued.record)
        db.commit()
    return issued


def _cover_today(settings: Settings, today: date) -> None:
    """Check-ins are taken only on a session's days: a demo session made on an earlier day
    is stretched to cover today (and a day either side), so its posts are not refused."""
    engine = runtime.engine(settings)
    with Session(engine) as db:
        session = db.get(ExpoSession, SESSION_ID)
        if session is None or session.starts_on < today < session.ends_on:
            return
        days = min(session.starts_on, today - timedelta(days=1)), today + timedelta(days=2)
        session.starts_on, session.ends_on = days[0], max(session.ends_on, days[1])
        db.add(session)
        db.commit()
    engine.dispose()
    tell_ingest(settings)
    print(f"demo: session {SESSION_ID} now runs from {days[0]} to at least {days[1]}")  # noqa: T201


def _set_up(client: Client, today: date) -> None:
    """The demo expo, its four earlier editions as a baseline, and an open session."""
    expo = {"id": EXPO_ID, "name": "Demo High-Tech Expo"}
    client.call("POST", f"{client.api}/v1/expos", expo, taken=409)
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
        taken=409,
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
        taken=409,
    )
    client.call("PATCH", f"{client.api}/v1/sessions/{SESSION_ID}", {"status": "open"}, taken=409)


def run(settings: Settings, plan: DemoPlan) -> dict[str, int]:
    """Post until the duration is over (or Ctrl-C, or SIGTERM); returns what was accepted
    and refused, by status and reason."""
    client = Client(settings)
    client.reach()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as Ctrl-C does
    posted: Counter[str] = Counter()
    try:
        with _token(settings) as token:
            client.headers["Authorization"] = f"Bearer {token}"
            today = datetime.now(UTC).date()
            _set_up(client, today)
            _cover_today(settings, today)
            print(f"demo: posting to session {SESSION_ID}; watch {client.api}/display/{EXPO_ID}")  # noqa: T201
            _post(client, plan, posted)
    except KeyboardInterrupt:
        pass
    refused = sum(n for status, n in posted.items() if status != "accepted")
    print(f"demo: {posted['accepted']} events accepted, {refused} refused")  # noqa: T201
    if refused and not posted["accepted"]:
        refuse(f"ingest refused every event ({', '.join(sorted(posted))})", FAILED)
    return dict(posted)


def _post(client: Client, plan: DemoPlan, posted: Counter[str]) -> None:
    """The simulated day, until the plan's duration is over; each reason ingest refuses
    events for is said the first time it comes up."""
    day = Day(random.Random(plan.seed))  # noqa: S311 - a simulation, not a secret
    started = time.monotonic()
    while plan.duration is None or time.monotonic() - started < plan.duration:
        for result in client.batch(events) if (events := day.moment(plan)) else []:
            status = result["status"] if result["status"] == "accepted" else result["reason"]
            if status not in posted and status != "accepted":
                message = (result.get("errors") or [{}])[0].get("msg", "")
                print(f"demo: ingest refuses events: {status}: {message}")  # noqa: T201
            posted[status] += 1
        time.sleep(day.rng.expovariate(plan.checkins_per_second))

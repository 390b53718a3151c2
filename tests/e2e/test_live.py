"""Live push over real HTTP: SSE totals on change, heartbeats, Last-Event-ID, 500 screens."""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from tests.e2e.conftest import ADMIN, Services, open_session

CLIENTS = 500


def check_in(services: Services, session: str, attendee: str) -> None:
    body = {"session_id": session, "attendee_id": attendee, "category": "general", "country": "CN"}
    response = services.client("ingest").post("/v1/checkins", json=body, headers=ADMIN)
    assert response.status_code == 202


class Reader:
    """Reads one SSE body message by message ({"id", "event", "data"} or {"comment"})."""

    def __init__(self, response: httpx2.Response) -> None:
        self.lines = response.aiter_lines()
        self.seen: list[dict[str, str]] = []

    async def next(self) -> dict[str, str]:
        message: dict[str, str] = {}
        async for line in self.lines:
            if line.startswith(":"):
                message = {"comment": line[1:].strip()}
            elif line:
                name, _, value = line.partition(":")
                message[name] = value.removeprefix(" ")
                continue
            if message:
                self.seen.append(message)
                return message
        raise AssertionError("the stream ended")

    async def totals(self, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            message = await self.next()
            if message.get("event") == "totals":
                totals: dict[str, Any] = json.loads(message["data"])
                if condition(totals):
                    return totals

    async def heartbeat(self) -> dict[str, str]:
        while (message := await self.next()).get("event") != "heartbeat":
            pass
        return message


def any_totals(_: dict[str, Any]) -> bool:
    return True


def test_the_stream_pushes_totals_on_every_change_and_heartbeats(services: Services) -> None:
    session = open_session(services)
    url = f"{services.url('api')}/v1/sessions/{session}/stream"

    async def scenario() -> None:
        async with httpx2.AsyncClient(timeout=30) as client:
            async with client.stream("GET", url, params={"heartbeat": 1}) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                reader = Reader(response)
                first = await asyncio.wait_for(reader.totals(any_totals), 10)
                assert first["current"]["checkins"] == 0
                posted = time.monotonic()
                await asyncio.to_thread(check_in, services, session, "A1")
                changed = await asyncio.wait_for(
                    reader.totals(lambda t: t["current"]["checkins"] == 1), 10
                )
                assert time.monotonic() - posted < 2.0
                assert changed["current"]["inside_now"] == 1
                beat = await asyncio.wait_for(reader.heartbeat(), 3)
                fresh = {"as_of": changed["as_of"], "lag_seconds": 0.0, "unfolded": 0}
                assert json.loads(beat["data"]) == fresh  # all folded, as of the check-in
                last_id = [m["id"] for m in reader.seen if m.get("event") == "totals"][-1]
            # Reconnecting with the last id: no repeat of totals the screen already shows.
            headers = {"Last-Event-ID": last_id}
            async with client.stream("GET", url, params={"heartbeat": 1}, headers=headers) as again:
                resumed = Reader(again)
                assert await asyncio.wait_for(resumed.next(), 5) == {"retry": "2000"}
                again_beat = await asyncio.wait_for(resumed.next(), 5)
                assert again_beat["event"] == "heartbeat"
                assert json.loads(again_beat["data"]) == fresh

    asyncio.run(scenario())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_five_hundred_screens_each_receive_every_change(services: Services) -> None:
    session = open_session(services)
    url = f"{services.url('api')}/v1/sessions/{session}/stream"
    results: list[float] = []

    async def screen(client: httpx2.AsyncClient, ready: asyncio.Event, counter: list[int]) -> None:
        async with client.stream("GET", url) as response:
            reader = Reader(response)
            await reader.totals(any_totals)
            counter[0] += 1
            if counter[0] == CLIENTS:
                ready.set()
            await reader.totals(lambda t: t["current"]["checkins"] == 1)
            results.append(time.monotonic())

    async def scenario() -> float:
        limits = httpx2.Limits(max_connections=CLIENTS + 10)
        async with httpx2.AsyncClient(timeout=60, limits=limits) as client:
            ready, counter = asyncio.Event(), [0]
            screens = [asyncio.create_task(screen(client, ready, counter)) for _ in range(CLIENTS)]
            await asyncio.wait_for(ready.wait(), 60)
            posted = time.monotonic()
            await asyncio.to_thread(check_in, services, session, "A1")
            await asyncio.wait_for(asyncio.gather(*screens), 30)
            return max(results) - posted

    slowest = asyncio.run(scenario())
    print(
        f"\nSSE: {len(results)} of {CLIENTS} screens got the change; slowest after {slowest:.2f}s"
    )
    assert len(results) == CLIENTS

"""The async load generator, run as its own process: `python -m bench.load MODE SPEC_JSON`
prints one JSON document of figures.

Modes:
- `batch`: post N events through `events:batch` (a few concurrent clients); events/s.
  With `"visible": true`, then poll the totals until all of it is visible (end to end).
- `fresh`: offer a fixed rate on a schedule while polling the totals; for each batch, the
  time from its answer to the first poll showing its position.
- `latency`: sequential reads of some sessions, interleaved (their totals, or the `path`
  given, `{session}` in it); p50/p99 each.
"""

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.workload import Workload

Position = tuple[int, int]


def position_of(text: str | None) -> Position:
    if not text:
        return (0, 0)
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def percentile(values: list[float], share: float) -> float:
    """Nearest rank; `share` in 0..1."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def bodies(spec: dict[str, Any], count: int) -> list[bytes]:
    workload = Workload(spec.get("seed", 1))
    size, session = spec["batch_size"], spec["session_id"]
    return [
        json.dumps(
            {"events": [workload.item(session) for _ in range(min(size, count - n))]}
        ).encode()
        for n in range(0, count, size)
    ]


@dataclass
class Posted:
    accepted: int = 0
    rejected: int = 0
    refused: int = 0  # whole batches answered with an error (fresh mode goes on)
    newest: Position = (0, 0)
    acks: list[tuple[float, Position]] = field(default_factory=list)

    def add(self, answer: dict[str, Any]) -> None:
        results = answer["results"]
        accepted = [r for r in results if r["status"] == "accepted"]
        self.accepted += len(accepted)
        self.rejected += len(results) - len(accepted)
        newest = max((position_of(r["position"]) for r in accepted), default=(0, 0))
        self.newest = max(self.newest, newest)
        self.acks.append((time.perf_counter(), newest))


async def post_one(http: aiohttp.ClientSession, spec: dict[str, Any], body: bytes) -> Any:
    headers = {"Authorization": f"Bearer {spec['token']}", "Content-Type": "application/json"}
    async with http.post(spec["ingest"] + "/v1/events:batch", data=body, headers=headers) as r:
        data = await r.read()
        if r.status != 200:
            msg = f"events:batch answered {r.status}: {data[:300]!r}"
            raise RuntimeError(msg)
    return json.loads(data)


async def post_all(
    http: aiohttp.ClientSession, spec: dict[str, Any], all_bodies: list[bytes]
) -> Posted:
    posted, queue = Posted(), iter(all_bodies)

    async def client() -> None:
        for body in queue:
            posted.add(await post_one(http, spec, body))

    await asyncio.gather(*(client() for _ in range(spec["concurrency"])))
    return posted


async def read_position(http: aiohttp.ClientSession, spec: dict[str, Any]) -> Position:
    url = f"{spec['api']}/v1/sessions/{spec['session_id']}/totals"
    async with http.get(url) as answer:
        data = await answer.json()
    return position_of(data.get("position"))


async def wait_visible(
    http: aiohttp.ClientSession, spec: dict[str, Any], newest: Position
) -> float:
    deadline = time.perf_counter() + spec.get("timeout", 300)
    while await read_position(http, spec) < newest:
        if time.perf_counter() > deadline:
            msg = f"position {newest} not visible in totals within {spec.get('timeout', 300)} s"
            raise RuntimeError(msg)
        await asyncio.sleep(0.01)
    return time.perf_counter()


async def batch(spec: dict[str, Any]) -> dict[str, Any]:
    all_bodies = bodies(spec, spec["events"])
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        posted = await post_all(http, spec, all_bodies)
        posted_at = time.perf_counter()
        visible_at = await wait_visible(http, spec, posted.newest) if spec["visible"] else posted_at
    return {
        "accepted": posted.accepted,
        "rejected": posted.rejected,
        "ingest_events_per_s": posted.accepted / (posted_at - started),
        "e2e_events_per_s": posted.accepted / (visible_at - started),
        "seconds": visible_at - started,
    }


async def latency(spec: dict[str, Any]) -> dict[str, Any]:
    times: dict[str, list[float]] = {s: [] for s in spec["sessions"]}
    path = spec.get("path", "/v1/sessions/{session}/totals")
    async with aiohttp.ClientSession() as http:
        for n in range(spec["requests"] + spec.get("warmup", 20)):
            for session, taken in times.items():
                started = time.perf_counter()
                async with http.get(spec["api"] + path.format(session=session)) as answer:
                    await answer.read()
                    if answer.status != 200:
                        msg = f"{path} of {session} answered {answer.status}"
                        raise RuntimeError(msg)
                if n >= spec.get("warmup", 20):
                    taken.append((time.perf_counter() - started) * 1000)
    return {
        session: {"p50_ms": percentile(ms, 0.5), "p99_ms": percentile(ms, 0.99)}
        for session, ms in times.items()
    }


def main() -> None:
    from bench import freshness  # noqa: PLC0415 - its own module, same process

    modes = {"batch": batch, "latency": latency, "fresh": freshness.fresh}
    spec = json.loads(sys.argv[2])
    result = asyncio.run(modes[sys.argv[1]](spec))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

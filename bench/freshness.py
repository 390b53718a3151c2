"""Freshness: how long after ingest's answer an event shows in the totals, at a fixed
offered load.

Batches are sent on a fixed schedule (batch k at start + k x interval, whatever the answers
do), so a slow answer never lowers the offered rate. Each answer gives the newest stream
position of its batch. A poller reads the session's totals on its own schedule; a batch is
visible at the first poll, answered after the batch's answer, whose `position` (the newest
stream entry folded) is at or past the batch's. The poll interval is the resolution.
"""

import asyncio
import bisect
import itertools
import time
from typing import Any

import aiohttp

from bench.load import Position, Posted, bodies, percentile, post_one, read_position


async def _poll(
    http: aiohttp.ClientSession, spec: dict[str, Any], stop: asyncio.Event
) -> list[tuple[float, Position]]:
    polls: list[tuple[float, Position]] = []
    interval = spec["poll_ms"] / 1000
    due = time.perf_counter()
    while not stop.is_set():
        position = await read_position(http, spec)
        polls.append((time.perf_counter(), position))
        due = max(due + interval, time.perf_counter())
        await asyncio.sleep(due - time.perf_counter())
    return polls


async def _offer(
    http: aiohttp.ClientSession, spec: dict[str, Any], posted: Posted
) -> tuple[float, float]:
    """Send every batch on schedule; returns the rate offered (events/s from the first send
    to the last) and how late the sender fell at worst (s)."""
    all_bodies = bodies(spec, int(spec["rate"] * spec["seconds"]))
    interval = spec["batch_size"] / spec["rate"]
    sends, late, started = [], 0.0, time.perf_counter()

    async def send(body: bytes) -> None:
        try:
            posted.add(await post_one(http, spec, body))
        except (RuntimeError, aiohttp.ClientError):
            posted.refused += 1

    for k, body in enumerate(all_bodies):
        due = started + k * interval
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        late = max(late, time.perf_counter() - due)
        sends.append(asyncio.create_task(send(body)))
    offered = len(all_bodies) * spec["batch_size"] / (time.perf_counter() - started + interval)
    await asyncio.gather(*sends)
    return offered, late


def _delays(acks: list[tuple[float, Position]], polls: list[tuple[float, Position]]) -> list[float]:
    """Per batch, ms from its answer to the first later poll showing it; a batch never seen
    counts with the time to the last poll (a lower bound), so it cannot flatter the figure."""
    times = [t for t, _ in polls]
    delays = []
    for acked_at, position in acks:
        start = bisect.bisect_left(times, acked_at)
        seen = next((t for t, p in polls[start:] if p >= position), times[-1])
        delays.append((max(seen, acked_at) - acked_at) * 1000)
    return delays


async def fresh(spec: dict[str, Any]) -> dict[str, Any]:
    posted, stop = Posted(), asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        poller = asyncio.create_task(_poll(http, spec, stop))
        offered, late = await _offer(http, spec, posted)
        deadline = time.perf_counter() + spec["drain_seconds"]
        while await read_position(http, spec) < posted.newest and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(spec["poll_ms"] * 3 / 1000)
        stop.set()
        polls = await poller
    delays = _delays(posted.acks, polls)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(polls)]
    return {
        "offered_events_per_s": offered,
        "accepted": posted.accepted,
        "rejected": posted.rejected,
        "refused_batches": posted.refused,
        "batches": len(posted.acks),
        "unseen_batches": sum(1 for _, p in posted.acks if p > polls[-1][1]),
        "p50_ms": percentile(delays, 0.5),
        "p99_ms": percentile(delays, 0.99),
        "max_ms": max(delays, default=float("nan")),
        "poll_interval_ms": percentile(gaps, 0.5) * 1000,
        "sender_late_ms": late * 1000,
    }

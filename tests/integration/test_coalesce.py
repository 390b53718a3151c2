"""Ingest's shared pipeline: many concurrent requests, one connection, each its own reply."""

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from services.ingest.coalesce import Coalescer
from tests.conftest import new_id


def test_concurrent_requests_share_round_trips_and_each_gets_its_own_replies(
    redis_url: str,
) -> None:
    stream, text = new_id("stream"), new_id("text")

    async def scenario() -> tuple[list[Any], int, int]:
        redis = Redis.from_url(redis_url)
        await redis.set(text, "not a stream")
        coalescer = Coalescer(redis)

        async def append(n: int) -> list[Any]:
            async def queue(pipe: Pipeline) -> None:
                pipe.xadd(stream, {"n": str(n)})
                pipe.xadd(text if n == 7 else stream, {"n": f"{n}-again"})

            return await coalescer.run(queue)

        results = await asyncio.gather(*(append(n) for n in range(300)), return_exceptions=True)
        length = await redis.xlen(stream)
        connections = len(redis.connection_pool._available_connections)
        await redis.aclose()
        return results, length, connections

    results, length, connections = asyncio.run(scenario())
    failed = [n for n, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [7]
    assert isinstance(results[7], ResponseError)
    assert all(len(r) == 2 for r in results if isinstance(r, list))
    ids = [entry_id for r in results if isinstance(r, list) for entry_id in r]
    assert len(set(ids)) == 598  # every request got its own two entry ids
    assert length == 599  # request 7's first command ran; its second failed alone
    assert connections == 1  # 300 requests in flight, one connection used

"""Ingest's shared pipeline: many concurrent requests, one connection, each its own reply."""

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import event

from services.ingest.cache import ReferenceCache
from services.ingest.coalesce import AnyPipeline, Coalescer
from tests.conftest import new_id
from tests.integration.conftest import Stack


def test_concurrent_requests_share_round_trips_and_each_gets_its_own_replies(
    redis_url: str,
) -> None:
    stream, text = new_id("stream"), new_id("text")

    async def scenario() -> tuple[list[Any], int, int]:
        redis = Redis.from_url(redis_url)
        await redis.set(text, "not a stream")
        coalescer = Coalescer(redis)

        async def append(n: int) -> list[Any]:
            async def queue(pipe: AnyPipeline) -> None:
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


def test_requests_that_miss_together_share_one_sql_read(stack: Stack) -> None:
    session = stack.new_session(stack.new_expo())
    secret = stack.token("desk", session)["Authorization"].removeprefix("Bearer ")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])  # the statement's text

    async def scenario() -> tuple[set[str], set[str]]:
        redis = Redis.from_url(stack.settings.redis_url or "")
        cache = ReferenceCache(stack.engine, Coalescer(redis), admin_token=None)
        await cache.refresh()
        event.listen(stack.engine, "before_cursor_execute", count)
        try:
            principals = await asyncio.gather(*(cache.principal(secret) for _ in range(50)))
            states = await asyncio.gather(*(cache.sessions([session]) for _ in range(50)))
        finally:
            event.remove(stack.engine, "before_cursor_execute", count)
            await redis.aclose()
        return {p.token_id for p in principals}, {s[session].status for s in states}

    token_ids, statuses = asyncio.run(scenario())
    assert len(token_ids) == 1
    assert statuses == {"open"}
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2  # one for the token, one for the session, for 50 requests each

"""One Redis round trip for the commands of all the requests that arrive together."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline

from shared.runtime import AsyncClient

AnyPipeline = Pipeline | ClusterPipeline
Queue = Callable[[AnyPipeline], Awaitable[None]]


class Coalescer:
    """Runs the Redis commands of concurrent requests together, one pipeline per round
    trip: while one pipeline is on its way, the commands that arrive wait for the next.
    Each request still gets its own replies (or error) only once Redis has answered.

    Ingest sends all its Redis commands this way, so it needs one connection however many
    requests are in flight, instead of one per request (a pool that runs out refuses)."""

    def __init__(self, redis: AsyncClient) -> None:
        self.redis = redis
        self._waiting: list[tuple[Queue, asyncio.Future[list[Any]]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def run(self, queue: Queue) -> list[Any]:
        """The replies to the commands `queue` adds to the pipeline, in order; raises the
        first error among them."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiting.append((queue, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())
        return await future

    async def _send(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            ends: list[int] = []
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for queue, _ in batch:
                        await queue(pipe)
                        ends.append(len(pipe))
                    replies = await pipe.execute(raise_on_error=False)
            except Exception as error:  # every waiting request gets it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            start = 0
            for (_, future), end in zip(batch, ends, strict=True):
                mine, start = replies[start:end], end
                if future.done():
                    continue  # its request was cancelled
                failed = next((r for r in mine if isinstance(r, Exception)), None)
                if failed is not None:
                    future.set_exception(failed)
                else:
                    future.set_result(mine)

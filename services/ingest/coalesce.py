"""One Redis round trip for the commands of all the requests that arrive together."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

Queue = Callable[[Pipeline], Awaitable[None]]


class Coalescer:
    """Runs the Redis commands of concurrent requests together, one pipeline per round
    trip: while one pipeline is on its way, the commands that arrive wait for the next.
    Each request still gets its own reply (or error) only once Redis has answered."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._waiting: list[tuple[Queue, asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def run(self, queue: Queue) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((queue, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())
        return await future

    async def _send(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for queue, _ in batch:
                        await queue(pipe)
                    replies = await pipe.execute(raise_on_error=False)
            except Exception as error:  # every waiting request gets it
                replies = [error] * len(batch)
            for (_, future), reply in zip(batch, replies, strict=True):
                if future.done():
                    continue  # its request was cancelled
                if isinstance(reply, Exception):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)

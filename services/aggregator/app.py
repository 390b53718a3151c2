"""The aggregator process: the fold loop in a thread, health and metrics over HTTP."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.aggregator.consumer import Consumer, ConsumerConfig
from shared import health, problem, runtime
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state: dict[str, object] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine = runtime.engine(settings)
        redis = runtime.sync_redis(settings)
        config = ConsumerConfig(
            name=settings.consumer_name,
            batch_size=settings.fold_batch_size,
            block_ms=settings.read_block_ms,
            claim_idle_ms=settings.claim_idle_ms,
            max_deliveries=settings.max_deliveries,
        )
        consumer = Consumer(redis, engine, config)
        stop = threading.Event()
        thread = threading.Thread(target=consumer.run, args=(stop,), name="fold", daemon=True)
        state.update(engine=engine, redis=redis, thread=thread)
        thread.start()
        logger.info("aggregator %s folding", config.name)
        yield
        stop.set()
        thread.join(timeout=10)
        redis.close()
        engine.dispose()

    def fold_alive() -> None:
        thread = state.get("thread")
        if not isinstance(thread, threading.Thread) or not thread.is_alive():
            msg = "the fold loop is not running"
            raise RuntimeError(msg)

    app = FastAPI(title="Expo tally aggregator", lifespan=lifespan)
    problem.install(app)
    app.include_router(
        health.router(
            {
                "redis": health.redis_check(lambda: state["redis"]),  # type: ignore[arg-type,return-value]
                "sql": health.sql_check(lambda: state["engine"]),  # type: ignore[arg-type,return-value]
                "fold": fold_alive,
            }
        )
    )
    return app

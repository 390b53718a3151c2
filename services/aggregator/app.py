"""The aggregator process: the fold loop in a thread, health and metrics over HTTP."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import Engine

from services.aggregator.consumer import Consumer
from services.aggregator.group import ConsumerConfig
from shared import health, openapi, problem, runtime
from shared.instrument import RequestMetrics
from shared.problem import BodyLimit
from shared.runtime import SyncRedis
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)


@dataclass
class Running:
    engine: Engine
    redis: SyncRedis
    consumer: Consumer
    thread: threading.Thread


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine, redis = runtime.engine(settings), runtime.sync_redis(settings)
        config = ConsumerConfig(
            name=settings.consumer_name,
            batch_size=settings.fold_batch_size,
            block_ms=settings.read_block_ms,
            claim_idle_ms=settings.claim_idle_ms,
            max_deliveries=settings.max_deliveries,
            late_after=timedelta(seconds=settings.late_after_seconds),
        )
        consumer = Consumer(redis, engine, config)
        stop = threading.Event()
        thread = threading.Thread(target=consumer.run, args=(stop,), name="fold", daemon=True)
        app.state.running = Running(engine, redis, consumer, thread)
        thread.start()
        logger.info("aggregator %s folding", config.name)
        yield
        stop.set()
        thread.join(timeout=10)
        redis.close()
        engine.dispose()

    app = FastAPI(title="Expo tally aggregator", lifespan=lifespan)
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestMetrics)
    problem.install(app)
    openapi.install(app)

    def running() -> Running:
        found: Running = app.state.running
        return found

    def fold_alive() -> None:
        if not running().thread.is_alive():
            msg = "the fold loop is not running"
            raise RuntimeError(msg)

    def dead_letters_waiting() -> str | None:
        waiting = running().consumer.dead_letters
        return f"{waiting} waiting: see `expo dead-letters list`" if waiting else None

    checks = {
        "redis": health.redis_check(lambda: running().redis),
        "sql": health.sql_check(lambda: running().engine),
        "fold": fold_alive,
    }
    app.include_router(health.router(checks, {"dead_letters": dead_letters_waiting}))
    return app

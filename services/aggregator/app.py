"""The aggregator process: the fold loop in a thread, health and metrics over HTTP."""

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import Engine

from services.aggregator.consumer import Consumer
from services.aggregator.group import ConsumerConfig
from shared import health, runtime, service
from shared.runtime import SyncRedis
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)


@dataclass
class Running:
    """The fold loop's thread and what it folds with, built once in the app's lifespan."""

    engine: Engine
    redis: SyncRedis
    consumer: Consumer
    thread: threading.Thread
    stop: threading.Event

    async def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.redis.close()
        self.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    def start() -> Running:
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
        thread.start()
        logger.info("aggregator %s folding", config.name)
        return Running(engine, redis, consumer, thread, stop)

    app = service.create_app("Expo tally aggregator", start)

    def running() -> Running:
        return service.resources_of(app, Running)

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

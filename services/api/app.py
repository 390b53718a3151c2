"""The API service: figures, history and the display for people and screens; reference
data for admins. It never writes events."""

from fastapi import FastAPI

from services.api import (
    admin,
    breakdown,
    display,
    export,
    factsheet,
    live,
    operations,
    pages,
    reads,
    timeline,
)
from services.api.deps import Resources, resources_of
from shared import health, runtime, service
from shared.db import read_only
from shared.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    def build() -> Resources:
        engine, redis = runtime.engine(settings), runtime.sync_redis(settings)
        reader = read_only(engine)
        hub, displays = live.Hub(reader, redis), display.Displays(reader, redis)
        return Resources(settings, engine, reader, redis, hub, displays)

    # Display hits are answered inside the request metrics and the body limit.
    app = service.create_app(
        "Expo tally API",
        build,
        "Live figures of trade expos: this edition, every edition before it.",
        inner=[display.Hits],
    )
    app.include_router(display.router)  # first: screens poll it far more than anything else
    app.include_router(
        # Figures come from SQL: without Redis they are answered all the same (how far
        # behind is unknown), so Redis is a warning here, not a reason to leave rotation.
        health.router(
            {"sql": health.sql_check(lambda: resources_of(app).reader)},
            {"redis": health.redis_warning(lambda: resources_of(app).redis)},
        )
    )
    app.include_router(admin.router)
    app.include_router(reads.router)
    app.include_router(breakdown.router)
    app.include_router(factsheet.router)
    app.include_router(timeline.router)
    app.include_router(export.router)
    app.include_router(pages.router)
    app.include_router(live.router)
    app.include_router(operations.router)
    return app

"""The ingest service: validates, authorises and appends events to Redis Streams.

It answers 202 only after XADD returned, and never writes SQL projections.
"""

from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Request
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine
from starlette.applications import Starlette

from services.ingest import admission
from services.ingest.admission import Admission
from services.ingest.appender import Appender, Replication
from services.ingest.cache import ReferenceCache
from services.ingest.coalesce import Coalescer
from services.ingest.limiter import RateLimiter
from services.ingest.requests import (
    Accepted,
    Batch,
    BatchResult,
    CheckIn,
    RegisterExhibitor,
    SignDeal,
    VoidDeal,
)
from shared import health, openapi, runtime, service
from shared.auth import Principal, bearer_secret
from shared.body import StrictJsonRoute
from shared.events import Id64
from shared.runtime import AsyncClient, SyncRedis
from shared.settings import Settings, get_settings


@dataclass
class Resources:
    """What ingest uses, built once in the app's lifespan."""

    settings: Settings
    engine: Engine
    redis: AsyncClient  # appends and the reference cache's change mark
    sync_redis: SyncRedis  # the health check's
    admission: Admission

    async def close(self) -> None:
        await self.redis.aclose()
        self.sync_redis.close()
        self.engine.dispose()


def resources_of(app: Starlette) -> Resources:
    return service.resources_of(app, Resources)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    def build() -> Resources:
        engine, redis = runtime.engine(settings), runtime.async_redis(settings)
        coalescer = Coalescer(redis)
        reference = ReferenceCache(engine, coalescer, settings.admin_token)
        admitting = Admission(
            reference,
            Appender(
                coalescer,
                settings.idempotency_ttl_seconds,
                Replication(settings.redis_wait_replicas, settings.redis_wait_ms),
            ),
            RateLimiter(settings.rate_limit_events_per_second),
        )
        return Resources(settings, engine, redis, runtime.sync_redis(settings), admitting)

    app = service.create_app(
        "Expo tally ingest",
        build,
        "Check-ins, deals, voids and exhibitors, appended to the session streams.",
    )
    app.router.route_class = StrictJsonRoute
    origins = settings.cors_origins or [
        f"http://{host}:{settings.api_port}" for host in ("127.0.0.1", "localhost")
    ]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
    app.include_router(
        health.router(
            {
                "redis": health.redis_check(lambda: resources_of(app).sync_redis),
                "sql": health.sql_check(lambda: resources_of(app).engine),
            }
        )
    )
    _routes(app)
    return app


async def _principal(  # async: no thread pool hop
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    secret = bearer_secret(authorization)
    reference = resources_of(request.app).admission.reference
    await reference.refresh()
    return await reference.principal(secret)


def _admission(request: Request) -> Admission:
    """The admitting resources, read from the app's state (not a dependency: each one
    FastAPI solves costs more per request than the lookup)."""
    return resources_of(request.app).admission


PrincipalDep = Annotated[Principal, Depends(_principal)]
REFUSALS = openapi.problems(*openapi.EVENT)
BATCH_REFUSALS = openapi.problems(*openapi.BATCH)


def _routes(app: FastAPI) -> None:
    @app.post("/v1/checkins", status_code=202, tags=["events"], responses=REFUSALS)
    async def check_in(body: CheckIn, who: PrincipalDep, request: Request) -> Accepted:
        """An attendee was scanned at a desk. A repeat scan is a valid new visit."""

        build = admission.building(body, body.to_event)
        return await admission.one(_admission(request), who, build)

    @app.post("/v1/deals", status_code=202, tags=["events"], responses=REFUSALS)
    async def sign_deal(body: SignDeal, who: PrincipalDep, request: Request) -> Accepted:
        """A deal was signed; its CNY value is computed here (half-even, 0.01)."""

        build = admission.building(body, body.to_event)
        return await admission.one(_admission(request), who, build)

    @app.post("/v1/deals/{deal_id}/void", status_code=202, tags=["events"], responses=REFUSALS)
    async def void_deal(
        deal_id: Id64, body: VoidDeal, who: PrincipalDep, request: Request
    ) -> Accepted:
        """A deal is voided; the void may arrive before the deal it voids."""

        build = admission.building(body, partial(body.to_void, deal_id), deal_id=deal_id)

        return await admission.one(_admission(request), who, build)

    @app.post("/v1/exhibitors", status_code=202, tags=["events"], responses=REFUSALS)
    async def register_exhibitor(
        body: RegisterExhibitor, who: PrincipalDep, request: Request
    ) -> Accepted:
        """An exhibitor registered, with the projects it puts on display."""

        build = admission.building(body, body.to_event)
        return await admission.one(_admission(request), who, build)

    @app.post("/v1/events:batch", tags=["events"], responses=BATCH_REFUSALS)
    async def batch(body: Batch, who: PrincipalDep, request: Request) -> BatchResult:
        """Up to 1000 events of any types; every accepted item is in its stream when the
        answer is sent, each rejected one says why."""
        return await admission.batch(_admission(request), who, body.events)

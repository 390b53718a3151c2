"""`/healthz`, `/readyz` and `/metrics`, the same on every service."""

import logging
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from shared.db import read_only
from shared.runtime import SyncRedis

logger = logging.getLogger(__name__)

Check = Callable[[], None]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]
    warnings: dict[str, str] = Field(
        default_factory=dict, description="Ready, but an operator should look (dead letters)."
    )


Warning = Callable[[], str | None]


def redis_check(client: Callable[[], SyncRedis]) -> Check:
    def check() -> None:
        client().ping()

    return check


def redis_warning(client: Callable[[], SyncRedis]) -> Warning:
    """Redis away, for a service that answers without it (how far behind is then unknown)."""

    def warning() -> str | None:
        try:
            client().ping()
        except Exception as error:
            return f"redis unreachable: {type(error).__name__}"
        return None

    return warning


def sql_check(engine: Callable[[], Engine]) -> Check:
    def check() -> None:
        with read_only(engine()).connect() as conn:
            conn.execute(text("SELECT 1"))

    return check


def router(checks: dict[str, Check], warnings: dict[str, Warning] | None = None) -> APIRouter:
    routes = APIRouter(tags=["operations"])

    @routes.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @routes.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "A dependency is unreachable."}},
    )
    def readyz() -> JSONResponse:
        """Readiness: every dependency of this service answers."""
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                check()
                results[name] = "ok"
            except Exception as error:
                logger.warning("readiness check %s failed: %s", name, error)
                results[name] = f"unreachable: {type(error).__name__}"
        ready = all(v == "ok" for v in results.values())
        raised = {name: text for name, warn in (warnings or {}).items() if (text := warn())}
        body = {"status": "ready" if ready else "not_ready", "checks": results, "warnings": raised}
        return JSONResponse(body, status_code=200 if ready else 503)

    @routes.get("/metrics", response_class=PlainTextResponse)
    def prometheus_metrics() -> Response:
        """Prometheus text exposition."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return routes

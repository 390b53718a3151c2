"""What every service's HTTP app has: the resources its lifespan builds and closes, request
metrics, the body limit, problem+json answers, and `Problem` in its OpenAPI document."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from fastapi import FastAPI
from starlette.applications import Starlette

from shared import openapi, problem
from shared.instrument import RequestMetrics
from shared.problem import BodyLimit


class Resources(Protocol):
    """Clients, engines and workers a service builds at start-up and closes at shutdown."""

    async def close(self) -> None: ...


R = TypeVar("R", bound=Resources)


def create_app(
    title: str,
    build: Callable[[], Resources],
    description: str = "",
    inner: Sequence[Callable[..., Any]] = (),
) -> FastAPI:
    """The app, its resources built by `build` in the lifespan; `inner` are middleware that
    run inside the request metrics and the body limit (the first innermost)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = build()
        app.state.resources = resources
        yield
        await resources.close()

    app = FastAPI(title=title, description=description, lifespan=lifespan)
    for middleware in inner:
        app.add_middleware(middleware)
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestMetrics)
    problem.install(app)
    openapi.install(app)
    return app


def resources_of(app: Starlette, kind: type[R]) -> R:  # noqa: ARG001 - `kind` types the answer
    """The resources the app's lifespan built, as the service knows them."""
    found: R = app.state.resources
    return found

"""Request metrics for every service, labelled by route template (never by raw path)."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.metrics import HTTP_SECONDS


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            HTTP_SECONDS.labels(_route(scope), scope["method"], str(status)).observe(
                time.perf_counter() - started
            )


def _route(scope: Scope) -> str:
    """The template of the route that answered (the router notes it in the scope)."""
    route = scope.get("route")
    return "unmatched" if route is None else str(getattr(route, "path", "other"))

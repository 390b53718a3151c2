"""Request bodies as strict JSON (I-JSON, RFC 7493): UTF-8 only, each name once per
object, no NaN or Infinity, no lone surrogates. Anything else is a malformed body (400),
so what a proxy or log reads of a body is what the service validates."""

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        msg = "a name appears twice in one object"
        raise ValueError(msg)
    return found


def _no_constant(name: str) -> Any:
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def _encodable(document: Any) -> None:
    """Every string and name encodes as UTF-8 (a lone surrogate escape does not)."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            item.encode("utf-8")
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())


def loads(body: bytes) -> Any:
    """The document in `body`, or `json.JSONDecodeError` saying why it is not strict JSON."""
    text = ""
    try:
        text = body.decode("utf-8")
        document = json.loads(text, object_pairs_hook=_unique, parse_constant=_no_constant)
        _encodable(document)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as error:  # UnicodeError is a ValueError
        raise json.JSONDecodeError(str(error), text, 0) from error
    return document


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read by `loads`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict

"""The pages people use: the hall display board, the registration desk, the signing
ceremony, an expo's history and a session's fact sheet. Static HTML, CSS and JavaScript
(no build step, nothing fetched from elsewhere; the one library, uPlot for charts, is
vendored in static/); the JavaScript reads the id from the path and talks to the API and
ingest over HTTP."""

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from services.api.deps import ResourcesDep
from shared.errors import DomainError, Reason
from shared.settings import Settings

STATIC = Path(__file__).parent / "static"
ASSET = re.compile(r"^[a-z][a-z0-9-]*\.(css|js)$")
HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
# Nothing inline, nothing from elsewhere; the favicon is an empty data: URL.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

router = APIRouter(include_in_schema=False)


def ingest_source(settings: Settings, request: Request) -> str | None:
    """Where the desk and ceremony post events, as the pages work it out from /v1/config:
    EXPO_PUBLIC_INGEST_URL, else the page's own host on the ingest port. None when the
    host is not a plain host name or address (nothing odd goes into the policy)."""
    if settings.public_ingest_url:
        url = urlsplit(settings.public_ingest_url)
        source = f"{url.scheme}://{url.netloc}"
        ok = url.scheme in {"http", "https"} and HOST.match(url.netloc)
        return source if ok else None
    host = request.url.hostname or ""
    host = f"[{host}]" if ":" in host else host
    source = f"{host}:{settings.ingest_port}"  # no scheme: the page's own
    return source if HOST.match(source) else None


@dataclass(frozen=True)
class Page:
    """A page: its title, its name (static/{name}.html holds its body, {name}.js is its
    script) and the stylesheets and classic scripts it needs beside common.css. Every page
    has the same head around them (`HEAD`)."""

    title: str
    name: str
    styles: tuple[str, ...]
    scripts: tuple[str, ...] = ()  # loaded before the page's own (a vendored library)


HEAD = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · Expo tally</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/common.css">
{assets}
</head>
"""
BOARD = Page("展会数据", "board", ("board.css",))
HISTORY = Page("历届数据", "history", ("uplot.css", "history.css"), scripts=("uplot.js",))
DESK = Page("签到台", "desk", ("desk.css",))
CEREMONY = Page("签约仪式", "ceremony", ("desk.css", "ceremony.css"))
FACTSHEET = Page("新闻数据", "factsheet", ("factsheet.css",))


@cache
def _rendered(page: Page) -> tuple[bytes, str]:
    """The page's HTML and its ETag, made once."""
    assets = [f'  <link rel="stylesheet" href="/static/{name}">' for name in page.styles]
    assets += [f'  <script src="/static/{name}"></script>' for name in page.scripts]
    assets.append(f'  <script type="module" src="/static/{page.name}.js"></script>')
    head = HEAD.format(title=page.title, assets="\n".join(assets))
    html = (head + (STATIC / f"{page.name}.html").read_text(encoding="utf-8")).encode()
    return html, f'"{hashlib.sha256(html).hexdigest()[:32]}"'


def _html(page: Page, request: Request, res: ResourcesDep) -> Response:
    """The page, with its Content-Security-Policy; 304 when the browser holds it already."""
    html, etag = _rendered(page)
    connect = " ".join(filter(None, ["'self'", ingest_source(res.settings, request)]))
    headers = {**HEADERS, "Content-Security-Policy": POLICY.format(connect=connect), "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/display/{expo_id}")
def display_page(request: Request, res: ResourcesDep) -> Response:
    """The hall display board of an expo: ?lang=en, ?refresh=5, ?milestone_step=…"""
    return _html(BOARD, request, res)


@router.get("/history/{expo_id}")
def history_page(request: Request, res: ResourcesDep) -> Response:
    """An expo's editions: cumulative figures per edition, this edition hour by hour beside
    the previous one at the same point of its run, and the exact figures in a table."""
    return _html(HISTORY, request, res)


@router.get("/desk/{session_id}")
def desk_page(request: Request, res: ResourcesDep) -> Response:
    """The registration desk of a session, for a keyboard-wedge badge scanner."""
    return _html(DESK, request, res)


@router.get("/ceremony/{session_id}")
def ceremony_page(request: Request, res: ResourcesDep) -> Response:
    """The signing ceremony of a session: log deals, void them, see the total."""
    return _html(CEREMONY, request, res)


@router.get("/factsheet/{session_id}")
def factsheet_page(request: Request, res: ResourcesDep) -> Response:
    """A session's fact sheet on A4: every press figure, exact and as quoted; ?lang=en."""
    return _html(FACTSHEET, request, res)


@router.get("/static/{name}")
def asset(name: str) -> FileResponse:
    """The pages' stylesheets and scripts; browsers revalidate them (ETag) on each load."""
    path = STATIC / name
    if not ASSET.match(name) or not path.is_file():
        raise DomainError(Reason.NOT_FOUND, f"no such asset: {name}")
    return FileResponse(path, headers=HEADERS)

"""The pages people use: the hall display board, the registration desk and the signing
ceremony. Static HTML, CSS and JavaScript (no build step, nothing fetched from elsewhere);
the JavaScript reads the id from the path and talks to the API and ingest over HTTP."""

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from shared.problem import DomainError, Reason

STATIC = Path(__file__).parent / "static"
ASSET = re.compile(r"^[a-z][a-z0-9-]*\.(css|js)$")
REVALIDATE = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


def _html(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html; charset=utf-8", headers=REVALIDATE)


@router.get("/display/{expo_id}")
def display_page() -> FileResponse:
    """The hall display board of an expo: ?lang=en, ?refresh=5, ?milestone_step=…"""
    return _html("board.html")


@router.get("/desk/{session_id}")
def desk_page() -> FileResponse:
    """The registration desk of a session, for a keyboard-wedge badge scanner."""
    return _html("desk.html")


@router.get("/ceremony/{session_id}")
def ceremony_page() -> FileResponse:
    """The signing ceremony of a session: log deals, void them, see the total."""
    return _html("ceremony.html")


@router.get("/static/{name}")
def asset(name: str) -> FileResponse:
    """The pages' stylesheets and scripts; browsers revalidate them (ETag) on each load."""
    path = STATIC / name
    if not ASSET.match(name) or not path.is_file():
        raise DomainError(Reason.NOT_FOUND, f"no such asset: {name}")
    return FileResponse(path, headers=REVALIDATE)

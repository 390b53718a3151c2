"""The reference endpoints: a minimal FastAPI app, served by uvicorn with the services'
own settings (services/cli.py `serve`), so the project's HTTP figures have a limit.

`python -m bench.minimal PORT` serves:
- `POST /scan`: a small pydantic model (the fields of a check-in), validated and returned;
- `GET /constant`: a constant JSON document.
"""

import sys

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

CONSTANT = {"expo_id": "bench", "editions": 4, "checkins": 123456, "deals": 789}


class Scan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str
    event_id: str | None = None
    attendee_id: str
    category: str
    country: str
    desk_id: str | None = None


def create_app() -> FastAPI:
    app = FastAPI(title="Bench reference")

    @app.post("/scan")
    async def scan(body: Scan) -> Scan:
        return body

    @app.get("/constant")
    async def constant() -> dict[str, object]:
        return CONSTANT

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(port: int) -> None:
    uvicorn.run(
        "bench.minimal:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))

"""The services in-process over real Redis and real SQL: ingest and API through their ASGI
apps, the aggregator's consumer driven step by step."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import Engine

from services.aggregator.consumer import Consumer
from services.aggregator.group import ConsumerConfig
from services.api.app import create_app as create_api
from services.ingest.app import create_app as create_ingest
from shared.db import make_engine
from shared.settings import Settings
from shared.stream import GROUP, stream_key
from tests.conftest import ADMIN_TOKEN, new_id, running_days

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class Stack:
    settings: Settings
    engine: Engine
    redis: Redis
    ingest: TestClient
    api: TestClient
    consumer: Consumer
    tokens: dict[str, str] = field(default_factory=dict)

    def fold(self) -> int:
        """Fold everything in the streams now, as the aggregator would."""
        return self.consumer.drain()

    def new_expo(self, **fields: Any) -> str:
        expo_id = new_id("expo")
        body = {"id": expo_id, "name": "Test High-Tech Expo", **fields}
        response = self.api.post("/v1/expos", json=body, headers=ADMIN)
        assert response.status_code == 201, response.text
        return expo_id

    def new_session(
        self,
        expo_id: str,
        ordinal: int = 1,
        status: str = "open",
        starts_on: date | None = None,
        name: str | None = None,
    ) -> str:
        """A four-day session; by default running now (see `running_days`)."""
        session_id = new_id("session")
        body = {
            "id": session_id,
            "ordinal": ordinal,
            "name": name or f"The {ordinal}th session",
            **running_days(starts_on),
        }
        response = self.api.post(f"/v1/expos/{expo_id}/sessions", json=body, headers=ADMIN)
        assert response.status_code == 201, response.text
        for step in {"planned": [], "open": ["open"], "closed": ["open", "closed"]}[status]:
            changed = self.api.patch(
                f"/v1/sessions/{session_id}", json={"status": step}, headers=ADMIN
            )
            assert changed.status_code == 200, changed.text
        return session_id

    def token(self, role: str, session_id: str | None = None) -> dict[str, str]:
        body = {"role": role, "session_id": session_id}
        response = self.api.post("/v1/tokens", json=body, headers=ADMIN)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def totals(self, session_id: str) -> dict[str, Any]:
        response = self.api.get(f"/v1/sessions/{session_id}/totals")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def entries(self, key: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
        found: Any = self.redis.xrange(key)
        return list(found)

    def read_as(self, consumer: str, session_id: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Read new entries as another consumer of the group would, without acking."""
        reply: Any = self.redis.xreadgroup(GROUP, consumer, {stream_key(session_id): ">"})
        return list(reply[0][1]) if reply else []

    def stream_length(self, session_id: str) -> int:
        return int(self.redis.xlen(stream_key(session_id)))


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        admin_token=ADMIN_TOKEN,
        var_dir=tmp_path_factory.mktemp("var"),
    )


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Stack]:
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url or "")
    consumer = Consumer(redis, engine, ConsumerConfig(name=new_id("test-aggregator"), block_ms=10))
    with TestClient(create_ingest(settings)) as ingest, TestClient(create_api(settings)) as api:
        yield Stack(settings, engine, redis, ingest, api, consumer)
    redis.close()
    engine.dispose()

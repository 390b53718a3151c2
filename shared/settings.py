"""Settings: every knob is an `EXPO_*` environment variable, read once."""

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

VAR_DIR = Path("var")


class Settings(BaseSettings):
    """What an operator can set. Bad values fail at start-up, not at first use."""

    model_config = SettingsConfigDict(
        env_prefix="EXPO_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    database_url: str = Field(default=f"sqlite:///{VAR_DIR}/expo.db")
    redis_url: str | None = None
    admin_token: str | None = None
    public_reads: bool = True
    bind_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    ingest_port: int = Field(default=8001, ge=1, le=65535)
    aggregator_port: int = Field(default=8002, ge=1, le=65535)
    # `expo up`'s own /metrics (restarts of the children it runs).
    supervisor_port: int = Field(default=8003, ge=1, le=65535)
    var_dir: Path = VAR_DIR
    # Where browsers reach ingest, when not the API's host on the ingest port (a proxy).
    public_ingest_url: str | None = None
    # Origins whose pages may post to ingest; empty means the API's own origins.
    cors_origins: list[str] = Field(default_factory=list)
    # Aggregator tuning.
    consumer_name: str = "aggregator-1"
    fold_batch_size: int = Field(default=1000, ge=1, le=10_000)
    read_block_ms: int = Field(default=100, ge=1, le=60_000)
    claim_idle_ms: int = Field(default=30_000, ge=100)
    max_deliveries: int = Field(default=5, ge=1)
    # An event folded longer than this after it occurred revises figures already shown.
    late_after_seconds: int = Field(default=120, ge=0, le=7 * 86_400)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Exports: rows read per page (one short read transaction each, one chunk sent each).
    export_page_rows: int = Field(default=2000, ge=1, le=100_000)
    # Replicas that must confirm an append (Redis WAIT) before ingest acknowledges it; 0:
    # the primary's append-only file is enough (one Redis server, appendfsync always).
    redis_wait_replicas: int = Field(default=0, ge=0, le=5)
    redis_wait_ms: int = Field(default=1000, ge=1, le=60_000)
    # Ingest protections.
    idempotency_ttl_seconds: int = Field(default=3600, ge=1)
    rate_limit_events_per_second: float = Field(default=5000, ge=0)  # per token; 0: off

    @field_validator("admin_token")
    @classmethod
    def _admin_token_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            msg = "must be at least 16 characters"
            raise ValueError(msg)
        return value or None

    @field_validator("database_url")
    @classmethod
    def _database_url_known(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            msg = "must be a sqlite:// or postgresql:// URL"
            raise ValueError(msg)
        if value.startswith("postgresql://"):
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()


def described(error: ValidationError | SettingsError) -> str:
    """What is wrong with the settings, on one line, each by its variable; never a value
    (a URL or a token may hold a secret)."""
    if isinstance(error, SettingsError):
        field = re.search(r'field "(\w+)"', str(error))
        name = f"EXPO_{field.group(1).upper()}" if field else "a setting"
        return f'{name}: cannot be read (a list is JSON, e.g. ["https://a.example"])'
    problems = []
    for found in error.errors():
        context = found.get("ctx", {})
        message = str(context["error"]) if "error" in context else found["msg"]
        problems.append(f"EXPO_{str(found['loc'][0]).upper()}: {message[:1].lower()}{message[1:]}")
    return "; ".join(problems)

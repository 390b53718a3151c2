"""What every service process builds at start-up: logging, the engine, the Redis client."""

import logging

from redis import Redis
from redis.asyncio import BlockingConnectionPool
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import Engine

from shared.db import make_engine
from shared.logs import JsonFormatter
from shared.settings import Settings


def configure_logging(settings: Settings) -> None:
    """Text lines by default; one JSON object per line with EXPO_LOG_FORMAT=json."""
    if settings.log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
        return
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def redis_url(settings: Settings) -> str:
    """EXPO_REDIS_URL, else the embedded server `expo up` runs under the var directory."""
    if settings.redis_url is not None:
        return settings.redis_url
    socket = (settings.var_dir / "redis" / "redis.sock").resolve()
    if socket.exists():
        return f"unix://{socket}"
    msg = "EXPO_REDIS_URL is not set and no embedded Redis runs here: start `expo up`, or set it"
    raise RuntimeError(msg)


def sync_redis(settings: Settings) -> Redis:
    return Redis.from_url(redis_url(settings), socket_timeout=30, health_check_interval=10)


def async_redis(settings: Settings) -> AsyncRedis:
    """A client whose pool makes a request wait (up to 10 s) for a free connection rather
    than refusing it when all are busy."""
    pool = BlockingConnectionPool.from_url(
        redis_url(settings),
        max_connections=50,
        timeout=10,
        socket_timeout=10,
        health_check_interval=10,
    )
    return AsyncRedis.from_pool(pool)


def engine(settings: Settings) -> Engine:
    return make_engine(settings.database_url)

"""What every service process builds at start-up: logging, the engine, the Redis client."""

import logging

from redis import Redis, RedisCluster
from redis.asyncio import BlockingConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio import RedisCluster as AsyncRedisCluster
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


# A Redis Cluster is named by one or more of its nodes: redis+cluster://host:port[,host:port]
CLUSTER_SCHEMES = {"redis+cluster://": "redis://", "rediss+cluster://": "rediss://"}
SyncRedis = Redis | RedisCluster
AsyncClient = AsyncRedis | AsyncRedisCluster


def cluster_nodes(url: str) -> str | None:
    """The plain redis:// URL of a cluster URL's first node, or None for a single server."""
    for scheme, plain in CLUSTER_SCHEMES.items():
        if url.startswith(scheme):
            return plain + url.removeprefix(scheme).split(",")[0]
    return None


def sync_redis(settings: Settings, socket_timeout: float = 30) -> SyncRedis:
    url = redis_url(settings)
    if (seed := cluster_nodes(url)) is not None:
        return RedisCluster.from_url(seed, socket_timeout=socket_timeout)
    return Redis.from_url(url, socket_timeout=socket_timeout, health_check_interval=10)


def async_redis(settings: Settings) -> AsyncClient:
    """A client whose pool makes a request wait (up to 10 s) for a free connection rather
    than refusing it when all are busy. A cluster client keeps a pool per node."""
    url = redis_url(settings)
    if (seed := cluster_nodes(url)) is not None:
        return AsyncRedisCluster.from_url(seed, max_connections=50, socket_timeout=10)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=50,
        timeout=10,
        socket_timeout=10,
        health_check_interval=10,
    )
    return AsyncRedis.from_pool(pool)


def engine(settings: Settings) -> Engine:
    return make_engine(settings.database_url)

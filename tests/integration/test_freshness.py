"""A session's backlog read from its stream and the aggregator's consumer group, on the
real embedded Redis (and on a real Redis Cluster): entries are appended with chosen ids
(millisecond timestamps), so every lag is exact against the clock passed in."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis import Redis, RedisCluster

from services.api.freshness import Backlog, backlog, backlogs
from shared import rejection
from shared.stream import GROUP, stream_key
from tests.cluster import running
from tests.conftest import new_id

T0_MS = 1_758_870_000_000  # 2025-09-26 07:00:00 UTC, the first entry of each stream below


def at_ms(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def appended(redis: Redis | RedisCluster, session: str, seconds: list[int]) -> list[str]:
    """Entries appended `seconds` after T0, with those ids."""
    key = stream_key(session)
    for second in seconds:
        redis.xadd(key, {"event": b"{}"}, id=f"{T0_MS + second * 1000}-0")
    return [f"{T0_MS + s * 1000}-0" for s in seconds]


def read(redis: Redis | RedisCluster, session: str, count: int) -> list[str]:
    """What the aggregator's group hands out next, unacknowledged."""
    reply: Any = redis.xreadgroup(GROUP, "folder", {stream_key(session): ">"}, count=count)
    return [entry_id.decode() for entry_id, _ in reply[0][1]]


def grouped(redis: Redis | RedisCluster, session: str) -> None:
    redis.xgroup_create(stream_key(session), GROUP, id="0", mkstream=True)


def test_a_session_nothing_was_appended_to_has_nothing_unfolded(redis: Redis) -> None:
    assert backlog(redis, new_id("session"), at_ms(T0_MS)) == Backlog(0, 0.0)


def test_a_stream_the_aggregator_does_not_follow_yet_is_unfolded_entirely(redis: Redis) -> None:
    session = new_id("session")
    appended(redis, session, [0, 4, 9])
    assert backlog(redis, session, at_ms(T0_MS + 12_340)) == Backlog(3, 12.3)


def test_a_followed_stream_with_nothing_in_it_has_nothing_unfolded(redis: Redis) -> None:
    session = new_id("session")
    grouped(redis, session)
    assert backlog(redis, session, at_ms(T0_MS)) == Backlog(0, 0.0)


def test_pending_and_undelivered_entries_count_and_the_oldest_of_them_sets_the_lag(
    redis: Redis,
) -> None:
    session = new_id("session")
    ids = appended(redis, session, [0, 10, 20, 30, 40])
    grouped(redis, session)
    assert read(redis, session, 3) == ids[:3]
    redis.xack(stream_key(session), GROUP, ids[0], ids[2])
    # Pending: the second; undelivered: the fourth and fifth.
    assert backlog(redis, session, at_ms(T0_MS + 60_000)) == Backlog(3, 50.0)


def test_once_every_delivered_entry_is_acknowledged_the_first_undelivered_sets_the_lag(
    redis: Redis,
) -> None:
    session = new_id("session")
    appended(redis, session, [0, 10, 20, 30])
    grouped(redis, session)
    redis.xack(stream_key(session), GROUP, *read(redis, session, 2))
    assert backlog(redis, session, at_ms(T0_MS + 45_000)) == Backlog(2, 25.0)
    redis.xack(stream_key(session), GROUP, *read(redis, session, 2))
    assert backlog(redis, session, at_ms(T0_MS + 45_000)) == Backlog(0, 0.0)


def test_an_entry_pending_with_a_consumer_that_died_stays_unfolded(redis: Redis) -> None:
    session = new_id("session")
    appended(redis, session, [0, 5])
    grouped(redis, session)
    read(redis, session, 2)
    assert backlog(redis, session, at_ms(T0_MS + 3_600_000)) == Backlog(2, 3600.0)


def test_undelivered_entries_are_counted_when_a_deletion_hides_the_groups_lag(
    redis: Redis,
) -> None:
    session = new_id("session")
    ids = appended(redis, session, [0, 10, 20, 30, 40])
    grouped(redis, session)
    redis.xack(stream_key(session), GROUP, *read(redis, session, 1))
    redis.xdel(stream_key(session), ids[3])
    groups: Any = redis.xinfo_groups(stream_key(session))
    assert groups[0]["lag"] is None  # Redis cannot tell after the deletion
    assert backlog(redis, session, at_ms(T0_MS + 50_000)) == Backlog(3, 40.0)


def test_a_clock_behind_the_redis_clock_gives_no_negative_lag(redis: Redis) -> None:
    session = new_id("session")
    appended(redis, session, [10])
    assert backlog(redis, session, at_ms(T0_MS)) == Backlog(1, 0.0)


def test_several_sessions_are_read_at_once_each_with_its_own_backlog(redis: Redis) -> None:
    first, second, empty = new_id("session"), new_id("session"), new_id("session")
    appended(redis, first, [0, 1])
    appended(redis, second, [30])
    grouped(redis, second)
    redis.xadd(rejection.STREAM, {"scan": b"{}"})  # refused scans are no session's events
    found = backlogs(redis, [first, second, empty, first], at_ms(T0_MS + 40_000))
    assert found == {first: Backlog(2, 40.0), second: Backlog(1, 10.0), empty: Backlog(0, 0.0)}


def test_with_redis_away_every_backlog_is_unknown(tmp_path: Path) -> None:
    away = Redis.from_url(f"unix://{tmp_path / 'nobody.sock'}", socket_timeout=1)
    sessions = [new_id("session"), new_id("session")]
    assert backlogs(away, sessions, at_ms(T0_MS)) == dict.fromkeys(sessions)
    away.close()


def test_a_redis_cluster_answers_sessions_in_different_slots_alike(tmp_path: Path) -> None:
    with running(tmp_path / "cluster", masters=3, replicas=0) as cluster:
        client = RedisCluster.from_url(f"redis://{cluster.masters[0].address}")
        sessions = [new_id("session") for _ in range(6)]
        for n, session in enumerate(sessions):
            appended(client, session, list(range(n + 2)))
            grouped(client, session)
            read(client, session, 1)  # one pending, the others undelivered
        found = backlogs(client, [*sessions, "never-appended"], at_ms(T0_MS + 20_000))
        client.close()
        assert len({cluster.master_of(stream_key(s)).port for s in sessions}) > 1
    assert found == {
        **{s: Backlog(n + 2, 20.0) for n, s in enumerate(sessions)},
        "never-appended": Backlog(0, 0.0),
    }

"""Several aggregators in one consumer group: a session's batches are folded by whichever
reads first, in any order; the figures stay exact and `min_position` waits for the entry
asked for, not for the newest one folded."""

import threading
from typing import Any

from services.aggregator.check import check
from services.aggregator.consumer import Consumer
from services.aggregator.group import ConsumerConfig
from shared.stream import stream_key
from tests.conftest import new_id
from tests.faults.audit import reference_figures
from tests.faults.load import Traffic
from tests.integration.conftest import ADMIN, Stack


def deal(session: str, deal_id: str, amount: str) -> dict[str, Any]:
    return {
        "session_id": session,
        "deal_id": deal_id,
        "title": "Stage deal",
        "kind": "contract",
        "amount": amount,
    }


def post_deal(stack: Stack, session: str, deal_id: str, amount: str) -> str:
    response = stack.ingest.post("/v1/deals", json=deal(session, deal_id, amount), headers=ADMIN)
    assert response.status_code == 202, response.text
    position: str = response.json()["position"]
    return position


def test_a_position_is_waited_for_even_when_a_later_batch_was_folded_first(
    stack: Stack,
) -> None:
    session = stack.new_session(stack.new_expo())
    first = post_deal(stack, session, "D1", "100.00")
    stack.consumer.refresh()  # the group follows the new session's stream
    slow = new_id("slow-aggregator")
    held = stack.read_as(slow, session)  # one aggregator holds entry 1, still folding it
    assert [entry_id.decode() for entry_id, _ in held] == [first]
    second = post_deal(stack, session, "D2", "200.00")
    stack.fold()  # another folds entry 2 meanwhile
    assert stack.totals(session)["position"] == second
    assert stack.totals(session)["current"]["deal_value_cny"] == "200.00"

    late = Consumer(stack.redis, stack.engine, ConsumerConfig(name=slow, block_ms=10))
    folder = threading.Timer(0.5, late.drain)  # the slow one commits entry 1 at last
    folder.start()
    try:
        waited = stack.api.get(f"/v1/sessions/{session}/totals", params={"min_position": first})
    finally:
        folder.join()
    body = waited.json()
    assert body["caught_up"] is True
    assert body["current"]["deal_value_cny"] == "300.00"


def test_a_position_dead_lettered_or_trimmed_is_settled_and_one_not_appended_is_not(
    stack: Stack,
) -> None:
    session = stack.new_session(stack.new_expo())
    folded = post_deal(stack, session, "D1", "100.00")
    garbage: Any = stack.redis.xadd(stack_key := stream_key(session), {b"event": b"not json"})
    stack.fold()
    assert stack.redis.xlen(f"expo:{{{session}}}:dead") == 1

    def caught_up(position: str) -> bool:
        params = {"min_position": position}
        body = stack.api.get(f"/v1/sessions/{session}/totals", params=params).json()
        return bool(body["caught_up"])

    assert caught_up(garbage.decode())  # set aside and acknowledged: nothing more to wait for
    stack.redis.xtrim(stack_key, maxlen=0)
    assert caught_up(folded)  # trimmed: only ever below what was folded or set aside
    ms, _, _ = garbage.decode().partition("-")
    assert not caught_up(f"{int(ms) + 60_000}-0")  # not appended yet: waited for, in vain


def test_two_aggregators_folding_one_session_at_once_count_each_event_once(
    stack: Stack,
) -> None:
    sessions = (stack.new_session(stack.new_expo()),)
    traffic = Traffic(sessions, seed=7)
    items = traffic.items(3000)
    posted = items + traffic.rng.sample(items, 300)  # retries of acknowledged events
    for start in range(0, len(posted), 500):
        response = stack.ingest.post(
            "/v1/events:batch", json={"events": posted[start : start + 500]}, headers=ADMIN
        )
        assert {r["status"] for r in response.json()["results"]} == {"accepted"}

    folders = [
        Consumer(stack.redis, stack.engine, ConsumerConfig(name=new_id("agg"), batch_size=25))
        for _ in range(2)
    ]
    together = threading.Barrier(2)
    handled = [0, 0]

    def fold(index: int) -> None:
        together.wait()
        handled[index] = folders[index].drain()

    threads = [threading.Thread(target=fold, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(handled), f"each aggregator should have folded some batches: {handled}"
    expected = reference_figures(items, sessions)[sessions[0]]
    assert stack.totals(sessions[0])["current"] == expected
    assert check(stack.engine, sessions) == []


def test_the_rebuild_check_is_clean_while_aggregators_commit(stack: Stack) -> None:
    sessions = (stack.new_session(stack.new_expo()),)
    items = Traffic(sessions, seed=8).items(2000)
    for start in range(0, len(items), 500):
        response = stack.ingest.post(
            "/v1/events:batch", json={"events": items[start : start + 500]}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
    folder = Consumer(stack.redis, stack.engine, ConsumerConfig(name=new_id("agg"), batch_size=20))
    folding = threading.Thread(target=folder.drain)
    folding.start()
    checks, differences = 0, []
    while folding.is_alive() or not checks:
        differences += check(stack.engine, sessions)
        checks += 1
    folding.join()
    assert differences == [], f"{len(differences)} differences in {checks} checks"
    assert stack.totals(sessions[0])["current"] == reference_figures(items, sessions)[sessions[0]]

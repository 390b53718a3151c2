"""When `expo up` starts a child again, and when it gives up on it."""

from services.children import exit_reason
from services.supervisor import Policy, Restarts


def test_the_pause_doubles_from_half_a_second_to_thirty() -> None:
    restarts = Restarts(Policy(burst=100))
    pauses = [restarts.next_delay(now=float(t), ran=1.0) for t in range(9)]
    assert pauses == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_a_child_that_ran_a_minute_starts_its_backoff_afresh() -> None:
    restarts = Restarts(Policy())
    assert [restarts.next_delay(now=t, ran=1.0) for t in (0.0, 2.0, 5.0)] == [0.5, 1, 2]
    assert restarts.next_delay(now=70.0, ran=60.0) == 0.5


def test_five_exits_within_a_minute_give_up() -> None:
    restarts = Restarts(Policy())
    assert None not in [restarts.next_delay(now=t, ran=1.0) for t in (0.0, 2.0, 5.0, 9.0)]
    assert restarts.next_delay(now=16.0, ran=1.0) is None


def test_exits_spread_over_more_than_a_minute_never_give_up() -> None:
    restarts = Restarts(Policy())
    assert all(restarts.next_delay(now=t * 20.0, ran=19.0) for t in range(20))


def test_an_exit_is_named_by_its_signal_or_code() -> None:
    assert exit_reason(-9) == "signal 9"
    assert exit_reason(3) == "exit code 3"

"""The display feed screens poll: its ETag moves with every change a screen would show, a
304 never stands for an outdated body, and the reads behind it honour the token rules."""

import asyncio
import threading
import time
from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.display import FRESH_SECONDS, IDLE_SECONDS, Displays, Rendered
from shared.db import read_only
from tests.integration.conftest import ADMIN, Stack
from tests.integration.test_figures_api import changed_display, checkin
from tests.seeds import FOUR_PREVIOUS_SESSIONS
from tests.wait import wait_until


def display(stack: Stack, expo: str) -> tuple[str, dict[str, Any]]:
    answer = stack.api.get(f"/v1/display/{expo}")
    assert answer.status_code == 200, answer.text
    return answer.headers["etag"], answer.json()


def unchanged(stack: Stack, expo: str, etag: str) -> bool:
    answer = stack.api.get(f"/v1/display/{expo}", headers={"If-None-Match": etag})
    return answer.status_code == 304 and answer.headers["etag"] == etag


def folded_display(stack: Stack, expo: str, etag: str, checkins: int) -> Any:
    """The display's first answer that shows `checkins` folded and nothing waiting: bodies
    showing the check-in waiting (`unfolded`: 1) may come before it, and a body read while
    the fold was acknowledging may show it both folded and, for a moment, waiting."""

    def shown() -> Any:
        answer = changed_display(stack, expo, etag)
        body = answer.json()
        return answer if (body["current"]["checkins"], body["unfolded"]) == (checkins, 0) else None

    return wait_until(shown, timeout=2, what=f"the display to show {checkins} check-ins")


def test_the_display_etag_moves_with_each_fold_status_change_and_baseline(stack: Stack) -> None:
    expo = stack.new_expo()
    session = stack.new_session(expo, 5, "planned")
    etag, body = display(stack, expo)
    assert body["session"]["status"] == "planned"

    stack.api.patch(f"/v1/sessions/{session}", json={"status": "open"}, headers=ADMIN)
    opened = changed_display(stack, expo, etag)
    assert opened.json()["session"]["status"] == "open"

    checkin(stack, session, "A1", "CN")
    stack.fold()

    folded = folded_display(stack, expo, opened.headers["etag"], checkins=1)
    assert folded.json()["unfolded"] == 0

    added = stack.api.post(
        f"/v1/expos/{expo}/baselines", json=FOUR_PREVIOUS_SESSIONS, headers=ADMIN
    )
    assert added.status_code == 201
    with_baseline = changed_display(stack, expo, folded.headers["etag"])
    assert with_baseline.json()["cumulative"]["deals"] == 2107
    assert with_baseline.json()["editions"] == 5

    stack.api.patch(f"/v1/sessions/{session}", json={"status": "closed"}, headers=ADMIN)
    closed = changed_display(stack, expo, with_baseline.headers["etag"])
    assert closed.json()["session"]["status"] == "closed"
    assert unchanged(stack, expo, closed.headers["etag"])
    star = stack.api.get(f"/v1/display/{expo}", headers={"If-None-Match": "*"})
    assert star.status_code == 304


def test_once_a_change_shows_no_answer_hides_it_again(stack: Stack) -> None:
    expo = stack.new_expo()
    session = stack.new_session(expo, 1)
    before, _ = display(stack, expo)
    for checkins, attendee in enumerate(("A1", "A2", "A3"), start=1):
        checkin(stack, session, attendee, "DE")
        stack.fold()
        shown = folded_display(stack, expo, before, checkins)
        after = shown.headers["etag"]
        for _ in range(20):
            again = stack.api.get(f"/v1/display/{expo}", headers={"If-None-Match": before})
            assert (again.status_code, again.headers["etag"]) == (200, after)
            assert again.content == shown.content
            assert unchanged(stack, expo, after)
        before = after
    assert display(stack, expo)[1]["current"]["attendees"] == 3


def committed_a_while_ago(stack: Stack, session: str, attendee: str) -> None:
    """Check an attendee in, fold it, and wait until that commit is `FRESH_SECONDS` old."""
    checkin(stack, session, attendee, "FR")
    assert stack.fold() == 1
    committed = time.monotonic()
    wait_until(lambda: time.monotonic() - committed >= FRESH_SECONDS, what="the fold to age")


def test_the_first_poll_after_a_quiet_spell_shows_the_last_fold(stack: Stack) -> None:
    expo = stack.new_expo()
    session = stack.new_session(expo, 1)
    polled_at = time.monotonic()
    etag, _ = display(stack, expo)
    quiet = 1.5 * IDLE_SECONDS  # longer than the feed keeps re-checking an unpolled expo
    wait_until(lambda: time.monotonic() - polled_at >= quiet, what="a quiet spell")

    committed_a_while_ago(stack, session, "A1")
    first = stack.api.get(f"/v1/display/{expo}", headers={"If-None-Match": etag})
    assert first.status_code == 200
    assert first.json()["current"]["attendees"] == 1


def test_a_lone_poller_is_never_one_poll_behind(stack: Stack) -> None:
    expo = stack.new_expo()
    session = stack.new_session(expo, 1)
    etag, _ = display(stack, expo)
    for count, attendee in enumerate(("A1", "A2", "A3"), start=1):
        committed_a_while_ago(stack, session, attendee)
        polled = stack.api.get(f"/v1/display/{expo}", headers={"If-None-Match": etag})
        assert polled.status_code == 200
        assert polled.json()["current"]["attendees"] == count
        etag = polled.headers["etag"]
        assert unchanged(stack, expo, etag)


def test_an_unknown_expo_is_404_and_displays_as_soon_as_it_is_created(stack: Stack) -> None:
    expo = "expo-created-later-" + stack.new_expo()
    missing = stack.api.get(f"/v1/display/{expo}")
    assert (missing.status_code, missing.json()["reason"]) == (404, "unknown_expo")
    created = stack.api.post("/v1/expos", json={"id": expo, "name": "Later"}, headers=ADMIN)
    assert created.status_code == 201
    assert display(stack, expo)[1]["expo_name"] == "Later"


def test_a_private_display_needs_a_valid_token_on_every_request(stack: Stack) -> None:
    expo = stack.new_expo()
    stack.new_session(expo, 1)
    private = stack.settings.model_copy(update={"public_reads": False})
    issued = stack.api.post("/v1/tokens", json={"role": "display"}, headers=ADMIN).json()
    token = {"Authorization": f"Bearer {issued['token']}"}
    with TestClient(create_app(private)) as api:
        assert api.get(f"/v1/display/{expo}").status_code == 401
        etag = api.get(f"/v1/display/{expo}", headers=token).headers["etag"]
        assert (
            api.get(f"/v1/display/{expo}", headers={**token, "If-None-Match": etag}).status_code
            == 304
        )
        stack.api.delete(f"/v1/tokens/{issued['id']}", headers=ADMIN)
        assert (
            api.get(f"/v1/display/{expo}", headers={**token, "If-None-Match": etag}).status_code
            == 401
        )


def test_a_wrong_token_gets_401_even_for_a_body_in_memory(stack: Stack) -> None:
    expo = stack.new_expo()
    stack.new_session(expo, 1)
    etag, _ = display(stack, expo)
    assert unchanged(stack, expo, etag)
    wrong = {"Authorization": "Bearer expo_not-a-token", "If-None-Match": etag}
    refused = stack.api.get(f"/v1/display/{expo}", headers=wrong)
    assert (refused.status_code, refused.json()["reason"]) == (401, "unauthorized")


def test_a_poll_that_meets_a_read_just_ended_waits_for_a_newer_one_and_answers(
    stack: Stack,
) -> None:
    """A read that has ended while its callbacks wait in the event loop is no read in
    flight: a poll that needs a newer one starts it (before, it awaited the ended read
    again and again without yielding, and the API's event loop spun at full CPU)."""
    expo = stack.new_expo()
    displays = Displays(read_only(stack.engine), stack.redis)
    before = replace(displays.check(expo, None), checked=time.monotonic() - 60)

    async def ended() -> Rendered:
        return before

    async def poll() -> Rendered:
        read = asyncio.create_task(ended())
        await asyncio.sleep(0)  # it runs to its end; nothing has kept its result yet
        displays.checking[expo] = read
        return await displays.get(expo)

    answers: list[Rendered] = []
    poller = threading.Thread(target=lambda: answers.append(asyncio.run(poll())), daemon=True)
    poller.start()
    poller.join(timeout=30)
    assert answers, "the poll never answered: it spun on the ended read"
    assert answers[0].checked > before.checked

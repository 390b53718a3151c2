"""Which ingest origin the pages' security policy lets them post to."""

import pytest
from starlette.requests import Request

from services.api.pages import ingest_source
from shared.settings import Settings


def request_to(host: str) -> Request:
    headers = [(b"host", host.encode("latin-1"))]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("host", "source"),
    [
        ("127.0.0.1:8000", "127.0.0.1:8001"),
        ("expo.local", "expo.local:8001"),
        ("[::1]:8000", "[::1]:8001"),
        ("evil; script-src *", None),
        ("a b", None),
    ],
)
def test_the_pages_may_post_to_their_own_host_on_the_ingest_port(
    host: str, source: str | None
) -> None:
    settings = Settings(database_url="sqlite://", ingest_port=8001)
    assert ingest_source(settings, request_to(host)) == source


def test_a_public_ingest_url_is_the_origin_the_pages_may_post_to() -> None:
    settings = Settings(database_url="sqlite://", public_ingest_url="https://ingest.expo.cn/x")
    assert ingest_source(settings, request_to("expo.cn")) == "https://ingest.expo.cn"


def test_an_odd_public_ingest_url_is_left_out_of_the_policy() -> None:
    settings = Settings(database_url="sqlite://", public_ingest_url="javascript:alert(1)")
    assert ingest_source(settings, request_to("expo.cn")) is None

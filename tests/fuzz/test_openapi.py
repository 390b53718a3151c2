"""Schemathesis against both services' OpenAPI documents, in-process over real Redis and
SQLite, as the admin: no answer is a 5xx, and every answer keeps to its own document
(status declared, content type, headers, body schema). Bounded: a fixed seed and a fixed
number of generated requests per operation, valid and invalid ones."""

import re
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, seed
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.api.app import create_app as create_api
from services.ingest.app import create_app as create_ingest
from shared.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.fuzz.conftest import Targets

AnyCase = Case[Any]
Operation = APIOperation[Any, Any, Any, Any]

SEED = 20171116
EXAMPLES = 30
STREAM_SECONDS = 0.5
AUTHORIZATION = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
POSITION = re.compile(r"^\d{1,20}-\d{1,20}$")
SESSION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Not positive_data_acceptance: valid by the schema is not valid by the domain (an unknown
# country code or timezone, 1.0 for an integer); those answers are 422 problems, checked here.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
SERVICES: dict[str, Callable[[Settings], FastAPI]] = {"ingest": create_ingest, "api": create_api}


def operations() -> list[tuple[str, str, str]]:
    """(service, method, path) of every operation in the two documents."""
    found = []
    for name, create in SERVICES.items():
        document = create(Settings(database_url="sqlite://")).openapi()
        for path, methods in document["paths"].items():
            found += [(name, method.upper(), path) for method in methods]
    return found


def _session(value: Any, session_id: str) -> Any:
    """A well-formed session id is swapped for one that exists; a malformed one is kept, so
    a case generated to be invalid stays invalid."""
    return session_id if isinstance(value, str) and SESSION_ID.match(value) else value


def _item(item: Any, session_id: str) -> Any:
    if isinstance(item, dict) and "session_id" in item:
        return {**item, "session_id": _session(item["session_id"], session_id)}
    return item


# Stream entry ids at the edge of what Redis holds (two unsigned 64-bit parts): the plain
# pattern of the document seldom draws them.
EDGE_PARTS = st.sampled_from([2**64, 2**64 - 1, 10**20 - 1, 2**63, 0])
EDGE_ENTRY_IDS = st.builds(lambda ms, seq: f"{ms}-{seq}", EDGE_PARTS, EDGE_PARTS)


def edge(case: AnyCase, data: st.DataObject) -> None:
    """A well-formed entry id in a path often becomes one at the edge of the range (the
    edge comes first, so that Hypothesis draws it from the first examples on)."""
    path = dict(case.path_parameters or {})
    entry_id = path.get("entry_id")
    if not (isinstance(entry_id, str) and POSITION.match(entry_id)):
        return
    path["entry_id"] = data.draw(st.one_of(EDGE_ENTRY_IDS, st.just(entry_id)), label="entry id")
    case.path_parameters = path


def aim(case: AnyCase, targets: Targets, data: st.DataObject) -> str | None:
    """Half of the cases go at an expo and sessions that exist (open, planned, closed)."""
    edge(case, data)
    if not data.draw(st.booleans(), label="aim at existing records"):
        return None
    session_id = data.draw(st.sampled_from(targets.sessions), label="session")
    if case.path_parameters:
        path = dict(case.path_parameters)
        if "session_id" in path:
            path["session_id"] = _session(path["session_id"], session_id)
        if "expo_id" in path:
            path["expo_id"] = targets.expo_id
        case.path_parameters = path
    if isinstance(case.body, dict):
        body = _item(case.body, session_id)
        if isinstance(body.get("events"), list):
            body = {**body, "events": [_item(item, session_id) for item in body["events"]]}
        case.body = body
    return session_id


def no_wait(case: AnyCase, session_id: str | None, targets: Targets) -> None:
    """Totals wait up to 5 s for a position that is not folded yet: a well-formed
    `min_position` becomes one the open session has folded, or goes; a malformed one stays."""
    query = dict(case.query or {})
    if isinstance(query.get("min_position"), str) and POSITION.match(query["min_position"]):
        del query["min_position"]
        if session_id == targets.open_session:
            query["min_position"] = "0-1"
        case.query = query


def strategy(operation: Operation) -> st.SearchStrategy[AnyCase]:
    modes = [GenerationMode.POSITIVE]
    if operation.body or any(True for _ in operation.iter_parameters()):
        modes.append(GenerationMode.NEGATIVE)
    return st.one_of([operation.as_strategy(mode, headers=dict(AUTHORIZATION)) for mode in modes])


@pytest.mark.parametrize(("service", "method", "path"), operations())
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_answer_keeps_to_the_openapi_document(
    service: str, method: str, path: str, settings: Settings, targets: Targets
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", SERVICES[service](settings))
    operation = schema[path][method]
    timeout = STREAM_SECONDS if path.endswith("/stream") else 30

    @seed(SEED)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=strategy(operation), data=st.data())
    def run(case: AnyCase, data: st.DataObject) -> None:
        no_wait(case, aim(case, targets, data), targets)
        case.call_and_validate(headers=AUTHORIZATION, checks=CHECKS, timeout=timeout)

    run()

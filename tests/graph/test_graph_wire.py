"""Request paths, error mapping of Graph answers, and the HTTP counters."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict

from importer.errors import PermanentGraphError, TransientGraphError
from importer.graph.wire import HttpStats, SubResponse, skills_path


@pytest.mark.parametrize(
    ("user", "path"),
    [
        ("ann@contoso.com", "/users/ann%40contoso.com/profile/skills"),
        (
            "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "/users/ann_fabrikam.com%23EXT%23%40contoso.onmicrosoft.com/profile/skills",
        ),
        ("sean.o'neil@contoso.com", "/users/sean.o%27neil%40contoso.com/profile/skills"),
        ("zoë.müller@contoso.com", "/users/zo%C3%AB.m%C3%BCller%40contoso.com/profile/skills"),
        (
            "6f1c4a3e-2b7d-4c1e-9a8f-0d2e3f4a5b6c",
            "/users/6f1c4a3e-2b7d-4c1e-9a8f-0d2e3f4a5b6c/profile/skills",
        ),
    ],
)
def test_user_becomes_one_percent_encoded_segment(user: str, path: str) -> None:
    assert skills_path(user) == path


@pytest.mark.parametrize("crafted", ["../admin", "a/b", "..", ".", "x?y=1", "x#frag", "a b"])
def test_a_crafted_user_can_never_change_the_request_path(crafted: str) -> None:
    path = skills_path(crafted)
    segments = path.split("/")
    assert segments[:2] == ["", "users"]
    assert segments[3:] == ["profile", "skills"]
    assert segments[2] not in {".", ".."}
    assert not any(c in path for c in "?# ")


def test_skill_id_is_its_own_segment() -> None:
    assert (
        skills_path("ann@contoso.com", "a/b c")
        == "/users/ann%40contoso.com/profile/skills/a%2Fb%20c"
    )


def _answer(status: int, body: Any = None, retry_after: float | None = None) -> SubResponse:
    return SubResponse(
        id="1",
        status=status,
        body=body,
        headers=CIMultiDict(),
        request_id="req-1",
        retry_after=retry_after,
    )


def _graph_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "req-1"}}}


def test_success_is_no_error() -> None:
    assert _answer(201, {"id": "s1"}).error() is None
    assert _answer(204).error() is None


def test_unknown_user_is_404_request_resource_not_found() -> None:
    error = _answer(404, _graph_error("Request_ResourceNotFound", "User not found")).error()
    assert isinstance(error, PermanentGraphError)
    assert error.status == 404
    assert error.code == "Request_ResourceNotFound"
    assert error.request_id == "req-1"
    assert str(error) == "HTTP 404 Request_ResourceNotFound: User not found"


def test_throttled_answer_is_transient_and_carries_its_retry_after() -> None:
    error = _answer(429, _graph_error("TooManyRequests", "Please retry"), retry_after=2.5).error()
    assert isinstance(error, TransientGraphError)
    assert error.retry_after == 2.5


@pytest.mark.parametrize(("status", "transient"), [(503, True), (504, True), (500, False)])
def test_server_errors_map_by_status(status: int, transient: bool) -> None:
    error = _answer(status, "<html>oops</html>").error()
    assert isinstance(error, TransientGraphError if transient else PermanentGraphError)
    assert error.status == status


def test_unknown_error_with_empty_message_gets_the_status_phrase() -> None:
    error = _answer(403, _graph_error("UnknownError", "")).error()
    assert error is not None
    assert str(error) == "HTTP 403 UnknownError: Forbidden"


def test_http_stats_are_reported_as_a_plain_dict() -> None:
    stats = HttpStats(requests=3, batches=2, sub_requests=21, throttled=1)
    stats.retries += 1
    assert stats.as_dict() == {
        "requests": 3,
        "batches": 2,
        "sub_requests": 21,
        "throttled": 1,
        "retries": 1,
    }


def test_the_interface_the_dispatcher_and_cli_use_stays_importable() -> None:
    import importer.graph
    from importer.graph import auth, client, retry

    assert {"GraphClient", "SubRequest", "SubResponse", "HttpStats", "skills_path"} <= set(
        client.__all__
    )
    assert {
        "RETRY_STATUSES",
        "RetryAfterGate",
        "backoff_delay",
        "is_transient_status",
        "parse_retry_after",
        "with_retries",
    } <= set(retry.__all__)
    assert {"make_token_provider", "login", "describe_token", "close_token_provider"} <= set(
        auth.__all__
    )
    for name in importer.graph.__all__:
        assert getattr(importer.graph, name) is not None

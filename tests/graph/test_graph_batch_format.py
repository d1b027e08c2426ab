"""The ``$batch`` envelope: what is sent, and how answers are put back on their requests."""

from __future__ import annotations

from typing import Any

import pytest

from importer.errors import TransientGraphError
from importer.graph.batch_format import (
    encode_batch,
    match_batch_answers,
    throttled_item_retry_afters,
)
from importer.graph.wire import SubRequest, SubResponse, skills_path

LIST = SubRequest("a", "GET", skills_path("ann@contoso.com"))
CREATE = SubRequest("b", "POST", skills_path("ann@contoso.com"), {"displayName": "Python"})
PATCH = SubRequest("c", "PATCH", skills_path("ann@contoso.com", "s1"), {"proficiency": "expert"})


def test_items_are_relative_and_only_those_with_a_body_carry_content_type() -> None:
    assert encode_batch([LIST, CREATE]) == {
        "requests": [
            {"id": "a", "method": "GET", "url": "/users/ann%40contoso.com/profile/skills"},
            {
                "id": "b",
                "method": "POST",
                "url": "/users/ann%40contoso.com/profile/skills",
                "headers": {"Content-Type": "application/json"},
                "body": {"displayName": "Python"},
            },
        ]
    }


def _as_response(request: SubRequest, status: int, headers: Any, body: Any) -> SubResponse:
    return SubResponse(request.id, status, body, headers)


def test_answers_are_matched_by_id_case_insensitively_in_request_order() -> None:
    body = {
        "responses": [
            {"id": "C", "status": 200, "body": {"id": "s1"}},
            {"id": "zzz", "status": 500, "body": None},
            {"id": "a", "status": 200, "headers": {"Content-Type": "application/json"}},
            {"id": "b", "status": 429, "headers": {"retry-after": "3"}, "body": None},
        ]
    }
    answers = match_batch_answers([LIST, CREATE, PATCH], body)
    assert [a.status for a in answers] == [200, 429, 200]
    assert answers[1].headers["Retry-After"] == "3"
    assert answers[0].headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "body",
    [
        {"responses": [{"id": "a", "status": 200}]},
        {"responses": [{"id": "a", "status": 200}, {"id": "b", "status": "201"}]},
        {"error": {"code": "BadGateway"}},
        None,
    ],
)
def test_an_unanswered_item_becomes_a_retryable_maybe_sent_timeout(body: Any) -> None:
    answers = match_batch_answers([LIST, CREATE], body)
    missing = answers[1]
    assert missing.status == 504
    error = _as_response(CREATE, *missing).error()
    assert isinstance(error, TransientGraphError)
    assert error.code == "MissingBatchResponse"
    assert error.sent is True


def test_only_throttled_items_retry_after_is_collected_whatever_its_case() -> None:
    body = {
        "responses": [
            {"id": "a", "status": 429, "headers": {"retry-after": "2"}},
            {"id": "b", "status": 503, "headers": {"Retry-After": "30"}},
            {"id": "c", "status": 429, "headers": {"Retry-After": "5"}},
            {"id": "d", "status": 429},
            "garbage",
        ]
    }
    assert throttled_item_retry_afters(body) == ["2", "5"]
    assert throttled_item_retry_afters(None) == []

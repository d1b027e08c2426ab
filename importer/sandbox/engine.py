"""Answering one Graph request with throttling and faults around the real work.

Used for plain requests and for each ``$batch`` item alike, which is how the real service
evaluates batch items: one by one against throttling. Latency and connection resets are applied
per HTTP request by the app, not here.
"""

from __future__ import annotations

from urllib.parse import unquote

from importer.sandbox.external import route_external
from importer.sandbox.people_admin import route_people_admin
from importer.sandbox.skill_api import GraphCall, route_call
from importer.sandbox.state import SandboxState
from importer.sandbox.users_api import answer_organization, answer_users
from importer.sandbox.users_delta import answer_users_delta
from importer.sandbox.wire import GraphResponse, graph_error

__all__ = ["answer_call", "throttled_response"]


def answer_call(
    state: SandboxState, call: GraphCall, arrival: float, connection: object | None = None
) -> GraphResponse:
    """Throttle, maybe fail, else route the call; count the outcome.

    Args:
        state: The sandbox state.
        call: The parsed, authenticated request.
        arrival: When the HTTP request carrying it arrived (clock seconds), for the
            premature-request check.
        connection: The connection it came on, if known (see :class:`ThrottleGate`).

    Returns:
        The answer; nothing is committed here (the caller commits once per HTTP request).
    """
    decision = state.gate.check(arrival, connection)
    if decision.retry_after is not None:
        state.stats.throttled += 1
        if decision.premature:
            state.stats.premature_requests += 1
        response = throttled_response(call, decision.retry_after)
    elif state.dice.hit(state.faults.error_503_rate):
        response = graph_error(
            503, "serviceNotAvailable", "The service is temporarily unavailable.", call.ctx
        )
    else:
        response = _route(state, call)
        if response.wrote:
            state.stats.writes += 1
            if state.dice.hit(state.faults.commit_then_504_rate):
                # The write stays stored: the client is told it failed although it happened.
                response = graph_error(
                    504, "UnknownError", "The gateway timed out waiting for the service.", call.ctx
                )
    state.stats.record(call.method, response.status)
    return response


def _route(state: SandboxState, call: GraphCall) -> GraphResponse:
    if call.raw_segments == ["users"]:
        return answer_users(state, call)
    if call.raw_segments in (["users", "delta"], ["users", "delta()"]):
        return answer_users_delta(state, call)
    if call.raw_segments == ["organization"]:
        return answer_organization(state, call)
    head = call.raw_segments[:1]
    if head in (["external"], ["admin"]):
        segments = [unquote(raw) for raw in call.raw_segments]
        if head == ["external"]:
            return route_external(state, call, segments)
        return route_people_admin(state, call, segments)
    return route_call(state, call)


def throttled_response(call: GraphCall, retry_after: int) -> GraphResponse:
    """A 429 ``TooManyRequests`` answer carrying its own integer ``Retry-After``."""
    response = graph_error(
        429,
        "TooManyRequests",
        "Please retry again later.",
        call.ctx,
        **{"Retry-After": str(retry_after)},
    )
    response.retry_after = retry_after
    return response

"""The Graph client against the real sandbox app on 127.0.0.1 (no mocks).

The sandbox and the client's gate share one fake clock whose sleep moves time forward, so
Retry-After windows are honoured and checked without really waiting.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from importer.config import load_settings
from importer.errors import GraphError, PermanentGraphError, TransientGraphError
from importer.graph.auth import StaticTokenProvider, close_token_provider, make_token_provider
from importer.graph.client import (
    GraphClient,
    SubRequest,
    SubResponse,
    TokenProvider,
    skills_path,
)
from importer.graph.retry import RetryAfterGate
from importer.sandbox import FaultConfig, SandboxConfig, create_app
from importer.sandbox.app import STATE_KEY
from tests.conftest import FakeTime

ServerFactory = Callable[..., Awaitable[TestServer]]

ANN = ("0b6f6f57-8c1e-4a0b-9d55-1c1d9b3e0001", "ann@contoso.com")
GUEST = ("0b6f6f57-8c1e-4a0b-9d55-1c1d9b3e0002", "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com")
SEAN = ("0b6f6f57-8c1e-4a0b-9d55-1c1d9b3e0003", "sean.o'neil@contoso.com")
ZOE = ("0b6f6f57-8c1e-4a0b-9d55-1c1d9b3e0004", "zoë.müller@contoso.com")
USERS = [ANN, GUEST, SEAN, ZOE]


def base_url(server: TestServer) -> str:
    return str(server.make_url("/")).rstrip("/")


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime(5000.0)


@pytest.fixture
def faults() -> FaultConfig:
    return FaultConfig(seed=7)


@pytest.fixture
async def sandbox(
    aiohttp_server: ServerFactory, fake_time: FakeTime, faults: FaultConfig
) -> TestServer:
    config = SandboxConfig(users=USERS, page_size=7, faults=faults)
    return await aiohttp_server(create_app(config, clock=fake_time.clock, sleep=fake_time.sleep))


def make_client(
    server: TestServer,
    fake_time: FakeTime,
    token_provider: TokenProvider | None = None,
    **kwargs: Any,
) -> GraphClient:
    gate = RetryAfterGate(sleep=fake_time.sleep, clock=fake_time.clock)
    kwargs.setdefault("request_timeout_s", 10)
    return GraphClient(
        base_url(server),
        "beta",
        token_provider or StaticTokenProvider("sandbox"),
        concurrency=4,
        gate=gate,
        sleep=fake_time.sleep,
        **kwargs,
    )


@pytest.fixture
async def client(sandbox: TestServer, fake_time: FakeTime) -> AsyncIterator[GraphClient]:
    async with make_client(sandbox, fake_time) as graph:
        yield graph


def create(request_id: str, user: str, name: str) -> SubRequest:
    return SubRequest(request_id, "POST", skills_path(user), {"displayName": name})


def sandbox_stats(server: TestServer) -> Any:
    return server.app[STATE_KEY].stats


async def test_created_skill_is_listed_back(client: GraphClient) -> None:
    created = await client.send(create("1", ANN[1], "Python"))
    assert created.status == 201
    assert created.error() is None
    skills = await client.list_skills(ANN[1])
    assert [(s["id"], s["displayName"]) for s in skills] == [(created.body["id"], "Python")]


@pytest.mark.parametrize("user", [GUEST, SEAN, ZOE], ids=["guest", "apostrophe", "non-ascii"])
async def test_unusual_upns_reach_the_right_user(
    client: GraphClient, user: tuple[str, str]
) -> None:
    guid, upn = user
    created = await client.send(create("1", upn, f"Skill of {upn}"))
    assert created.status == 201
    by_guid = await client.list_skills(guid)
    assert [s["displayName"] for s in by_guid] == [f"Skill of {upn}"]
    assert await client.list_skills(ANN[1]) == []


async def test_unknown_user_is_404_request_resource_not_found(client: GraphClient) -> None:
    with pytest.raises(PermanentGraphError) as caught:
        await client.list_skills("nobody@contoso.com")
    error = caught.value
    assert error.status == 404
    assert error.code == "Request_ResourceNotFound"
    assert error.request_id
    assert client.stats.retries == 0


async def test_paging_follows_next_link_and_gets_every_skill_once(
    client: GraphClient,
) -> None:
    names = [f"Skill {i:02d}" for i in range(20)]
    answers = await client.send_batch([create(str(i), ANN[1], n) for i, n in enumerate(names)])
    assert {a.status for a in answers} == {201}
    before = client.stats.requests
    skills = await client.list_skills(ANN[1])
    assert sorted(s["displayName"] for s in skills) == names
    assert len({s["id"] for s in skills}) == 20
    assert client.stats.requests - before == 3  # pages of 7, 7 and 6


async def test_batch_answers_come_back_in_request_order(
    sandbox: TestServer, client: GraphClient
) -> None:
    requests = [create(f"r{i}", USERS[i % 4][1], f"Skill {i}") for i in range(20)]
    answers = await client.send_batch(requests)
    assert [a.id for a in answers] == [r.id for r in requests]
    assert [a.body["displayName"] for a in answers] == [f"Skill {i}" for i in range(20)]
    assert client.stats.batches == 1
    assert client.stats.sub_requests == 20
    # The sandbox really does answer out of order, so the matching above is what put them back.
    items = [{"id": str(i), "method": "GET", "url": skills_path(ANN[1])} for i in range(20)]
    async with (
        aiohttp.ClientSession() as raw,
        raw.post(
            f"{base_url(sandbox)}/beta/$batch",
            json={"requests": items},
            headers={"Authorization": "Bearer sandbox"},
        ) as response,
    ):
        order = [item["id"] for item in (await response.json())["responses"]]
    assert order != [str(i) for i in range(20)]


async def test_item_429_closes_the_gate_and_no_request_leaves_early(
    sandbox: TestServer, client: GraphClient, faults: FaultConfig, fake_time: FakeTime
) -> None:
    faults.throttle_rps = 1
    answers = await client.send_batch(
        [SubRequest(str(i), "GET", skills_path(ANN[1])) for i in range(4)]
    )
    throttled = [a for a in answers if a.status == 429]
    assert len(throttled) == 3
    assert all(a.retry_after is not None and a.retry_after >= 1 for a in throttled)
    assert isinstance(throttled[0].error(), TransientGraphError)
    assert client.stats.throttled == 3
    longest = max(a.retry_after or 0 for a in throttled)
    assert client.gate.closed_until == pytest.approx(fake_time.now + longest)
    again = await client.send(SubRequest("again", "GET", skills_path(ANN[1])))
    assert again.status == 200
    assert sum(fake_time.sleeps) >= longest
    assert sandbox_stats(sandbox).premature_requests == 0


async def test_plain_429_closes_the_gate_for_every_later_request(
    sandbox: TestServer, client: GraphClient, faults: FaultConfig, fake_time: FakeTime
) -> None:
    faults.throttle_rps = 1
    listing = SubRequest("1", "GET", skills_path(ANN[1]))
    first, second = await client.send(listing), await client.send(listing)
    assert (first.status, second.status) == (200, 429)
    assert second.retry_after is not None
    announced_until = fake_time.now + second.retry_after
    # Throttling stops; the sandbox still counts any request arriving inside the window.
    faults.throttle_rps = 0
    later = await asyncio.gather(*(client.send(listing) for _ in range(3)))
    assert [answer.status for answer in later] == [200, 200, 200]
    assert fake_time.now >= announced_until
    assert sandbox_stats(sandbox).premature_requests == 0
    assert client.gate.throttled_events == 1


class ExpiringTokens:
    """A provider whose first token has expired; a refresh gives the sandbox token."""

    def __init__(self, fresh: str = "sandbox") -> None:
        self.current = "expired-token"
        self.fresh = fresh
        self.refreshes = 0

    async def __call__(self, force_refresh: bool) -> str:
        if force_refresh:
            self.refreshes += 1
            self.current = self.fresh
        return self.current


async def test_401_gets_a_fresh_token_and_is_retried_once(
    sandbox: TestServer, fake_time: FakeTime
) -> None:
    tokens = ExpiringTokens()
    async with make_client(sandbox, fake_time, tokens) as graph:
        answers = await asyncio.gather(
            *(graph.send(SubRequest(str(i), "GET", skills_path(ANN[1]))) for i in range(4))
        )
        assert {a.status for a in answers} == {200}
        assert tokens.refreshes == 1
        batch = await graph.send_batch([SubRequest("b", "GET", skills_path(ANN[1]))])
        assert batch[0].status == 200


async def test_a_second_401_is_returned_as_is(sandbox: TestServer, fake_time: FakeTime) -> None:
    tokens = ExpiringTokens(fresh="still-not-valid")
    async with make_client(sandbox, fake_time, tokens) as graph:
        answer = await graph.send(SubRequest("1", "GET", skills_path(ANN[1])))
        assert answer.status == 401
        assert tokens.refreshes == 1
        assert graph.stats.requests == 2
        with pytest.raises(PermanentGraphError) as caught:
            await graph.send_batch([SubRequest("b", "GET", skills_path(ANN[1]))])
        assert caught.value.status == 401


def _texts_of(error: BaseException) -> str:
    texts = []
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


SECRET = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.c2VjcmV0.super-secret-signature"


async def test_no_token_or_authorization_header_in_any_error(
    sandbox: TestServer, fake_time: FakeTime
) -> None:
    errors: list[GraphError] = []
    # A fixed token Graph refused stops its client, so each request gets a client of its own.
    async with make_client(sandbox, fake_time, StaticTokenProvider(SECRET)) as graph:
        with pytest.raises(PermanentGraphError) as listed:
            await graph.list_skills(ANN[1])
        errors.append(listed.value)
    async with make_client(sandbox, fake_time, StaticTokenProvider(SECRET)) as graph:
        with pytest.raises(PermanentGraphError) as batched:
            await graph.send_batch([create("1", ANN[1], "Python")])
        errors.append(batched.value)
    async with make_client(sandbox, fake_time, StaticTokenProvider(SECRET)) as graph:
        errors.append(_error_of(await graph.send(create("2", ANN[1], "Go"))))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    refused = GraphClient(
        f"http://127.0.0.1:{closed_port}",
        "beta",
        StaticTokenProvider(SECRET),
        concurrency=1,
        request_timeout_s=5,
    )
    async with refused:
        with pytest.raises(TransientGraphError) as unreachable:
            await refused.send(create("3", ANN[1], "Rust"))
        errors.append(unreachable.value)
    assert unreachable.value.sent is False
    assert [e.status for e in errors] == [401, 401, 401, None]
    for error in errors:
        text = _texts_of(error)
        assert "super-secret" not in text
        assert "eyJ0eX" not in text
        assert "authorization" not in text.lower()
        assert "bearer" not in text.lower()


def _error_of(answer: SubResponse) -> GraphError:
    error = answer.error()
    assert error is not None
    return error


async def test_dropped_connection_is_transient_and_may_have_been_sent(
    client: GraphClient, faults: FaultConfig
) -> None:
    faults.reset_rate = 1
    with pytest.raises(TransientGraphError) as caught:
        await client.send(create("1", ANN[1], "Python"))
    assert caught.value.sent is True
    assert caught.value.status is None
    assert "POST /beta/users/ann%40contoso.com/profile/skills" in str(caught.value)


async def test_timeout_is_transient_and_may_have_been_sent(
    aiohttp_server: ServerFactory,
) -> None:
    config = SandboxConfig(users=USERS, faults=FaultConfig(latency_ms=2000))
    slow = await aiohttp_server(create_app(config))
    graph = GraphClient(
        base_url(slow), "beta", StaticTokenProvider("sandbox"), concurrency=1, request_timeout_s=0.2
    )
    async with graph:
        with pytest.raises(TransientGraphError, match=r"no answer within 0\.2 s") as caught:
            await graph.send(create("1", ANN[1], "Python"))
    assert caught.value.sent is True


async def test_list_skills_retries_a_503_then_succeeds(
    sandbox: TestServer, faults: FaultConfig, fake_time: FakeTime
) -> None:
    faults.error_503_rate = 1

    async def sleep_while_the_service_recovers(seconds: float) -> None:
        faults.error_503_rate = 0
        await fake_time.sleep(seconds)

    async with make_client(sandbox, fake_time) as graph:
        graph._sleep = sleep_while_the_service_recovers
        assert await graph.list_skills(ANN[1]) == []
        assert graph.stats.retries == 1
        assert graph.stats.requests == 2


async def test_list_skills_gives_up_after_max_attempts(
    sandbox: TestServer, faults: FaultConfig, fake_time: FakeTime
) -> None:
    faults.error_503_rate = 1
    async with make_client(sandbox, fake_time, max_attempts=3) as graph:
        with pytest.raises(TransientGraphError) as caught:
            await graph.list_skills(ANN[1])
        assert caught.value.status == 503
        assert graph.stats.retries == 2
        assert graph.stats.requests == 3


async def test_list_skills_waits_out_a_429_as_announced_even_with_one_attempt_allowed(
    sandbox: TestServer, faults: FaultConfig, fake_time: FakeTime
) -> None:
    # Throttling has its own budget: a 429 says "come back later", not "this failed".
    faults.throttle_rps = 1
    async with make_client(sandbox, fake_time, max_attempts=1) as graph:
        assert (await graph.send(SubRequest("1", "GET", skills_path(ANN[1])))).status == 200
        started = fake_time.now

        assert await graph.list_skills(ANN[1]) == []

        assert graph.stats.throttled == 1
        assert graph.stats.retries == 1
        assert fake_time.now - started >= 1  # the announced Retry-After, waited in full
    assert sandbox_stats(sandbox).premature_requests == 0


async def test_list_skills_gives_up_at_once_when_graph_asks_for_more_than_the_wait_cap(
    sandbox: TestServer, faults: FaultConfig, fake_time: FakeTime
) -> None:
    faults.throttle_rps = 0.001  # the next token comes in about 1,000 s
    async with make_client(sandbox, fake_time, max_retry_wait_s=60) as graph:
        await graph.send(SubRequest("1", "GET", skills_path(ANN[1])))

        with pytest.raises(TransientGraphError) as caught:
            await graph.list_skills(ANN[1])

        assert caught.value.status == 429
        assert graph.stats.retries == 0
        assert fake_time.sleeps == []


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([], "1 to 20"),
        ([create(str(i), ANN[1], f"S{i}") for i in range(21)], "1 to 20"),
        ([create("a", ANN[1], "x"), create("A", ANN[1], "y")], "unique"),
        (
            [SubRequest("1", "GET", "https://graph.microsoft.com/beta" + skills_path(ANN[1]))],
            "relative",
        ),
    ],
)
async def test_malformed_batches_are_refused_before_sending(
    client: GraphClient, requests: list[SubRequest], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await client.send_batch(requests)
    assert client.stats.requests == 0


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example.com/beta/users/x/profile/skills?$skiptoken=1",
        "https://127.0.0.1/beta/users/x/profile/skills",
        "http://127.0.0.1:1/beta/users/x/profile/skills",
        "http://127.0.0.1:bad/beta/users/x/profile/skills",
    ],
)
async def test_next_link_to_another_host_is_refused(client: GraphClient, link: str) -> None:
    with pytest.raises(PermanentGraphError, match="another host"):
        await client.get_page(link)
    assert client.stats.requests == 0


async def test_configured_sandbox_and_token_methods_work_end_to_end(
    sandbox: TestServer, fake_time: FakeTime, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("{}\n", encoding="utf-8")
    sandbox_target = load_settings(config, environ={})
    token_method = load_settings(
        config,
        overrides={"target": {"graph": "https://graph.microsoft.com"}, "auth": {"method": "token"}},
        environ={"SKILLS_IMPORT_ACCESS_TOKEN": "sandbox"},
    )
    for settings in (sandbox_target, token_method):
        provider = make_token_provider(settings)
        async with make_client(sandbox, fake_time, provider) as graph:
            created = await graph.send(create("1", ANN[1], f"Via {settings.auth.method}"))
            assert created.status == 201
        await close_token_provider(provider)

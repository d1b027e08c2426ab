"""The "resolving users" progress moves with every directory request, not from 0 to N at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from importer.graph.auth import make_token_provider, sign_in_first
from importer.graph.client import GraphClient
from importer.progress import RESOLVING, RunProgress
from importer.resolve import resolve_users
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from importer.targets import open_graph
from tests.importing import settings_for

PEOPLE = 2_500
UPNS = [f"user{n:05d}@contoso.com" for n in range(PEOPLE)]


@dataclass(slots=True)
class RecordedProgress(RunProgress):
    """Progress that keeps every (count, note) the resolving phase showed."""

    shown: list[tuple[int, str]] = field(default_factory=list)

    def tell(self, phase: str, note: str) -> None:
        RunProgress.tell(self, phase, note)  # slots: no zero-argument super()
        self.shown.append((self.phases[phase].done, note))


@pytest.fixture
async def tenant() -> AsyncIterator[RunningSandbox]:
    users = [(f"00000000-0000-4000-8000-{n:012d}", upn) for n, upn in enumerate(UPNS)]
    async with await start_sandbox(SandboxConfig(users=users)) as sandbox:
        yield sandbox


async def _resolve(
    sandbox: RunningSandbox, tmp_path: Path, values: list[str], strategy: str, batch_size: int
) -> RecordedProgress:
    settings = settings_for(sandbox, tmp_path, batch_size=batch_size, concurrency=1)
    progress = RecordedProgress()
    token = await sign_in_first(make_token_provider(settings))
    client: GraphClient
    async with open_graph(settings, token) as client:
        resolution = await resolve_users(
            values, "userPrincipalName", client, settings.run, progress=progress, strategy=strategy
        )
    assert resolution.figures.people == len(values)
    assert progress.phases[RESOLVING].done == len(values)
    return progress


async def test_a_listing_shows_each_page_read_and_the_people_found_so_far(
    tenant: RunningSandbox, tmp_path: Path
) -> None:
    progress = await _resolve(tenant, tmp_path, UPNS, "listing", batch_size=20)
    assert progress.shown == [
        (999, "listing the directory: page 1, 999 users read"),
        (1_998, "listing the directory: page 2, 1,998 users read"),
        (2_500, "listing the directory: page 3, 2,500 users read"),
    ]
    assert "page 3, 2,500 users read" in progress.line()


async def test_lookups_show_each_answer_as_it_comes(tenant: RunningSandbox, tmp_path: Path) -> None:
    wanted = UPNS[:200]  # 14 lookups of up to 15 people, one a request
    progress = await _resolve(tenant, tmp_path, wanted, "lookups", batch_size=1)
    assert progress.shown[0] == (0, "looking users up")
    answers = progress.shown[1:]
    assert [note for _, note in answers] == [
        f"looking users up: {n} of 14 lookups answered" for n in range(1, 15)
    ]
    assert [done for done, _ in answers] == [min(15 * n, 200) for n in range(1, 15)]

"""Helpers for end-to-end import tests: write an input file, run the importer, read results."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from importer.config import Settings, load_settings
from importer.pipeline import RunResult, run_import
from importer.sandbox import FIXED_TOKEN, RunningSandbox

HEADER = ("user", "skill", "level", "category")


def write_csv(path: Path, rows: Iterable[Sequence[str]], header: Sequence[str] = HEADER) -> Path:
    """Write a UTF-8 CSV input file."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def settings_for(
    sandbox: RunningSandbox,
    tmp_path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    notify: Mapping[str, Any] | None = None,
    **run: Any,
) -> Settings:
    """Settings that point the importer at a running sandbox, reports under tmp_path.

    ``run``: ``run.*`` settings; ``notify``: ``notify.*``; ``environ``: the environment the
    settings read (none by default).
    """
    config = tmp_path / "config.yaml"
    if not config.exists():
        config.write_text("", encoding="utf-8")
    overrides: dict[str, Any] = {
        "target": {"graph": sandbox.base_url},
        "report": {"dir": str(tmp_path / "reports")},
    }
    if run:
        overrides["run"] = run
    if notify:
        overrides["notify"] = dict(notify)
    return load_settings(config, overrides, environ=environ or {})


async def import_file(sandbox: RunningSandbox, tmp_path: Path, path: Path, **run: Any) -> RunResult:
    """Run a real import of one file into the sandbox."""
    return await run_import([path], settings_for(sandbox, tmp_path, **run))


def results(result: RunResult) -> list[dict[str, str]]:
    """The rows of the run's results.csv."""
    with (result.report_dir / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


async def skills_of(sandbox: RunningSandbox, user: str) -> list[dict[str, Any]]:
    """A user's skills as the sandbox holds them (admin view, not the importer's client)."""
    url = f"{sandbox.base_url}/_sandbox/users/{_quote(user)}/skills"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    value = body["value"] if isinstance(body, dict) else body
    assert isinstance(value, list)
    return value


def _quote(user: str) -> str:
    from urllib.parse import quote

    return quote(user, safe="")


async def post_skill(sandbox: RunningSandbox, user: str, body: dict[str, object]) -> str:
    """Create a skill as another client would (a person, or an earlier run); return its id."""
    url = f"{sandbox.base_url}/beta/users/{_quote(user)}/profile/skills"
    headers = {"Authorization": f"Bearer {FIXED_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as response,
    ):
        assert response.status == 201
        skill_id: str = (await response.json())["id"]
    return skill_id


async def fixed_token(force_refresh: bool) -> str:
    """The sandbox's fixed token, as a ``TokenProvider``."""
    return FIXED_TOKEN

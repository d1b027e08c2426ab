"""How many skills per second the sandbox can create through ``$batch``.

Starts the sandbox (as a subprocess by default, so client and server each get a core; or
in-process with ``--in-process``), then a few concurrent tasks post ``$batch`` envelopes of 20
creates spread over many users, and reports skills/s. Target: >= 5,000 skills/s on 2 cores.

    .venv/bin/python -m bench.bench_sandbox [--skills 100000] [--tasks 4] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from importer.sandbox import SandboxConfig, serve_forever, start_sandbox

__all__ = ["main", "run_benchmark"]

AUTH = {"Authorization": "Bearer sandbox"}
ITEMS_PER_BATCH = 20


def write_directory(path: Path, users: int) -> list[str]:
    """Write a users CSV with ``users`` users and return their UPNs."""
    upns = [f"user{number:06d}@contoso.com" for number in range(users)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "userPrincipalName", "displayName"])
        for number, upn in enumerate(upns):
            writer.writerow([str(uuid.UUID(int=number + 1)), upn, f"User {number}"])
    return upns


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def sandbox_url(args: argparse.Namespace, directory: Path) -> AsyncIterator[str]:
    """Start the sandbox the way ``args`` says and yield its base URL."""
    config = SandboxConfig(db_path=args.db, directory=directory)
    if args.in_process:
        async with await start_sandbox(config) as sandbox:
            yield sandbox.base_url
        return
    port = free_port()
    command = [sys.executable, "-m", "bench.bench_sandbox", "--serve", str(port)]
    command += ["--db", args.db, "--directory", str(directory)]
    server = await asyncio.create_subprocess_exec(*command)
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_up(base_url)
        yield base_url
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=10)


async def wait_until_up(base_url: str) -> None:
    """Poll the admin view until the sandbox answers (at most 20 s)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"{base_url}/_sandbox/stats") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"sandbox did not start at {base_url}")


def envelope(upns: list[str], start: int) -> dict[str, Any]:
    """One ``$batch`` of 20 creates, spread over consecutive users."""
    requests = []
    for offset in range(ITEMS_PER_BATCH):
        number = start + offset
        requests.append(
            {
                "id": str(offset + 1),
                "method": "POST",
                "url": f"/users/{upns[number % len(upns)]}/profile/skills",
                "headers": {"Content-Type": "application/json"},
                "body": {
                    "displayName": f"Skill {number}",
                    "proficiency": "advancedProfessional",
                    "categories": ["Bench"],
                    "collaborationTags": ["ableToMentor"],
                    "source": {"type": "skills-import"},
                },
            }
        )
    return {"requests": requests}


async def run_benchmark(base_url: str, upns: list[str], skills: int, tasks: int) -> dict[str, Any]:
    """Create ``skills`` skills with ``tasks`` concurrent batch posters; return the figures."""
    batches = skills // ITEMS_PER_BATCH
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(batches):
        queue.put_nowait(number * ITEMS_PER_BATCH)
    failures = 0
    connector = aiohttp.TCPConnector(limit=tasks)
    async with aiohttp.ClientSession(base_url, connector=connector, headers=AUTH) as session:

        async def poster() -> None:
            nonlocal failures
            while not queue.empty():
                start = queue.get_nowait()
                async with session.post("/beta/$batch", json=envelope(upns, start)) as response:
                    body = await response.json()
                failures += sum(1 for item in body["responses"] if item["status"] != 201)

        began = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(tasks)))
        elapsed = time.perf_counter() - began
        async with session.get("/_sandbox/stats") as response:
            stats = await response.json()
    return {
        "skills": batches * ITEMS_PER_BATCH,
        "seconds": round(elapsed, 2),
        "skills_per_s": round(batches * ITEMS_PER_BATCH / elapsed),
        "batches_per_s": round(batches / elapsed),
        "failed_items": failures,
        "skills_total": stats["skills_total"],
    }


async def _main(args: argparse.Namespace, directory: Path, upns: list[str]) -> None:
    async with sandbox_url(args, directory) as base_url:
        result = await run_benchmark(base_url, upns, args.skills, args.tasks)
    mode = "in-process" if args.in_process else "subprocess"
    print(f"sandbox ({mode}, db={args.db}, {args.tasks} tasks, {args.users} users): {result}")
    if result["failed_items"] or result["skills_total"] != result["skills"]:
        raise SystemExit("some creates failed or were not stored")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skills", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--db", default=":memory:", help="SQLite file, or :memory:")
    parser.add_argument("--in-process", action="store_true", help="share the client's process")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--directory", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve_forever(SandboxConfig(db_path=args.db, directory=args.directory), port=args.serve)
        return
    if args.db != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(args.db + suffix).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "directory.csv"
        upns = write_directory(directory, args.users)
        asyncio.run(_main(args, directory, upns))


if __name__ == "__main__":
    main()

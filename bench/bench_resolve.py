"""Resolving people through the directory: seconds and requests, by strategy.

A sandbox serves a generated directory (``--directory-users`` users, each with an employeeId)
in its own process, with ``--latency-ms`` added to every request. The resolve stage then looks
up ``--people`` employee ids through the importer's own client, once per strategy: the rule
the importer applies (``auto``), and each way forced, for comparison.

    .venv/bin/python -m bench.bench_resolve --people 50000 --directory-users 100000 --latency-ms 50

Target (the project's; listed in BENCHMARKS.md): 50,000 people in a 100,000-user directory at
50 ms latency resolved in 15 s or less.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_run import _free_port, _get_json, _wait_until_up
from importer.config import RunSettings
from importer.graph.client import GraphClient
from importer.resolve import resolve_users

__all__ = ["main"]


def write_directory(path: Path, users: int) -> None:
    """A users CSV whose n-th user has employeeId ``E`` + n (eight digits)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "userPrincipalName", "mail", "employeeId", "accountEnabled"])
        for n in range(users):
            writer.writerow(
                [
                    f"00000000-0000-4000-8000-{n:012d}",
                    f"user{n:06d}@contoso.onmicrosoft.com",
                    f"first.last{n}@contoso.com",
                    f"E{n:08d}",
                    "false" if n % 97 == 0 else "true",
                ]
            )


async def _token(_: bool) -> str:
    return "sandbox"


async def _resolve(port: int, people: int, strategy: str) -> dict[str, Any]:
    run = RunSettings()
    values = [f"E{n * 2:08d}" for n in range(people)]  # every other user of the directory
    async with GraphClient(
        f"http://127.0.0.1:{port}",
        "beta",
        _token,
        concurrency=run.concurrency,
        request_timeout_s=run.request_timeout_s,
    ) as client:
        started = time.perf_counter()
        resolution = await resolve_users(values, "employeeId", client, run, strategy=strategy)
        seconds = time.perf_counter() - started
    found = sum(1 for value in values if len(resolution.users_for(value)[1]) == 1)
    figures = resolution.figures
    return {
        "strategy": figures.strategy,
        "seconds": round(seconds, 2),
        "requests": figures.requests,
        "sub_requests": figures.sub_requests,
        "listing_pages": figures.listing_pages,
        "lookups": figures.lookups,
        "found": found,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one line of figures per strategy."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--directory-users", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument(
        "--strategies", default="auto,listing,lookups", help="comma-separated, in order"
    )
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-resolve-"))
    directory = folder / "directory.csv"
    write_directory(directory, args.directory_users)
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "importer",
        "sandbox",
        "--port",
        str(port),
        "--db",
        ":memory:",
        "--directory",
        str(directory),
        "--latency-ms",
        str(args.latency_ms),
    ]
    log = (folder / "sandbox.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        _wait_until_up(port, deadline_s=60)
        for strategy in args.strategies.split(","):
            before = _get_json(f"http://127.0.0.1:{port}/_sandbox/stats")["directory_reads"]
            figures = asyncio.run(_resolve(port, args.people, strategy))
            after = _get_json(f"http://127.0.0.1:{port}/_sandbox/stats")["directory_reads"]
            figures["sandbox_directory_reads"] = after - before
            print(
                f"people={args.people} directory={args.directory_users} "
                f"latency_ms={args.latency_ms} asked={strategy} "
                + " ".join(f"{key}={value}" for key, value in figures.items()),
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


if __name__ == "__main__":
    main()

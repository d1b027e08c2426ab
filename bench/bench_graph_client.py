"""Benchmark: sub-requests per second through ``GraphClient.send_batch`` into the sandbox.

Run: ``.venv/bin/python -m bench.bench_graph_client [--items 20000] [--latency-ms 50]
[--concurrency 8] [--batch-size 20] [--throttle-rps 0]``.

Creates ``--items`` skills for ``items / 5`` users through ``concurrency`` workers, each sending
one ``$batch`` of ``batch_size`` creates at a time (``batch_size`` 1 sends plain requests).
Throttled items (429, nothing stored) are queued again; every wait goes through the client's
shared gate. The sandbox runs in the same process and shares its CPU, so the figure is a lower
bound for the client alone. Reports items/s, HTTP figures, the sandbox's premature-request
counter (requests arriving inside an announced Retry-After window) and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import uuid
from collections import deque

from importer.graph.client import GraphClient, SubRequest, skills_path
from importer.graph.providers import StaticTokenProvider
from importer.sandbox import FaultConfig, SandboxConfig, start_sandbox

__all__ = ["main", "run_benchmark"]


async def run_benchmark(
    items: int, latency_ms: float, concurrency: int, batch_size: int, throttle_rps: float
) -> dict[str, float]:
    """Create ``items`` skills through the client and return the measured figures."""
    users = [(str(uuid.uuid4()), f"user{i}@contoso.com") for i in range(max(1, items // 5))]
    faults = FaultConfig(latency_ms=latency_ms, throttle_rps=throttle_rps, seed=1)
    sandbox = await start_sandbox(SandboxConfig(users=users, faults=faults))
    pending = deque(
        SubRequest(str(i), "POST", skills_path(users[i % len(users)][1]), {"displayName": f"S{i}"})
        for i in range(items)
    )
    created = 0
    client = GraphClient(
        sandbox.base_url,
        "beta",
        StaticTokenProvider("sandbox"),
        concurrency=concurrency,
        request_timeout_s=60,
    )

    async def worker() -> None:
        nonlocal created
        while pending:
            chunk = [pending.popleft() for _ in range(min(batch_size, len(pending)))]
            if batch_size == 1:
                answers = [await client.send(chunk[0])]
            else:
                answers = await client.send_batch(chunk)
            for request, answer in zip(chunk, answers, strict=True):
                if answer.status == 201:
                    created += 1
                elif answer.status == 429:
                    pending.append(request)
                else:
                    raise RuntimeError(f"unexpected answer {answer.status}: {answer.body}")

    try:
        async with client:
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        premature = sandbox.stats.premature_requests
    finally:
        await sandbox.close()
    return {
        "items": items,
        "created": created,
        "seconds": round(elapsed, 3),
        "items_per_s": round(created / elapsed, 1),
        **client.stats.as_dict(),
        "premature_requests": premature,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run once and print the figures (one ``key: value`` per line)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--throttle-rps", type=float, default=0)
    args = parser.parse_args(argv)
    figures = asyncio.run(
        run_benchmark(
            args.items, args.latency_ms, args.concurrency, args.batch_size, args.throttle_rps
        )
    )
    for key, value in figures.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()

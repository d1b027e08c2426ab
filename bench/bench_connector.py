"""Throughput of ``skills-import run`` with ``target.kind: connector`` into the sandbox.

The same inputs and set-up as ``bench.bench_run`` (the sandbox in its own process, latency
injected per HTTP request, the importer started as a scheduler would), for the people-data
connector target: ``connector setup`` first (not timed), then the timed import, then a rerun
(timed too: it should send no write).

    .venv/bin/python -m bench.bench_connector --rows 50000 --users 10000 --latency-ms 50

Compare with the profile target on the same inputs:
``.venv/bin/python -m bench.bench_run --rows 50000 --users 10000 --latency-ms 50``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_run import _free_port, _get_json, _wait_until_up, write_inputs

__all__ = ["main"]


def _timed_run(command: list[str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, done.returncode, done.stderr[-500:]


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Start a sandbox, set the connector up, import twice; return the figures."""
    folder = Path(tempfile.mkdtemp(prefix="bench-connector-"))
    directory, skills = write_inputs(folder, args.rows, args.users)
    port = _free_port()
    exe = [sys.executable, "-m", "importer"]
    config = folder / "config.yaml"
    config.write_text(
        f"target:\n  graph: http://127.0.0.1:{port}\n  kind: connector\n"
        f"report:\n  dir: {folder / 'reports'}\n",
        encoding="utf-8",
    )
    sandbox = [
        *exe,
        "sandbox",
        *("--port", str(port), "--db", str(folder / "graph.sqlite")),
        *("--directory", str(directory), "--latency-ms", str(args.latency_ms)),
    ]
    log = (folder / "sandbox.log").open("w")
    server = subprocess.Popen(sandbox, stdout=log, stderr=log)
    try:
        _wait_until_up(port)
        _seconds, code, err = _timed_run([*exe, "connector", "setup", "-c", str(config)])
        if code != 0:
            raise SystemExit(f"connector setup failed ({code}): {err}")
        run = [*exe, "run", str(skills), "-c", str(config), "--quiet"]
        run += ["--concurrency", str(args.concurrency)]
        seconds, code, err = _timed_run(run)
        first = _get_json(f"http://127.0.0.1:{port}/_sandbox/stats")
        rerun_seconds, rerun_code, _ = _timed_run(run)
        second = _get_json(f"http://127.0.0.1:{port}/_sandbox/stats")
        items = _get_json(f"http://127.0.0.1:{port}/_sandbox/external/skillsimport/items")
    finally:
        server.terminate()
        server.wait(10)
    summaries = sorted((folder / "reports").glob("*/summary.json"))
    counts = json.loads(summaries[0].read_text()).get("counts", {}) if summaries else {}
    puts = first["requests_by_method_status"].get("PUT 200", 0)
    return {
        "rows": args.rows,
        "users": args.users,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "exit_code": code,
        "seconds": round(seconds, 2),
        "rows_per_s": round(args.rows / seconds, 1),
        "people_per_s": round(args.users / seconds, 1),
        "created": counts.get("created"),
        "failed": counts.get("failed"),
        "items_put": puts,
        "items_stored": len(items["value"]),
        "batches": first["batches"],
        "rerun_exit_code": rerun_code,
        "rerun_seconds": round(rerun_seconds, 2),
        "rerun_writes": second["writes"] - first["writes"],
        "stderr_tail": err if code not in (0, 1) else "",
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    print(json.dumps(run_benchmark(parser.parse_args(argv)), indent=2))


if __name__ == "__main__":
    main()

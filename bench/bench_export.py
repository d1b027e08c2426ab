"""``skills-import export --all`` of a large tenant from the sandbox: rows/s and peak RSS.

The sandbox runs as its own process, its database filled beforehand (``--skills`` skills for
each of ``--users`` people, written straight into its SQLite file, so the fill costs no HTTP).
The export runs as a subprocess exactly as a scheduler would start it; its own peak RSS and CPU
time are measured inside it at exit.

    .venv/bin/python -m bench.bench_export --users 100000 --skills 3
    .venv/bin/python -m bench.bench_export --users 100000 --skills 3 --output xlsx

Target (the project's): 100,000 people in bounded memory, <= 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.bench_run import LEVELS, _free_port, _get_json, _wait_until_up
from importer.sandbox.store import SkillStore

__all__ = ["main"]

_BY = {"application": None, "device": None, "user": {"id": "bench", "displayName": "Bench"}}


def fill(folder: Path, users: int, skills: int) -> tuple[Path, Path]:
    """A directory of ``users`` people and a sandbox database holding ``skills`` each."""
    directory = folder / "directory.csv"
    database = folder / "graph.sqlite"
    store = SkillStore(str(database))
    with directory.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "userPrincipalName", "displayName"])
        for n in range(users):
            user_id = f"00000000-0000-4000-8000-{n:012d}"
            writer.writerow([user_id, f"user{n:06d}@contoso.com", ""])
            for s in range(skills):
                store.insert(
                    user_id,
                    {
                        "id": str(uuid.uuid4()),
                        "displayName": f"Skill {(n + s) % 500:03d}",
                        "proficiency": LEVELS[(n + s) % 5],
                        "categories": ["Work"],
                        "collaborationTags": [],
                        "allowedAudiences": "organization",
                        "webUrl": None,
                        "source": {"type": "skills-import"} if s % 2 == 0 else None,
                        "inference": None,
                        "createdDateTime": "2026-12-01T00:00:00Z",
                        "createdBy": _BY,
                        "lastModifiedDateTime": "2026-12-01T00:00:00Z",
                        "lastModifiedBy": _BY,
                    },
                )
            if n % 10_000 == 0:
                store.commit()
    store.commit()
    store.close()
    return directory, database


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Fill a sandbox, export everyone from it, return the figures."""
    folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
    directory, database = fill(folder, args.users, args.skills)
    port = _free_port()
    server_cmd = [
        *(sys.executable, "-m", "importer", "sandbox"),
        *("--port", str(port), "--db", str(database), "--directory", str(directory)),
        *("--latency-ms", str(args.latency_ms)),
    ]
    config = folder / "config.yaml"
    config.write_text(f"report:\n  dir: {folder / 'reports'}\n", encoding="utf-8")
    output = folder / f"skills.{args.output}"
    log = (folder / "sandbox.log").open("w")
    server = subprocess.Popen(server_cmd, stdout=log, stderr=log)
    try:
        _wait_until_up(port)
        measured = folder / "export-usage.json"
        export_cmd = [
            *(sys.executable, "-m", "bench.run_probe", str(measured), "", ""),
            *("export", "--all", "-o", str(output), "-c", str(config)),
            *("--target", f"http://127.0.0.1:{port}", "--quiet"),
        ]
        env = {**os.environ, "COLUMNS": "120"}
        started = time.perf_counter()
        done = subprocess.run(export_cmd, capture_output=True, text=True, env=env, check=False)
        seconds = time.perf_counter() - started
        stats = _get_json(f"http://127.0.0.1:{port}/_sandbox/stats")
    finally:
        server.terminate()
        server.wait(10)
    usage = json.loads(measured.read_text()) if measured.exists() else {}
    rows = args.users * args.skills
    return {
        "users": args.users,
        "skills_per_user": args.skills,
        "output": args.output,
        "latency_ms": args.latency_ms,
        "exit_code": done.returncode,
        "seconds": round(seconds, 2),
        "rows": rows,
        "rows_per_s": round(rows / seconds, 1),
        "people_per_s": round(args.users / seconds, 1),
        "graph_requests": stats["graph_requests"],
        "output_mib": round(output.stat().st_size / 2**20, 1) if output.exists() else None,
        "export_peak_rss_mib": round(usage.get("maxrss_kib", 0) / 1024, 1),
        "export_cpu_s": round(usage.get("cpu_s", 0.0), 2),
        "stdout_tail": done.stdout[-300:],
        "stderr_tail": done.stderr[-500:] if done.returncode else "",
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--skills", type=int, default=3, help="skills per person")
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--output", choices=["csv", "xlsx"], default="csv")
    print(json.dumps(run_benchmark(parser.parse_args(argv)), indent=2))


if __name__ == "__main__":
    main()

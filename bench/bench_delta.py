"""Two nights of ``run`` into the sandbox with the confirmed state: a full night, then 1% changed.

The sandbox runs as its own process with latency injected (``skills-import sandbox``); each night
is the importer in a subprocess of its own, with a private per-user state folder. Night 2 runs a
day after night 1 (its clock is passed to ``run_import``; the CLI has no clock option), so the
rotating re-verification slice of ``run.verify_days`` is listed as on a real second night.

    .venv/bin/python -m bench.bench_delta --users 100000 --skills 5 --latency-ms 50

Wall time and CPU time (the importer process: user + system) per night. Requests are counted twice:
HTTP requests the importer sent (a ``$batch`` counts one; directory pages and the tenant check
included) and sub-requests (each ``$batch`` item and each plain request), from each night's
summary.json. After night 2 every changed person's skills are read back from the sandbox and
compared with the file.

Targets: night 2 sends <= 3% of night 1's requests and takes >= 15x less wall time.

To measure night 2 again and again without paying night 1 each time, ``--prepared DIR`` keeps
night 1 (inputs, sandbox database, state folder, figures) in DIR the first time and, when DIR
already holds one, replays night 2 on fresh copies of them; ``--profile FILE`` writes night 2's
cProfile statistics:

    .venv/bin/python -m bench.bench_delta --users 20000 --prepared /tmp/n1-20k --profile n2.prof
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.bench_run import LEVELS, _free_port, _get_json, _wait_until_up

__all__ = ["main"]

#: One night of the importer, as the pipeline's API runs it, with the night's clock.
_NIGHT = (
    "import asyncio, json, sys\n"
    "from datetime import datetime\n"
    "from pathlib import Path\n"
    "from importer.config import load_settings\n"
    "from importer.pipeline import run_import\n"
    "config, url, source, now, concurrency, delta, profile = sys.argv[1:8]\n"
    "settings = load_settings(Path(config), {'target': {'graph': url},"
    " 'run': {'concurrency': int(concurrency), 'delta': delta}})\n"
    "night = lambda: asyncio.run(run_import([Path(source)], settings,"
    " now=datetime.fromisoformat(now)))\n"
    "if profile:\n"
    "    import cProfile\n"
    "    with cProfile.Profile() as prof:\n"
    "        result = night()\n"
    "    prof.dump_stats(profile)\n"
    "else:\n"
    "    result = night()\n"
    "sys.exit(int(result.exit_code))\n"
)


def _person(n: int) -> str:
    return f"user{n:06d}@contoso.com"


def write_inputs(folder: Path, users: int, skills: int, changed_every: int) -> tuple[Path, ...]:
    """The directory, night 1's file, and night 2's file where every ``changed_every``-th
    person has a new level for their first skill."""
    directory, first, second = (
        folder / "directory.csv",
        folder / "night1.csv",
        folder / "night2.csv",
    )
    with directory.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["id", "userPrincipalName", "displayName"])
        for n in range(users):
            out.writerow([f"00000000-0000-4000-8000-{n:012d}", _person(n), ""])
    for path, night in ((first, 1), (second, 2)):
        with path.open("w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["user", "skill", "level", "category"])
            for s in range(skills):
                for n in range(users):
                    level = LEVELS[(n + s) % 5]
                    if night == 2 and s == 0 and n % changed_every == 0:
                        level = LEVELS[(n + s + 1) % 5]
                    out.writerow([_person(n), f"Skill {s:03d}", level, "Work"])
    return directory, first, second


def _night(
    folder: Path,
    url: str,
    source: Path,
    now: datetime,
    concurrency: int,
    delta: str = "auto",
    profile: Path | None = None,
) -> dict[str, Any]:
    env = {**os.environ, "XDG_STATE_HOME": str(folder / "state-home")}
    before = set((folder / "reports").glob("*/summary.json"))
    started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", _NIGHT, str(folder / "config.yaml"), url, str(source),
         now.isoformat(), str(concurrency), delta, str(profile or "")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = cpu.ru_utime + cpu.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    [new] = set((folder / "reports").glob("*/summary.json")) - before
    summary = json.loads(new.read_text())
    return {
        "exit_code": done.returncode,
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu_s, 1),
        "http_requests": summary["http"]["requests"],
        "sub_requests": summary["http"]["sub_requests"],
        "counts": {k: v for k, v in summary["counts"].items() if v},
        "state": summary.get("state", {}),
        "stderr_tail": done.stderr[-800:] if done.returncode else "",
    }


def _check_changed(url: str, users: int, changed_every: int) -> int:
    """How many changed people do not hold their new level (0 when all are right)."""
    wrong = 0
    for n in range(0, users, changed_every):
        quoted = urllib.parse.quote(_person(n), safe="")
        skills = _get_json(f"{url}/_sandbox/users/{quoted}/skills")["value"]
        levels = {skill["displayName"]: skill.get("proficiency") for skill in skills}
        if levels.get("Skill 000") != LEVELS[(n + 1) % 5] or len(skills) != len(levels):
            wrong += 1
    return wrong


class _Sandbox:
    """``skills-import sandbox`` in its own process on a free port, over one folder's data."""

    def __init__(self, folder: Path, latency_ms: float, port: int | None = None) -> None:
        port = port or _free_port()
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable, "-m", "importer", "sandbox", "--port", str(port),
            "--db", str(folder / "graph.sqlite"), "--directory", str(folder / "directory.csv"),
            "--latency-ms", str(latency_ms),
        ]  # fmt: skip
        with (folder / "sandbox.log").open("a") as log:
            self._server = subprocess.Popen(command, stdout=log, stderr=log)
        try:
            _wait_until_up(port)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """End the sandbox (its database is then complete on disk)."""
        self._server.terminate()
        self._server.wait(10)


def _prepare(folder: Path, args: argparse.Namespace, changed_every: int) -> dict[str, Any]:
    """Night 1 in ``folder`` (kept there with its figures), or the figures of one kept."""
    figures = folder / "night1.json"
    if figures.exists():
        kept: dict[str, Any] = json.loads(figures.read_text())
        return kept
    folder.mkdir(parents=True, exist_ok=True)
    write_inputs(folder, args.users, args.skills, changed_every)
    (folder / "config.yaml").write_text(f"report:\n  dir: {folder / 'reports'}\n")
    sandbox = _Sandbox(folder, args.latency_ms)
    try:
        one = _night(folder, sandbox.url, folder / "night1.csv", NIGHT_1, args.concurrency)
    finally:
        sandbox.stop()
    # The replays serve on the same port: the directory's delta link names it.
    one["sandbox_port"] = sandbox.port
    figures.write_text(json.dumps(one))
    return one


def _replay_copy(prepared: Path) -> Path:
    """A fresh folder holding copies of a kept night 1 (night 2 changes sandbox and state)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-delta-night2-"))
    for name in ("directory.csv", "night1.csv", "night2.csv"):
        (folder / name).symlink_to(prepared / name)
    for db in prepared.glob("graph.sqlite*"):
        shutil.copy2(db, folder / db.name)
    shutil.copytree(prepared / "state-home", folder / "state-home")
    (folder / "config.yaml").write_text(f"report:\n  dir: {folder / 'reports'}\n")
    return folder


#: Night 1's clock; night 2 runs a day later.
NIGHT_1 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Two nights against one sandbox; the figures of each and their ratios."""
    changed_every = round(100 / args.changed_percent)
    if args.prepared is not None:
        one = _prepare(args.prepared, args, changed_every)
        folder = _replay_copy(args.prepared)
    else:
        folder = Path(tempfile.mkdtemp(prefix="bench-delta-"))
        write_inputs(folder, args.users, args.skills, changed_every)
        (folder / "config.yaml").write_text(f"report:\n  dir: {folder / 'reports'}\n")
    sandbox = _Sandbox(folder, args.latency_ms, one.get("sandbox_port") if args.prepared else None)
    url = sandbox.url
    try:
        if args.prepared is None:
            one = _night(folder, url, folder / "night1.csv", NIGHT_1, args.concurrency)
        night_2 = NIGHT_1 + timedelta(days=1)
        two = _night(
            folder, url, folder / "night2.csv", night_2, args.concurrency, profile=args.profile
        )
        wrong = _check_changed(url, args.users, changed_every)
        stats = _get_json(f"{url}/_sandbox/stats")
        before = {}
        if args.before:
            # The code before the state: night 2's file again, every person listed.
            before = _night(folder, url, folder / "night2.csv", night_2, args.concurrency, "off")
    finally:
        sandbox.stop()
    return {
        "users": args.users,
        "skills_per_person": args.skills,
        "rows": args.users * args.skills,
        "changed_people": len(range(0, args.users, changed_every)),
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "night_1": one,
        "night_2": two,
        "http_requests_ratio": round(two["http_requests"] / one["http_requests"], 4),
        "sub_requests_ratio": round(two["sub_requests"] / one["sub_requests"], 4),
        "wall_time_factor": round(one["seconds"] / two["seconds"], 1),
        "changed_people_wrong_in_sandbox": wrong,
        "night_2_listing_everyone": before,
        "duplicates_in_sandbox": len(stats["duplicates"]),
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run both nights, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--skills", type=int, default=5)
    parser.add_argument("--changed-percent", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--before",
        action="store_true",
        help="then run night 2's file again with run.delta off (every person listed, as before)",
    )
    parser.add_argument(
        "--prepared",
        type=Path,
        help="keep night 1 in this folder, or replay night 2 on copies of the one kept there",
    )
    parser.add_argument("--profile", type=Path, help="write night 2's cProfile statistics here")
    print(json.dumps(run_benchmark(parser.parse_args(argv)), indent=2))


if __name__ == "__main__":
    main()

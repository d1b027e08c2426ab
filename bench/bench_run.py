"""Throughput of ``skills-import run`` into the sandbox, with latency or throttling injected.

The sandbox runs as its own process (``skills-import sandbox``), so the importer and the
emulator each get one of the two cores, as the importer and Graph would in real life. The
importer runs as a subprocess exactly as a scheduler would start it; wall time, peak RSS and the
run's summary.json are reported.

    .venv/bin/python -m bench.bench_run --rows 50000 --users 10000 --latency-ms 50
    .venv/bin/python -m bench.bench_run --rows 10000 --users 2000 --throttle-rps 200
    .venv/bin/python -m bench.bench_run --rows 1000000 --users 100000 --shuffle --latency-ms 0

``--shuffle`` puts the rows in random order (by default they come sorted by skill, so every
person's rows are spread over the whole file). The importer's own peak RSS and CPU time (user +
system, its process alone, not the sandbox's) are measured inside it at exit, the sandbox's
CPU time from ``/proc`` before it is stopped. ``--trace`` times every ``$batch`` exchange of
the importer: when the first left (``first_batch_after_s``), how busy the HTTP slots were
between the first and the last (``slots_busy_pct``), the round trips, and the time from the
last answer to the process's exit (``after_last_batch_s``): where the slots sit idle.

Targets (the project's; listed in BENCHMARKS.md): 50,000 rows for 10,000 users at 50 ms
latency: >= 1,500 rows/s. Throttled at 200 requests/s: >= 90% of that request rate
sustained, zero premature requests, zero failed rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["main"]

LEVELS = ("elementary", "limitedWorking", "generalProfessional", "advancedProfessional", "expert")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_inputs(
    folder: Path, rows: int, users: int, *, shuffle: bool = False
) -> tuple[Path, Path]:
    """A users directory and a skills CSV with ``rows`` rows spread evenly over ``users``."""
    directory = folder / "directory.csv"
    skills = folder / "skills.csv"
    with directory.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "userPrincipalName", "displayName"])
        for n in range(users):
            writer.writerow([f"00000000-0000-4000-8000-{n:012d}", f"user{n:06d}@contoso.com", ""])
    with skills.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "skill", "level", "category"])
        order: range | list[int] = range(rows)
        if shuffle:
            order = list(order)
            random.Random(7).shuffle(order)
        for n in order:
            user = n % users
            writer.writerow(
                [f"user{user:06d}@contoso.com", f"Skill {n // users:03d}", LEVELS[n % 5], "Work"]
            )
    return directory, skills


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def slot_figures(trace: dict[str, Any], concurrency: int) -> dict[str, Any]:
    """What the ``$batch`` timeline says: when the first exchange left, how busy the slots were.

    ``slots_busy_pct``: the share of ``concurrency`` x (first start .. last end) during which an
    exchange was in flight. ``round_trip_ms``: the 10th, 50th and 90th percentile of one
    exchange, from the batcher taking it to its answers being handed out.
    """
    sends = sorted(trace["sends"])
    if not sends:
        return {}
    first, last = sends[0][0], max(end for _s, end, _n in sends)
    busy = sum(end - begin for begin, end, _n in sends)
    trips = sorted(end - begin for begin, end, _n in sends)
    return {
        "first_batch_after_s": round(first - trace["started"], 2),
        "batch_phase_s": round(last - first, 2),
        "after_last_batch_s": None,  # filled in by the caller (needs the process's end)
        "slots_busy_pct": round(100 * busy / (concurrency * (last - first)), 1),
        "round_trip_ms_p10_p50_p90": [
            round(1000 * trips[int(len(trips) * q)], 1) for q in (0.1, 0.5, 0.9)
        ],
        "sub_requests_per_exchange": round(sum(n for _b, _e, n in sends) / len(sends), 2),
        "last_batch_end": last,
    }


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def _wait_until_up(port: int, deadline_s: float = 20) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            _get_json(f"http://127.0.0.1:{port}/_sandbox/stats")
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the sandbox did not start")


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Start a sandbox, run one import against it, return the figures."""
    folder = Path(tempfile.mkdtemp(prefix="bench-run-"))
    directory, skills = write_inputs(folder, args.rows, args.users, shuffle=args.shuffle)
    port = _free_port()
    exe = [sys.executable, "-m", "importer"]
    sandbox_cmd = [
        *exe,
        "sandbox",
        "--port",
        str(port),
        "--db",
        str(folder / "graph.sqlite"),
        "--directory",
        str(directory),
        "--latency-ms",
        str(args.latency_ms),
        "--throttle-rps",
        str(args.throttle_rps),
    ]
    config = folder / "config.yaml"
    config.write_text(f"report:\n  dir: {folder / 'reports'}\n", encoding="utf-8")
    log = (folder / "sandbox.log").open("w")
    server = subprocess.Popen(sandbox_cmd, stdout=log, stderr=log)
    try:
        _wait_until_up(port)
        measured = folder / "importer-usage.json"
        trace = folder / "batches.json"
        run_cmd = [
            sys.executable,
            "-m",
            "bench.run_probe",
            str(measured),
            str(args.profile or ""),
            str(trace) if args.trace else "",
            "run",
            str(skills),
            "-c",
            str(config),
            "--target",
            f"http://127.0.0.1:{port}",
            "--quiet",
            "--concurrency",
            str(args.concurrency),
        ]
        env = {**os.environ, "COLUMNS": "120"}
        started = time.perf_counter()
        importer = subprocess.Popen(
            run_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        # Accepted Graph requests (answered, not 429) every 5 s, for the sustained rate.
        samples: list[int] = []
        while importer.poll() is None:
            time.sleep(0.1)
            if time.perf_counter() - started >= 5 * (len(samples) + 1):
                now = _get_json(f"http://127.0.0.1:{port}/_sandbox/stats")
                samples.append(now["graph_requests"] - now["throttled"])
        ended = time.monotonic()
        stderr = importer.stderr.read() if importer.stderr else ""
        done = subprocess.CompletedProcess(run_cmd, importer.returncode, "", stderr)
        seconds = time.perf_counter() - started
        stats = _get_json(f"http://127.0.0.1:{port}/_sandbox/stats")
        sandbox_cpu_s = _cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    usage = json.loads(measured.read_text()) if measured.exists() else {}
    summaries = sorted((folder / "reports").glob("*/summary.json"))
    summary = json.loads(summaries[-1].read_text()) if summaries else {}
    counts = summary.get("counts", {})
    slots: dict[str, Any] = {}
    if args.trace and trace.exists():
        slots = slot_figures(json.loads(trace.read_text()), args.concurrency)
        if slots:
            slots["after_last_batch_s"] = round(ended - slots.pop("last_batch_end"), 2)
    return {
        "rows": args.rows,
        "users": args.users,
        "latency_ms": args.latency_ms,
        "throttle_rps": args.throttle_rps,
        "concurrency": args.concurrency,
        "exit_code": done.returncode,
        "seconds": round(seconds, 2),
        "rows_per_s": round(args.rows / seconds, 1),
        "graph_requests_per_s": round(stats["graph_requests"] / seconds, 1),
        "created": counts.get("created"),
        "failed": counts.get("failed"),
        "throttled": stats["throttled"],
        "accepted_per_s": round((stats["graph_requests"] - stats["throttled"]) / seconds, 1),
        "accepted_per_s_by_5s_window": [
            round((after - before) / 5, 1)
            for before, after in zip([0, *samples], samples, strict=False)
        ],
        "premature_requests": stats["premature_requests"],
        "duplicates": len(stats["duplicates"]),
        "http": summary.get("http"),
        "importer_peak_rss_mib": round(usage.get("maxrss_kib", 0) / 1024, 1),
        "importer_cpu_s": round(usage.get("cpu_s", 0.0), 2),
        "importer_cpu_us_per_row": round(1e6 * usage.get("cpu_s", 0.0) / args.rows, 1),
        "sandbox_cpu_s": round(sandbox_cpu_s, 2),
        **slots,
        "peak_rss_mib_max_child": round(peak_kib / 1024, 1),
        "stderr_tail": done.stderr[-500:] if done.returncode not in (0, 1) else "",
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--throttle-rps", type=float, default=0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--shuffle", action="store_true", help="rows in random order")
    parser.add_argument(
        "--profile", type=Path, help="write the importer's cProfile statistics to this file"
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="time every $batch exchange: first request, slot occupancy, round trips",
    )
    print(json.dumps(run_benchmark(parser.parse_args(argv)), indent=2))


if __name__ == "__main__":
    main()

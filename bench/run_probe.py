"""Runs ``skills-import`` as its console script does, measuring the process from inside.

``bench_run`` starts the importer as ``python -m bench.run_probe USAGE PROFILE TRACE ARGS...``:

- USAGE: a file that gets the process's own peak RSS and CPU time (children excluded) at exit;
- PROFILE: a file for cProfile statistics, or an empty string;
- TRACE: a file for the ``$batch`` timeline, or an empty string: when each exchange of the
  batcher started and ended and how many sub-requests it carried (monotonic seconds, with the
  process's start), so the bench can tell how busy the HTTP slots were and when the first
  request left. The batcher's ``_send`` is wrapped for that; nothing else changes.
"""

from __future__ import annotations

import atexit
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

STARTED = time.monotonic()


def _record_usage(path: str) -> None:
    use = resource.getrusage(resource.RUSAGE_SELF)
    with Path(path).open("w", encoding="utf-8") as handle:
        json.dump({"maxrss_kib": use.ru_maxrss, "cpu_s": use.ru_utime + use.ru_stime}, handle)


def _trace_batches(path: str) -> None:
    from importer.graph import batcher

    sends: list[tuple[float, float, int]] = []
    plain_send = batcher.Batcher._send

    async def traced_send(self: Any, chunk: list[Any]) -> None:
        began = time.monotonic()
        try:
            await plain_send(self, chunk)
        finally:
            sends.append((began, time.monotonic(), len(chunk)))

    batcher.Batcher._send = traced_send  # type: ignore[method-assign]

    def dump() -> None:
        with Path(path).open("w", encoding="utf-8") as handle:
            json.dump({"started": STARTED, "sends": sends}, handle)

    atexit.register(dump)


def main() -> None:
    """Take the three probe arguments off ``sys.argv``, then run the importer's CLI."""
    usage, profile, trace = sys.argv[1:4]
    del sys.argv[1:4]
    atexit.register(_record_usage, usage)
    if trace:
        _trace_batches(trace)
    from importer.cli import main as cli_main

    sys.argv[0] = "skills-import"
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        atexit.register(profiler.dump_stats, profile)
        profiler.enable()
    cli_main()


if __name__ == "__main__":
    main()

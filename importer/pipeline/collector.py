"""How often the cyclic garbage collector runs while rows stream through a command."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["fewer_collections"]


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while rows stream through.

    ``run`` and ``validate`` allocate several objects per row (rows, requests, answers,
    outcomes) that almost never form cycles, and a chunk of rows lives until it is written.
    A young collection looks at every container object allocated since the last one that is
    still alive. CPython's default (one every 700 more live objects) took a fifth of a run's
    CPU (100,000 rows: 15.0 s of CPU, 12.5 s with one every 50,000). The count is of objects
    allocated minus objects freed, so a run whose chunks come and go rarely gains 500,000 and
    seldom collects: a quiet night of 500,000 rows spent 2.3 s of its 18 s of CPU in the
    collector with 50,000 (190 young collections) and 0.5 s with 500,000. What waits for a
    collection is only garbage that forms cycles, which a run makes little of; the previous
    thresholds come back afterwards (``import_rows`` runs in other programs).
    """
    before = gc.get_threshold()
    gc.set_threshold(500_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)

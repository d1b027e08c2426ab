"""Benchmark: seconds to add and finish 1,000,000 rows in a ReportWriter.

Run: ``.venv/bin/python -m bench.bench_report [--rows N] [--formats csv,json] [--api add]``.

Rows look like a large ``validate``: 95% valid, 3% invalid (with a formula-like cell), 2%
duplicate, from one table. ``--api add`` passes every row as a ``RowOutcome``; ``--api
source`` passes valid rows with ``add_source_row`` (what the pipeline can do for ``valid``).
The inputs are built before the clock starts; peak RSS therefore includes them (~400 MB for
a million prebuilt records), so ``--stream`` builds them on the fly instead, to show that the
writer's own memory stays flat (timings then include building the inputs).

``--csv PATH`` times what ``validate`` does with a real file instead: InputReader, Validator
and the report, valid rows through ``add_source_row`` (the add figure then includes reading
and validating).

``--as-run`` feeds the outcomes as ``run`` does: invalid and duplicate rows first (found while
reading), then the others as ``created``, person by person (each person's rows are spread over
the file), and has the writer put results.csv back in input order at ``finish``;
``--as-run --arrival-order`` leaves it in arrival order (what ``run`` did before), for the pair.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from importer.records import Action, RowOutcome, SourceRow, Table
from importer.report.writer import ReportWriter, RunSummary, new_run_id

__all__ = ["main", "make_inputs", "run"]

_TABLE = Table(
    "skills.csv",
    "",
    ("Employee Email", "Skill", "Level", "Category"),
    {"user": 0, "displayName": 1},
)


def make_inputs(rows: int, api: str) -> Iterator[RowOutcome | SourceRow]:
    """Yield ``rows`` inputs of one CSV table, in input order."""
    for number in range(2, rows + 2):
        user = f"user{number // 5}@contoso.com"
        kind = number % 100
        if kind < 3:
            cells = (user, '=HYPERLINK("x")', "Guru", "IT")
            source = SourceRow(_TABLE, number, cells)
            yield RowOutcome.for_source(
                source, Action.INVALID, error_type="invalid-enum",
                error="proficiency 'Guru' is not one of elementary, ...",
            )  # fmt: skip
            continue
        source = SourceRow(_TABLE, number, (user, f"Skill {number % 5}", "4", "IT"))
        if kind < 5:
            yield RowOutcome.for_source(source, Action.DUPLICATE)
        elif api == "source":
            yield source
        else:
            yield RowOutcome.for_source(source, Action.VALID)


_PEOPLE = 50_000


def make_run_arrival(rows: int) -> Iterator[RowOutcome]:
    """What ``run`` reports for ``rows`` input rows of ``_PEOPLE`` people, in arrival order."""
    numbers = range(2, rows + 2)
    for number in numbers:
        if number % 100 < 5:
            yield _outcome(number, Action.INVALID if number % 100 < 3 else Action.DUPLICATE)
    for person in range(_PEOPLE):
        for number in range(2 + person, rows + 2, _PEOPLE):
            if number % 100 >= 5:
                yield _outcome(number, Action.CREATED)


def _outcome(number: int, action: Action) -> RowOutcome:
    user = f"user{number % _PEOPLE}@contoso.com"
    source = SourceRow(_TABLE, number, (user, f"Skill {number % 7}", "4", "IT"))
    if action is Action.INVALID:
        return RowOutcome.for_source(
            source, action, error_type="invalid-enum", error="proficiency 'Guru' is not ..."
        )
    return RowOutcome.for_source(source, action)


def validated(
    path: Path,
) -> tuple[Iterator[RowOutcome | SourceRow], Callable[[], list[RowOutcome]]]:
    """What validating ``path`` gives the report: outcomes and valid rows, then corrections."""
    from importer.config import Settings
    from importer.read.reader import InputReader
    from importer.validate.validator import Validator

    settings = Settings()
    validator = Validator(settings)

    def items() -> Iterator[RowOutcome | SourceRow]:
        for item in validator.feed(InputReader([path], settings).rows()):
            yield item if isinstance(item, RowOutcome) else item.source

    return items(), validator.finish


def run(
    inputs: Iterable[RowOutcome | SourceRow],
    formats: list[str],
    corrections: Callable[[], list[RowOutcome]] = list,
    *,
    input_order: bool = False,
) -> tuple[float, float]:
    """Return (add seconds, finish seconds) for one report of ``inputs``."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = datetime.now(UTC)
        run_id = new_run_id(root, started)
        t0 = time.perf_counter()
        writer = ReportWriter(root, formats, run_id)
        if input_order:
            writer.order_by_input([(_TABLE.source, _TABLE.sheet)])
        for item in inputs:
            if isinstance(item, SourceRow):
                writer.add_source_row(item)
            else:
                writer.add(item)
        writer.correct(corrections())
        t1 = time.perf_counter()
        summary = RunSummary(
            run_id=run_id, command="validate", started=started, finished=datetime.now(UTC),
            target="none (offline validation)", mode="", dry_run=True, inputs=[], blank_rows=0,
            http={}, exit_code=1, reason="bench",
        )  # fmt: skip
        writer.finish(summary)
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main() -> None:
    """Parse arguments, run once, print the timings and peak RSS."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,json")
    parser.add_argument("--api", choices=["add", "source"], default="add")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--as-run", action="store_true")
    parser.add_argument("--arrival-order", action="store_true")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    if args.as_run:
        args.api, args.stream = "add", True
        order = not args.arrival_order
        add_s, finish_s = run(make_run_arrival(args.rows), formats, input_order=order)
    elif args.csv:
        args.api, args.stream = "source", True
        items, corrections = validated(args.csv)
        add_s, finish_s = run(items, formats, corrections)
    else:
        inputs = make_inputs(args.rows, args.api)
        add_s, finish_s = run(inputs if args.stream else list(inputs), formats)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"rows={args.rows} formats={','.join(formats)} api={args.api} stream={args.stream} "
        f"as_run={args.as_run} input_order={args.as_run and not args.arrival_order} "
        f"add={add_s:.2f}s finish={finish_s:.2f}s total={add_s + finish_s:.2f}s "
        f"peak_rss={peak_mb:.0f}MB"
    )


if __name__ == "__main__":
    main()

"""results.csv, corrections, summary.json and run ids: what a scheduler and an HR admin see."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.records import Action, InputSummary, RowOutcome, SourceRow, Table
from importer.report.csv_files import RESULT_COLUMNS
from importer.report.writer import ReportWriter, RunSummary, new_run_id
from importer.validate.schema import find_invisible_character

HEADER = ("Employee Email", "Skill", "Level")
STARTED = datetime(2026, 11, 27, 14, 22, 33, tzinfo=UTC)


def make_table(
    source: str = "skills.csv", sheet: str = "", header: Sequence[str] = HEADER
) -> Table:
    """A table whose first two columns are user and displayName."""
    return Table(source, sheet, tuple(header), {"user": 0, "displayName": 1})


def outcome(
    table: Table, row: int, cells: Sequence[str], action: Action = Action.VALID, **kwargs: object
) -> RowOutcome:
    """The outcome of one input row, built the way validation and the dispatcher build it."""
    return RowOutcome.for_source(SourceRow(table, row, tuple(cells)), action, **kwargs)


def make_summary(run_id: str, **kwargs: object) -> RunSummary:
    """A finished validate run; keyword arguments override fields."""
    values: dict[str, object] = {
        "run_id": run_id,
        "command": "validate",
        "started": STARTED,
        "finished": STARTED + timedelta(seconds=2.5),
        "target": "none (offline validation)",
        "mode": "",
        "dry_run": True,
        "inputs": [InputSummary("skills.csv", "ab" * 32, 3, 1)],
        "blank_rows": 1,
        "http": {},
        "exit_code": 1,
        "reason": "1 row(s) invalid or failed: see rejects.csv",
    }
    values.update(kwargs)
    return RunSummary(**values)  # type: ignore[arg-type]


def new_writer(
    tmp_path: Path, formats: Sequence[str] = ("csv", "json"), xlsx_row_limit: int = 100_000
) -> ReportWriter:
    """A writer in a fresh run folder under tmp_path."""
    run_id = new_run_id(tmp_path, STARTED)
    return ReportWriter(tmp_path, formats, run_id, xlsx_row_limit=xlsx_row_limit)


def read_csv(path: Path) -> list[list[str]]:
    """Every line of a report CSV, header included, as the reader would see it."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def results(folder: Path) -> list[dict[str, str]]:
    """results.csv as dicts."""
    header, *lines = read_csv(folder / "results.csv")
    return [dict(zip(header, line, strict=True)) for line in lines]


def test_every_row_appears_once_in_results_csv_with_the_documented_columns(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path)
    writer.add(outcome(table, 2, ["ann@contoso.com", "Python", "4"]))
    writer.add(
        outcome(
            table,
            3,
            ["bob@contoso.com", "", "4"],
            Action.INVALID,
            error_type="missing-cell",
            error="displayName is empty",
        )
    )
    writer.add(outcome(table, 4, ["ann@contoso.com", "Python", "4"], Action.DUPLICATE))
    folder = writer.finish(make_summary(writer.path.name))

    header = read_csv(folder / "results.csv")[0]
    assert tuple(header) == RESULT_COLUMNS
    lines = results(folder)
    assert [(r["row"], r["user"], r["displayName"], r["action"]) for r in lines] == [
        ("2", "ann@contoso.com", "Python", "valid"),
        ("3", "bob@contoso.com", "", "invalid"),
        ("4", "ann@contoso.com", "Python", "duplicate"),
    ]
    assert lines[1]["errorType"] == "missing-cell"
    assert lines[1]["error"] == "displayName is empty"
    assert lines[0]["source"] == "skills.csv"


def test_results_csv_has_a_utf8_bom_crlf_lines_and_keeps_non_ascii(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    writer.add(outcome(make_table(), 2, ["zoë@contoso.com", "Français", ""]))
    folder = writer.finish(make_summary(writer.path.name))

    raw = (folder / "results.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfsource,sheet,row,")
    assert raw.count(b"\r\n") == 2
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert "Français" in raw.decode("utf-8-sig")


def test_status_is_empty_when_nothing_was_sent_and_the_http_code_otherwise(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path)
    writer.add(
        outcome(
            table,
            2,
            ["ann@contoso.com", "Go", ""],
            Action.CREATED,
            status=201,
            skill_id="sk-1",
            attempts=2,
            request_id="req-9",
        )
    )
    writer.add(outcome(table, 3, ["bad user", "Go", ""], Action.INVALID, error_type="bad-user"))
    folder = writer.finish(make_summary(writer.path.name, command="run"))

    created, invalid = results(folder)
    assert (created["status"], created["skillId"], created["attempts"]) == ("201", "sk-1", "2")
    assert created["requestId"] == "req-9"
    assert (invalid["status"], invalid["attempts"]) == ("", "0")


def test_cells_with_commas_quotes_and_line_breaks_survive_the_round_trip(tmp_path: Path) -> None:
    tricky = 'Sales, "key" accounts\nEMEA'
    writer = new_writer(tmp_path)
    writer.add(outcome(make_table("in, put.csv"), 2, ["ann@contoso.com", tricky, ""]))
    folder = writer.finish(make_summary(writer.path.name))

    (line,) = results(folder)
    assert (line["source"], line["displayName"]) == ("in, put.csv", tricky)


_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cells=st.lists(st.tuples(_TEXT, _TEXT, _TEXT), min_size=1, max_size=8))
def test_any_cell_text_comes_back_exactly_or_with_one_quote_when_formula_like(
    tmp_path_factory: pytest.TempPathFactory, cells: list[tuple[str, str, str]]
) -> None:
    folder_root = tmp_path_factory.mktemp("prop")
    writer = new_writer(folder_root)
    table = make_table()
    for number, (user, name, error) in enumerate(cells, start=2):
        writer.add(outcome(table, number, [user, name, ""], Action.INVALID, error=error))
    folder = writer.finish(make_summary(writer.path.name))

    def shown(text: str) -> str:
        # Invisible and text-direction characters are shown as escapes, then formulas defused.
        text = "".join(
            ch.encode("unicode_escape").decode()
            if ch not in "\u200c\u200d" and find_invisible_character(ch)
            else ch
            for ch in text
        )
        return "'" + text if text[:1] in "=+-@\t\r\0" and text else text

    lines = results(folder)
    # csv reads a lone "\r" inside a quoted cell back as written; the reader owns stripping.
    assert [(r["user"], r["displayName"], r["error"]) for r in lines] == [
        (shown(u.strip()), shown(n.strip()), shown(e)) for u, n, e in cells
    ]
    assert [r["row"] for r in lines] == [str(n) for n in range(2, len(cells) + 2)]


def test_correct_replaces_the_earlier_row_in_place_and_adjusts_the_counts(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path)
    for row, skill in ((2, "Python"), (3, "SQL"), (4, "Go")):
        writer.add(outcome(table, row, ["ann@contoso.com", skill, "4"]))
    conflict = outcome(
        table,
        3,
        ["ann@contoso.com", "SQL", "4"],
        Action.INVALID,
        error_type="conflicting-duplicate",
        error="conflicts with row 9",
    )
    writer.correct([conflict])
    assert writer.counts["valid"] == 2
    assert writer.counts["invalid"] == 1
    folder = writer.finish(make_summary(writer.path.name))

    lines = results(folder)
    assert [(r["row"], r["action"]) for r in lines] == [
        ("2", "valid"),
        ("3", "invalid"),
        ("4", "valid"),
    ]
    assert lines[1]["errorType"] == "conflicting-duplicate"
    _, *rejects = read_csv(folder / "rejects.csv")
    assert rejects == [["ann@contoso.com", "SQL", "4", "conflicts with row 9"]]


def test_correct_of_a_row_never_added_adds_it_once(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path)
    writer.add(outcome(table, 2, ["ann@contoso.com", "Go", ""]))
    late = outcome(table, 5, ["ann@contoso.com", "go ", "5"], Action.INVALID, error="conflict")
    writer.correct([late])
    writer.correct([late])
    folder = writer.finish(make_summary(writer.path.name))

    assert [(r["row"], r["action"]) for r in results(folder)] == [("2", "valid"), ("5", "invalid")]
    assert writer.counts["invalid"] == 1
    assert len(read_csv(folder / "rejects.csv")) == 2


def test_a_corrected_rejected_row_leaves_rejects_csv(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path)
    writer.add(outcome(table, 2, ["ann@contoso.com", "Go", "Guru"], Action.INVALID, error="bad"))
    writer.add(outcome(table, 3, ["bob@contoso.com", "Go", "Guru"], Action.INVALID, error="bad"))
    writer.correct([outcome(table, 2, ["ann@contoso.com", "Go", "Guru"], Action.DUPLICATE)])
    folder = writer.finish(make_summary(writer.path.name))

    assert [r["action"] for r in results(folder)] == ["duplicate", "invalid"]
    assert [line[0] for line in read_csv(folder / "rejects.csv")[1:]] == ["bob@contoso.com"]
    assert writer.counts["invalid"] == 1
    assert writer.counts["duplicate"] == 1


def test_counts_list_every_action_with_zeros(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    writer.add(outcome(make_table(), 2, ["ann@contoso.com", "Go", ""], Action.WOULD_CREATE))
    assert writer.counts == {action.value: int(action is Action.WOULD_CREATE) for action in Action}
    writer.close()


def test_summary_json_says_what_ran_how_it_ended_and_which_files_exist(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path)
    writer.add(outcome(table, 2, ["ann@contoso.com", "Go", ""], Action.CREATED, status=201))
    writer.add(
        outcome(
            table,
            4,
            ["bob@contoso.com", "Go", ""],
            Action.FAILED,
            status=404,
            error_type="user-not-found",
            error="user bob@contoso.com not found",
        )
    )
    summary = make_summary(
        writer.path.name,
        command="run",
        mode="upsert",
        dry_run=False,
        exit_code=1,
        target="built-in sandbox (nothing sent to Microsoft Graph)",
        http={"requests": 3, "batches": 1, "retries": 1},
        warnings=["column 'Notes' ignored"],
    )
    folder = writer.finish(summary)

    document = json.loads((folder / "summary.json").read_text("utf-8"))
    assert document["run_id"] == folder.name
    assert document["command"] == "run"
    assert document["started"] == "2026-11-27T14:22:33.000Z"
    assert document["finished"] == "2026-11-27T14:22:35.500Z"
    assert document["duration_s"] == 2.5
    assert document["target"] == "built-in sandbox (nothing sent to Microsoft Graph)"
    assert (document["mode"], document["dry_run"]) == ("upsert", False)
    assert document["inputs"] == [
        {"path": "skills.csv", "sha256": "ab" * 32, "rows": 3, "blank_rows": 1, "sheets": []}
    ]
    assert document["counts"]["created"] == 1
    assert document["counts"]["failed"] == 1
    assert document["counts"]["would-delete"] == 0
    assert set(document["counts"]) == {action.value for action in Action}
    assert document["http"] == {"requests": 3, "batches": 1, "throttled": 0, "retries": 1}
    assert (document["exit_code"], document["blank_rows"]) == (1, 1)
    assert document["reason"] == "1 row(s) invalid or failed: see rejects.csv"
    assert document["warnings"] == ["column 'Notes' ignored"]
    assert document["files"] == ["results.csv", "rejects.csv", "summary.json"]
    assert summary.counts["created"] == 1
    assert not list(folder.glob("*.tmp"))


def test_run_ids_are_unique_for_two_runs_in_the_same_second(tmp_path: Path) -> None:
    first = new_run_id(tmp_path, STARTED)
    second = new_run_id(tmp_path, STARTED + timedelta(milliseconds=300))
    third = new_run_id(tmp_path, STARTED)

    assert first == "20261127T142233Z"
    assert (second, third) == ("20261127T142233Z-2", "20261127T142233Z-3")
    writers = [ReportWriter(tmp_path, ["csv"], run_id) for run_id in (first, second)]
    assert writers[0].path != writers[1].path
    for writer in writers:
        writer.close()


def test_run_id_is_utc_whatever_the_time_zone_of_now(tmp_path: Path) -> None:
    paris = datetime(2026, 11, 27, 15, 22, 33, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    assert new_run_id(tmp_path, paris) == "20261127T152233Z"


def test_results_csv_is_written_whatever_the_formats_and_nothing_else(tmp_path: Path) -> None:
    writer = new_writer(tmp_path, formats=())
    writer.add(outcome(make_table(), 2, ["ann@contoso.com", "Go", ""], Action.INVALID))
    folder = writer.finish(make_summary(writer.path.name))

    assert sorted(p.name for p in folder.iterdir()) == ["results.csv"]
    assert [r["action"] for r in results(folder)] == ["invalid"]


def test_close_without_finish_leaves_every_added_row_in_results_csv(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    for row in range(2, 5002):
        writer.add(outcome(make_table(), row, [f"u{row}@contoso.com", "Go", ""]))
    writer.close()
    writer.close()

    assert len(results(writer.path)) == 5000


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown report format"):
        ReportWriter(tmp_path, ["csv", "pdf"], "run")


# Values as validation gives them: a list with a comma, a formula-like link, an escape.
VALUES = ("expert", "Data, BI; Cloud", "ableToMentor", "organization", "=https://x/\u202e")
VALUE_FIELDS = ("proficiency", "categories", "collaboration_tags", "allowed_audiences", "web_url")


@pytest.mark.parametrize(
    "cells",
    [
        ("ann@contoso.com", " Python ", "4"),
        ("ann@contoso.com", '=HYPERLINK("http://x","y")', ""),
        ("ann@contoso.com", "Sales, EMEA", ""),
        ("-ann@contoso.com", "Line\nbreak", ""),
        ("ann@contoso.com",),
    ],
)
def test_add_source_row_writes_the_same_line_as_adding_the_outcome(
    tmp_path: Path, cells: tuple[str, ...]
) -> None:
    table = make_table("=odd name.csv")
    fast, slow = new_writer(tmp_path / "fast"), new_writer(tmp_path / "slow")
    fast.add_source_row(SourceRow(table, 7, cells), Action.VALID, VALUES)
    slow.add(
        RowOutcome.for_source(
            SourceRow(table, 7, cells),
            Action.VALID,
            **dict(zip(VALUE_FIELDS, VALUES, strict=True)),
        )
    )
    fast_folder = fast.finish(make_summary(fast.path.name))
    slow_folder = slow.finish(make_summary(slow.path.name))

    expected = (slow_folder / "results.csv").read_bytes()
    assert (fast_folder / "results.csv").read_bytes() == expected
    assert fast.counts == slow.counts
    assert read_csv(fast_folder / "rejects.csv") == read_csv(slow_folder / "rejects.csv")


def test_add_source_row_can_be_corrected_like_any_row(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path)
    writer.add_source_row(SourceRow(table, 2, ("ann@contoso.com", "Go", "4")))
    writer.add_source_row(SourceRow(table, 3, ("ann@contoso.com", "go", "5")))
    writer.correct(
        [
            outcome(table, row, ["ann@contoso.com", name, level], Action.INVALID, error="clash")
            for row, name, level in ((2, "Go", "4"), (3, "go", "5"))
        ]
    )
    folder = writer.finish(make_summary(writer.path.name))

    assert [r["action"] for r in results(folder)] == ["invalid", "invalid"]
    assert writer.counts["valid"] == 0
    assert len(read_csv(folder / "rejects.csv")) == 3


def test_corrections_keep_multi_line_and_quoted_cells_of_other_rows_intact(tmp_path: Path) -> None:
    table = make_table("in, put.csv")
    writer = new_writer(tmp_path)
    names = ['Sales "EMEA"\r\nteam', "Go", "multi\nline, with comma", "Rust"]
    for row, name in enumerate(names, start=2):
        writer.add(outcome(table, row, ["ann@contoso.com", name, ""], Action.DUPLICATE))
    writer.correct([outcome(table, 3, ["ann@contoso.com", "Go", ""], Action.INVALID, error="x")])
    writer.correct([outcome(table, 9, ["ann@contoso.com", "Go ", ""], Action.INVALID, error="y")])
    folder = writer.finish(make_summary(writer.path.name))

    lines = results(folder)
    assert [(r["row"], r["displayName"], r["action"]) for r in lines] == [
        ("2", names[0], "duplicate"),
        ("3", "Go", "invalid"),
        ("4", names[2], "duplicate"),
        ("5", "Rust", "duplicate"),
        ("9", "Go", "invalid"),
    ]
    assert {r["source"] for r in lines} == {"in, put.csv"}


def test_the_public_interface_the_pipeline_codes_against_stays_put() -> None:
    import importer.report.writer as report

    assert sorted(report.__all__) == [
        "REPORT_FORMATS",
        "ReportWriter",
        "RunSummary",
        "check_report_dir",
        "new_run_id",
    ]
    for name in ("add", "add_source_row", "correct", "finish", "close", "counts", "failure"):
        assert hasattr(ReportWriter, name)
    assert list(RunSummary.__dataclass_fields__) == [
        "run_id", "command", "started", "finished", "target", "mode", "dry_run", "inputs",
        "blank_rows", "http", "exit_code", "reason", "warnings", "counts", "users",
        "layouts", "throttling", "error_types", "state", "sweep",
    ]  # fmt: skip


def test_add_source_row_from_a_file_whose_name_needs_quoting_writes_csv_exactly(
    tmp_path: Path,
) -> None:
    table = make_table('HR "exports", 2026.csv', "Sheet, 1")
    fast, slow = new_writer(tmp_path / "fast"), new_writer(tmp_path / "slow")
    for row, cells in enumerate([("ann@contoso.com", "Go"), ("bob@contoso.com", "C, C++")], 2):
        fast.add_source_row(SourceRow(table, row, cells), Action.VALID, VALUES)
        slow.add(
            RowOutcome.for_source(
                SourceRow(table, row, cells),
                Action.VALID,
                **dict(zip(VALUE_FIELDS, VALUES, strict=True)),
            )
        )
    fast_folder = fast.finish(make_summary(fast.path.name))
    slow_folder = slow.finish(make_summary(slow.path.name))

    expected = (slow_folder / "results.csv").read_bytes()
    assert (fast_folder / "results.csv").read_bytes() == expected
    assert [r["source"] for r in results(fast_folder)] == ['HR "exports", 2026.csv'] * 2

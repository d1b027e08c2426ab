"""Tables and lines the CLI prints at the end of a command.

Everything here only formats what the pipeline, the sandbox or the preflight returned; none
of it decides anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from importer.errors import ExitCode
from importer.pipeline import RunResult
from importer.records import FIELDS

if TYPE_CHECKING:
    from importer.write.preflight import CheckReport

__all__ = ["render_preflight", "render_summary", "render_user_skills"]

_ACTION_ORDER = (
    "created",
    "updated",
    "unchanged",
    "deleted",
    "skipped",
    "valid",
    "would-create",
    "would-update",
    "would-delete",
    "duplicate",
    "invalid",
    "failed",
    "not-sent",
)

_SHOW_COLUMNS = (*FIELDS[1:], "source", "id")


def render_summary(console: Console, result: RunResult, title: str) -> None:
    """Rows per action, HTTP counters, the target, warnings, the exit code and the report."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("action")
    table.add_column("rows", justify="right")
    for action in _ACTION_ORDER:
        count = result.counts.get(action, 0)
        if count:
            table.add_row(action, str(count))
    table.add_row("[dim]blank rows skipped[/dim]", str(result.summary.blank_rows))
    console.print(table)
    # Piped or redirected: every line whole, never wrapped at 80 columns (one grep, one hit).
    whole = not console.is_terminal
    http = result.summary.http
    if http:
        console.print(
            "HTTP: " + ", ".join(f"{key} {value}" for key, value in http.items()),
            highlight=False,
            soft_wrap=whole,
        )
    console.print(f"Target: {result.summary.target}", highlight=False, soft_wrap=whole)
    for warning in result.warnings[:10]:
        console.print(
            f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=whole
        )
    if len(result.warnings) > 10:
        console.print(f"[yellow]... and {len(result.warnings) - 10} more warnings in summary.json")
    code = result.exit_code
    style = "green" if code == ExitCode.OK else "yellow" if code == ExitCode.ROWS_FAILED else "red"
    console.print(
        f"[{style}]exit {result.exit_code}: {escape(result.reason)}[/{style}]",
        highlight=False,
        soft_wrap=whole,
    )
    console.print(f"Report: {result.report_dir}", highlight=False, soft_wrap=whole)


def render_user_skills(console: Console, user: str, skills: list[dict[str, Any]]) -> None:
    """One user's skills in the sandbox, one row per skill.

    On a terminal, a table whose long cells wrap (never cut). Piped or redirected, plain
    tab-separated lines with a header, every cell whole and the skill's id last, for grep,
    cut or a spreadsheet.
    """
    rows = [[_cell(skill.get(column)) for column in _SHOW_COLUMNS] for skill in skills]
    if not console.is_terminal:
        lines = ["\t".join(_SHOW_COLUMNS)]
        lines += ["\t".join(_one_line(cell) for cell in row) for row in rows]
        console.file.write("\n".join(lines) + "\n")
        return
    # The id is for scripts; on a screen it would squeeze the columns people read.
    shown = _SHOW_COLUMNS.index("id")
    table = Table(title=f"Skills of {user} in the sandbox")
    for column in _SHOW_COLUMNS[:shown]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row[:shown])
    console.print(table)


def _one_line(cell: str) -> str:
    return cell.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}={_cell(item)}" for key, item in value.items())
    return str(value)


def render_preflight(console: Console, report: CheckReport) -> None:
    """One row per preflight step: ok, FAILED or skipped, with what to do about a failure."""
    table = Table(title=f"Preflight against {report.target}")
    for column in ("check", "result", "detail", "what to do"):
        table.add_column(column, overflow="fold")
    marks = {True: "[green]ok[/green]", False: "[red]FAILED[/red]", None: "[dim]skipped[/dim]"}
    for result in report.results:
        table.add_row(result.name, marks[result.ok], result.detail, result.advice)
    console.print(table)

"""One person's rows -> one line of the upload file, and one outcome per row.

The rows are the run's validated rows (skills map, duplicates policy and identity already
applied), all of one person. Each row then becomes:

- ``valid``: its skill is in the person's line, spelt as the library spells it;
- ``invalid`` ``not-in-library``: the library does not hold the name (the closest library names
  are suggested);
- ``invalid`` ``refused-prefix``: the email or the skill name starts with ``+ - @ =``, tab or
  carriage return (the cell is named; the value is never written);
- ``invalid`` ``comma-in-name``: the name holds a comma, which separates the skills of a line;
- ``invalid`` ``too-long``: the person's skills together exceed what one field may hold;
- ``duplicate``: one person written two ways asked for the same skill twice.

Nothing is sent anywhere: the line goes to ``UploadFiles`` (or nowhere, for a dry run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from importer.orgdata.files import LineTooLongError, UploadFiles
from importer.orgdata.format import (
    EMAIL_COLUMN,
    MAX_FIELD_CHARS,
    SKILL_SEPARATOR,
    SKILLS_COLUMN,
    cell_problem,
)
from importer.orgdata.library import SkillsLibrary
from importer.records import Action, RowOutcome, SkillRow, skill_key

__all__ = ["NOT_WRITTEN", "PeopleWriter", "UploadFileError"]

#: Source fields the upload file has no column for.
NOT_WRITTEN = ("proficiency", "categories", "collaborationTags", "allowedAudiences", "webUrl")


def _quoted(value: str) -> str:
    return "'" + value.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n") + "'"


def _cell_name(row: SkillRow, field: str) -> str:
    """The cell a value came from, as the admin sees it: its column header, or letter."""
    table = row.source.table
    index = table.mapping.get(field)
    header = table.header[index] if index is not None and index < len(table.header) else field
    if field == "displayName" and row.source.column:
        return f"column {row.source.column} ({header})"
    return f"column {header}"


class UploadFileError(Exception):
    """The upload file cannot be written (disk full, folder gone): nothing more can be.

    The rows of the person being written have been reported ``not-sent``.
    """


class PeopleWriter:
    """Turns each person's rows into a line of the upload files and the rows' outcomes.

    Args:
        files: where lines go; None for a dry run (outcomes only).
        library: the skills library, or None to take names as the rows spell them.
        emit: receives every row's outcome.
        max_field_chars: the most characters a field may hold.
    """

    def __init__(
        self,
        files: UploadFiles | None,
        library: SkillsLibrary | None,
        emit: Callable[[RowOutcome], None],
        max_field_chars: int = MAX_FIELD_CHARS,
    ) -> None:
        self._files = files
        self._library = library
        self._emit = emit
        self._max_field_chars = max_field_chars
        #: People whose line was written (or would be, for a dry run).
        self.people = 0
        self._carried: set[int] = set()

    @property
    def not_written(self) -> list[str]:
        """The fields some source cell held that the upload file cannot carry (levels...)."""
        return [name for index, name in enumerate(NOT_WRITTEN) if index in self._carried]

    def person(self, email: str, rows: Sequence[SkillRow]) -> None:
        """Write one person's line (``email`` as the file will hold it) and report each row.

        Raises:
            UploadFileError: the file cannot be written; stop writing.
        """
        problem = cell_problem(email)
        if problem:
            for row in rows:
                self._invalid(
                    row,
                    "refused-prefix",
                    f"{_cell_name(row, 'user')}: the email {_quoted(email)} {problem}; it is "
                    f"not written to {EMAIL_COLUMN}",
                )
            return
        kept: dict[str, tuple[str, SkillRow]] = {}
        for row in rows:
            if len(self._carried) < len(NOT_WRITTEN):
                source = row.source
                self._carried.update(
                    i for i, name in enumerate(NOT_WRITTEN) if source.get(name).strip()
                )
            name = self._checked_name(row)
            if name is None:
                continue
            key = skill_key(name)
            if key in kept:
                first = kept[key][1].source.row
                self._emit(
                    RowOutcome.for_row(
                        row,
                        Action.DUPLICATE,
                        display_name=name,
                        error_type="duplicate",
                        error=f"same person and skill as row {first}",
                    )
                )
                continue
            kept[key] = (name, row)
        if not kept:
            return
        names = [name for name, _ in kept.values()]
        line = SKILL_SEPARATOR.join(names)
        reason = ""
        if len(line) > self._max_field_chars:
            reason = (
                f"this person's {len(names)} skills take {len(line):,} characters in "
                f"{SKILLS_COLUMN}, more than the {self._max_field_chars:,} a field may hold"
            )
        elif self._files is not None:
            try:
                self._files.write(email, line)
            except LineTooLongError as exc:
                reason = f"this person's line takes {exc}"
            except OSError as exc:
                stop = f"the upload file cannot be written ({exc.strerror or exc})"
                for _, row in kept.values():
                    self._emit(
                        RowOutcome.for_row(
                            row,
                            Action.NOT_SENT,
                            error_type="not-sent",
                            error=f"not written: {stop}",
                        )
                    )
                raise UploadFileError(stop) from None
        if reason:
            for _, row in kept.values():
                self._invalid(row, "too-long", reason)
            return
        self.people += 1
        for name, row in kept.values():
            self._emit(RowOutcome.for_row(row, Action.VALID, display_name=name))

    def _checked_name(self, row: SkillRow) -> str | None:
        """The name to write for ``row``, or None once its outcome has been emitted."""
        if cell_problem(row.display_name):
            # As the row holds it, before any trimming: a tab in front is refused, not hidden.
            self._refuse_name(row, row.display_name)
            return None
        written = row.display_name.strip()
        name = written
        if self._library is not None:
            spelt = self._library.spelling(written)
            if spelt is None:
                close = self._library.suggest(written)
                hint = (
                    "did you mean " + " or ".join(_quoted(found) for found in close) + "?"
                    if close
                    else "no library name is close; add the skill to the library, or rename "
                    "it with input.skills_map"
                )
                self._invalid(
                    row,
                    "not-in-library",
                    f"skill {_quoted(written)} is not in the skills library "
                    f"{self._library.path}; {hint}",
                )
                return None
            name = spelt
        if cell_problem(name):
            self._refuse_name(row, name)
            return None
        if SKILL_SEPARATOR in name:
            self._invalid(
                row,
                "comma-in-name",
                f"skill {_quoted(name)} holds a comma, which separates the skills in "
                f"{SKILLS_COLUMN}; rename it with input.skills_map",
            )
            return None
        return name

    def _refuse_name(self, row: SkillRow, name: str) -> None:
        self._invalid(
            row,
            "refused-prefix",
            f"{_cell_name(row, 'displayName')}: the skill {_quoted(name)} {cell_problem(name)}; "
            f"it is not written to {SKILLS_COLUMN}",
        )

    def _invalid(self, row: SkillRow, error_type: str, error: str) -> None:
        self._emit(RowOutcome.for_row(row, Action.INVALID, error_type=error_type, error=error))

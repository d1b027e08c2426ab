"""Reading a journal back: a last line cut short by a kill is not an entry; people stay whole."""

from __future__ import annotations

import json
from pathlib import Path

from importer.journal.undo_rows import JournalRows, entry_of_row


def _entry(user: str, name: str) -> str:
    return json.dumps(
        {
            "action": "create",
            "user": user,
            "userAsWritten": f"{user}@contoso.com",
            "skillId": f"{user}-{name}",
            "displayName": name,
            "changed": [],
            "before": None,
            "after": {"displayName": name, "proficiency": "4"},
        }
    )


def test_a_cut_last_line_is_left_out_and_each_person_comes_whole_in_one_chunk(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.jsonl"
    lines = [
        json.dumps({"journal": 1}),
        _entry("a", "Go"),
        _entry("b", "Go"),
        _entry("a", "SQL"),
        _entry("b", "SQL")[:40],  # the kill landed while this line was written
    ]
    journal.write_text("\n".join(lines), encoding="utf-8")

    rows = JournalRows(journal, rows_per_chunk=1)

    assert rows.rows == 3
    assert rows.users == 2
    chunks = list(rows.chunks())
    assert [sorted(chunk) for chunk in chunks] == [["a"], ["b"]]
    a_rows = chunks[0]["a"]
    assert [row.source.row for row in a_rows] == [2, 4]  # journal line numbers
    assert a_rows[1].user == "a@contoso.com"
    assert a_rows[1].proficiency == "expert"  # Graph's numeric echo read as the level
    assert entry_of_row(a_rows[1])["skillId"] == "a-SQL"

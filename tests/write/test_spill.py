"""Valid rows held on disk between validation and the Graph stages (``importer.pipeline.spill``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from importer.pipeline.spill import RowSpill
from importer.records import SkillRow, SourceRow, Table

TABLE = Table(source="skills.csv", sheet="", header=("user", "skill", "level"), mapping={})


def _row(n: int, user: str, skill: str, column: str = "") -> SkillRow:
    source = SourceRow(TABLE, n, (user, skill, "expert"), column)
    return SkillRow(
        source=source,
        user=user,
        display_name=skill,
        proficiency="expert",
        categories=("Cloud", "Data"),
        collaboration_tags=None,
        allowed_audiences="organization",
        web_url=None,
        user_id="",
    )


def test_rows_come_back_whole_per_user_in_input_order() -> None:
    spill = RowSpill()
    try:
        # Sorted by skill, not by person: every person's rows are spread over the file.
        for n in range(60):
            spill.add(_row(n + 2, f"User{n % 6}@contoso.com", f"Skill {n // 6}"))
        assert len(spill) == 60
        assert spill.user_count() == 6
        seen: dict[str, list[int]] = {}
        for chunk in spill.chunks(max_rows=25):
            for key, rows in chunk.items():
                assert key not in seen, "a user was split across chunks"
                seen[key] = [r.source.row for r in rows]
        assert len(seen) == 6
        for numbers in seen.values():
            assert numbers == sorted(numbers)
            assert len(numbers) == 10
    finally:
        spill.close()


def test_a_row_comes_back_equal_to_what_went_in() -> None:
    spill = RowSpill()
    try:
        original = _row(7, "Jo@contoso.com", "Python", column="D")
        spill.add(original)
        (chunk,) = list(spill.chunks(max_rows=10))
        (back,) = chunk[original.user_key]
        assert back == original
        assert back.source.table is TABLE
        assert list(spill.user_values()) == ["Jo@contoso.com"]
    finally:
        spill.close()


def test_chunks_hold_about_max_rows_and_never_split_a_user() -> None:
    spill = RowSpill()
    try:
        for n in range(1000):
            spill.add(_row(n + 2, f"u{n % 100}@contoso.com", f"S{n}"))
        sizes = [sum(len(r) for r in chunk.values()) for chunk in spill.chunks(max_rows=95)]
        assert sum(sizes) == 1000
        assert all(size % 10 == 0 for size in sizes)  # whole users of 10 rows each
        assert max(sizes) <= 100
    finally:
        spill.close()


def test_discarded_rows_are_not_handed_back() -> None:
    spill = RowSpill()
    try:
        spill.add(_row(2, "a@contoso.com", "Python", column="C"))
        spill.add(_row(2, "a@contoso.com", "SQL", column="D"))
        spill.add(_row(3, "b@contoso.com", "Python"))
        assert spill.discard("skills.csv", "", 2, "D")
        assert not spill.discard("skills.csv", "", 9)
        assert len(spill) == 2
        names = sorted(r.display_name for c in spill.chunks(10) for rs in c.values() for r in rs)
        assert names == ["Python", "Python"]
    finally:
        spill.close()


def test_a_killed_process_leaves_no_file_behind(tmp_path: Path) -> None:
    """SIGKILL while the store holds rows: nothing is left in the temp folder."""
    script = (
        "import sys, time\n"
        "from tests.write.test_spill import _row\n"
        "from importer.pipeline.spill import RowSpill\n"
        "s = RowSpill()\n"
        "for n in range(150000): s.add(_row(n, f'u{n % 50}@x.com', f'S{n}'))\n"
        "s.user_count()\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path), "SQLITE_TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        env=env,
        cwd=Path(__file__).parents[2],
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        # The rows are on disk, in a file that already has no name.
        held = []
        for fd in Path(f"/proc/{proc.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                held.append(str(fd.readlink()))
        assert any(str(tmp_path) in path and "(deleted)" in path for path in held), held
    finally:
        proc.kill()
        proc.communicate()
    assert list(tmp_path.iterdir()) == []

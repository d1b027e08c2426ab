"""The two-process split of a large CSV never changes the report, whatever the quotes do.

The split is proposed by counting quote characters, which a stray ``27"`` in an unquoted cell
fools; the first process then checks, by parsing, that a record really starts on the split
line, and validates the rest itself when none does. These tests run in a fresh interpreter:
forking is only used from a process without threads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Validates one file twice, in one process and split in two, and returns both reports whole.
COMPARE = r"""
import logging, sys
from pathlib import Path
import importer.pipeline.parallel_validate as parallel
from importer.config import load_settings
from importer.pipeline import validate_files

class Notes(logging.Handler):
    def __init__(self):
        super().__init__()
        self.split = self.fallback = 0
    def emit(self, record):
        text = record.getMessage()
        self.split += "in two processes" in text
        self.fallback += "not a record boundary" in text

notes = Notes()
logging.getLogger("importer").addHandler(notes)
logging.getLogger("importer").setLevel(logging.INFO)

def report(source, out, min_bytes, name):
    parallel.MIN_PARALLEL_BYTES = min_bytes
    settings = load_settings(
        None, {"report": {"dir": str(out / name), "formats": ["csv", "json"]}}, environ={}
    )
    result = validate_files([source], settings)
    files = {}
    for file in ("results.csv", "rejects.csv"):
        files[file] = (result.report_dir / file).read_text(encoding="utf-8-sig")
    inputs = [(i.rows, i.blank_rows) for i in result.summary.inputs]
    return files, result.counts, inputs, result.exit_code

def compare(source, out):
    one = report(source, out, 1 << 60, "one")
    two = report(source, out, 0, "two")
    return one, two
"""

SCRIPT = (
    COMPARE
    + r"""
import json
source, out = Path(sys.argv[1]), Path(sys.argv[2])
one, two = compare(source, out)
print(json.dumps({"one": one, "two": two, "split": notes.split, "fallback": notes.fallback}))
"""
)

# Hypothesis draws whole files of stray quotes, quoted multi-line cells and plain cells, and
# holds the split report to the one-pass report, file by file.
PROPERTY = (
    COMPARE
    + r"""
import json, shutil, tempfile
from hypothesis import given, settings, strategies as st

plain = st.text(alphabet="abcxyz 27", min_size=1, max_size=6)
stray = st.builds(lambda a, b: f"{a}27\"{b}", plain, plain)  # a quote inside an unquoted cell
multi = st.lists(st.text(alphabet="ab \"27,", max_size=5), min_size=2, max_size=3).map(
    lambda lines: '"' + "\n".join(lines).replace('"', '""') + '"'
)
torn = st.lists(st.text(alphabet="ab 27", max_size=4), min_size=2, max_size=3).map(
    lambda lines: '"' + '\n27" '.join(lines) + '"'  # a stray quote inside a quoted cell
)
cell = st.one_of(plain, stray, multi, torn)
users = st.sampled_from(["ann@contoso.com", "bob@contoso.com", "zoe@contoso.com", ""])
levels = st.sampled_from(["expert", "3", "Guru", ""])
row = st.tuples(users, st.one_of(plain, stray, multi), levels, cell)
checked = {"examples": 0}

@settings(max_examples=int(sys.argv[1]), deadline=None, derandomize=True, database=None)
@given(st.lists(row, min_size=4, max_size=24))
def split_never_changes_the_report(rows):
    folder = Path(tempfile.mkdtemp())
    try:
        source = folder / "skills.csv"
        lines = ["user,skill,level,notes"] + [",".join(r) for r in rows]
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            one = report(source, folder, 1 << 60, "one")
        except Exception as exc:  # an input error must be the same error both ways
            one = repr(exc)
        try:
            two = report(source, folder, 0, "two")
        except Exception as exc:
            two = repr(exc)
        assert one == two, (one, two)
        checked["examples"] += 1
    finally:
        shutil.rmtree(folder)

split_never_changes_the_report()
print(json.dumps({"examples": checked["examples"], "split": notes.split,
                  "fallback": notes.fallback}))
"""
)


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )


def test_a_stray_quote_before_a_multi_line_cell_invents_no_rows(tmp_path: Path) -> None:
    # The stray quote makes the count odd; the next quote is the one opening a multi-line cell
    # after the middle, so the count turns even on a newline *inside* that cell.
    head = ["user,skill,level,notes", 'ann@contoso.com,Monitor 27" wide,expert,desk']
    filler = [f"user{n:03d}@contoso.com,Skill {n},expert,plain" for n in range(60)]
    tail = [
        'bob@contoso.com,Python,expert,"first line',
        'bob@contoso.com,Phantom,Guru,still the same cell"',
        *[f"late{n:03d}@contoso.com,Skill {n},3,plain" for n in range(60)],
    ]
    source = tmp_path / "quotes.csv"
    source.write_text("\n".join([*head, *filler, *tail]) + "\n", encoding="utf-8")

    done = _python(SCRIPT, str(source), str(tmp_path / "out"))

    assert done.returncode == 0, done.stderr
    both = json.loads(done.stdout)
    assert both["fallback"] == 1  # the proposed split was inside the cell, and was refused
    one, two = both["one"], both["two"]
    assert two == one
    results = one[0]["results.csv"]
    assert "Phantom" not in results  # the cell's second line is not a row of its own
    assert one[1]["valid"] == 1 + 60 + 1 + 60
    assert one[1]["invalid"] == 0


def test_split_reports_equal_one_pass_reports_for_any_quotes_and_line_breaks() -> None:
    done = _python(PROPERTY, "100")

    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    assert figures["examples"] == 100
    # Both paths were exercised: splits that held, and splits refused after parsing.
    assert figures["split"] > 0
    assert figures["fallback"] > 0

"""Generate realistic skills inputs for benchmarks, deterministically.

Run: ``.venv/bin/python -m bench.gen_data ROWS OUT.csv|OUT.xlsx [--seed N]``.

Each user has 10 skills; the columns are the ones HR systems export (email, skill, level in
mixed spellings, categories, tags, visibility, link). About 1% of the rows are invalid in
the ways real files are (an unknown level, a missing skill name, a bad link, a bad user),
and a few are identical repeats, so validation does real work on every path.
"""

from __future__ import annotations

import argparse
import csv
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["HEADER", "generate_rows", "main", "write_csv", "write_xlsx"]

HEADER = ("Employee Email", "Skill", "Level", "Category", "Tags", "Visibility", "Link")

_SKILLS = [
    f"{area} {topic}"
    for area in (
        "Python",
        "SQL",
        "Azure",
        "Java",
        "Sales",
        "Finance",
        "Design",
        "Legal",
        "HR",
        "Ops",
    )
    for topic in ("Basics", "Advanced", "Architecture", "Coaching", "Tooling", "Review", "Ops")
]
_LEVELS = (
    "expert",
    "Advanced Professional",
    "3",
    "generalProfessional",
    "4",
    "",
    "1",
    "Limited working",
)
_CATEGORIES = ("Technical", "Professional", "Technical;Cloud", "", "Language", "Management")
_TAGS = ("", "", "ableToMentor", "ask me about", "wantsToLearn", "mentor;wantsToImprove")
_VISIBILITY = ("", "", "", "Organization", "everyone", "contacts")
_SKILLS_PER_USER = 10


def _invalid(row: list[str], rng: random.Random) -> None:
    kind = rng.randrange(4)
    if kind == 0:
        row[2] = "Guru"
    elif kind == 1:
        row[1] = ""
    elif kind == 2:
        row[6] = "not a link"
    else:
        row[0] = row[0].replace("@", "/")


def generate_rows(count: int, seed: int = 7) -> Iterator[list[str]]:
    """Yield ``count`` data rows (without the header), the same ones for the same seed."""
    rng = random.Random(seed)
    emitted = 0
    user = 0
    while emitted < count:
        email = f"employee{user:07d}@contoso.com"
        for skill in rng.sample(_SKILLS, _SKILLS_PER_USER):
            if emitted == count:
                return
            link = f"https://wiki.contoso.com/skills/{skill.replace(' ', '-').lower()}"
            row = [
                email,
                skill,
                rng.choice(_LEVELS),
                rng.choice(_CATEGORIES),
                rng.choice(_TAGS),
                rng.choice(_VISIBILITY),
                link if rng.random() < 0.3 else "",
            ]
            if rng.random() < 0.01:
                _invalid(row, rng)
            yield row
            emitted += 1
            if rng.random() < 0.002 and emitted < count:
                yield list(row)  # an identical repeat: a duplicate, not an error
                emitted += 1
        user += 1


def write_csv(path: Path, count: int, seed: int = 7) -> None:
    """Write a UTF-8 CSV of ``count`` data rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(generate_rows(count, seed))


def write_xlsx(path: Path, count: int, seed: int = 7) -> None:
    """Write a one-sheet workbook of ``count`` rows below a title row, as Excel writes it.

    openpyxl writes every string inline and no sheet dimension, which makes a reader parse
    the sheet far more slowly than a workbook saved by Excel (shared strings, dimension
    first). Real HR files come from Excel, so the workbook is written here in Excel's shape.
    """
    rows: list[list[str]] = [["Skills export (generated)"], list(HEADER)]
    rows.extend(generate_rows(count, seed))
    strings: dict[str, int] = {}
    sheet = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN}"><dimension ref="A1:G{len(rows)}"/><sheetData>'
    ]
    for number, row in enumerate(rows, start=1):
        cells = []
        for column, value in zip("ABCDEFG", row, strict=False):
            if not value:
                continue
            ref = f"{column}{number}"
            if value.isdigit() and column == "C":
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                index = strings.setdefault(value, len(strings))
                cells.append(f'<c r="{ref}" t="s"><v>{index}</v></c>')
        sheet.append(f'<row r="{number}">{"".join(cells)}</row>')
    sheet.append("</sheetData></worksheet>")
    shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", "".join(sheet))
        archive.writestr(
            "xl/sharedStrings.xml",
            f'<sst xmlns="{_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
            f"{shared}</sst>",
        )


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_CT = "application/vnd.openxmlformats-"
_SML = _CT + "officedocument.spreadsheetml"
_PARTS = {
    "[Content_Types].xml": (
        f'<Types xmlns="{_PKG}/content-types">'
        f'<Default Extension="rels" ContentType="{_CT}package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_SML}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SML}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SML}.sharedStrings+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_SML}.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="Skills" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_MAIN}"><fonts count="1"><font/></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="1"><xf/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def main(argv: list[str] | None = None) -> None:
    """Command line: ROWS OUT [--seed N]; the format follows OUT's extension."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("rows", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.out.suffix.lower() == ".xlsx":
        write_xlsx(args.out, args.rows, args.seed)
    else:
        write_csv(args.out, args.rows, args.seed)


if __name__ == "__main__":
    main()

"""The Org data upload file, as Microsoft documents it, in one place.

Organizational Data in Microsoft 365 (admin center: Setup > Migration and imports) takes a
UTF-8 .csv file with one row per employee and one column per attribute:

- ``Microsoft_PersonEmail`` (required): the employee's email address, the row's identity;
- ``Microsoft_UserSkillNames``: the employee's skills, separated by commas; People Skills shows
  them as "Imported by your organization", and each name must match, exactly, the English name
  of a skill in the tenant's skills library (the built-in library plus custom skills).

A file uploaded from the admin's computer may be at most 25 MB (larger ones go through
SharePoint, up to 5 GB): files are cut below 25 MB, every one with the header, a person never
across two files. A field value may not hold a line break nor exceed 128 KB, and no imported
field may start with ``+ - @ =``, tab or carriage return (the People Skills import refuses such a
prefix, and a spreadsheet would take the field for a formula). docs/orgdata-csv.md lists the
pages this comes from.
"""

from __future__ import annotations

__all__ = [
    "EMAIL_COLUMN",
    "FORBIDDEN_PREFIXES",
    "HEADER",
    "MAX_FIELD_CHARS",
    "MAX_FILE_BYTES",
    "SKILLS_COLUMN",
    "SKILL_SEPARATOR",
    "cell_problem",
]

EMAIL_COLUMN = "Microsoft_PersonEmail"
SKILLS_COLUMN = "Microsoft_UserSkillNames"
HEADER: tuple[str, ...] = (EMAIL_COLUMN, SKILLS_COLUMN)

#: Between the skill names of one person. A bare comma, no space: Microsoft's example is
#: "Project management, organization", so its reader trims; a reader that did not trim would
#: still read these names exactly.
SKILL_SEPARATOR = ","

#: The upload limit for a file from the admin's computer (25 MB, taken as 25 * 10**6 bytes:
#: the smaller reading of "MB", so a file is never over it whichever Microsoft means).
MAX_FILE_BYTES = 25_000_000

#: A field value may hold at most 128 KB (about 128 * 1024 characters).
MAX_FIELD_CHARS = 128 * 1024

#: No imported field may start with one of these.
FORBIDDEN_PREFIXES: tuple[str, ...] = ("+", "-", "@", "=", "\t", "\r")

_SHOWN = {"\t": "a tab", "\r": "a carriage return"}


def cell_problem(value: str) -> str:
    """Why ``value`` cannot be a field of the upload file ("" when it can).

    The value is written as it is, never altered (a quote in front would change a skill name
    so that it no longer matches the library), so a value Microsoft would refuse or a
    spreadsheet would run is refused here instead.
    """
    if value.startswith(FORBIDDEN_PREFIXES):
        first = value[0]
        return (
            f"starts with {_SHOWN.get(first, repr(first))}, which the Org data upload refuses "
            f"at the start of a field (+ - @ = tab or carriage return)"
        )
    if "\n" in value or "\r" in value:
        return "holds a line break, which the Org data upload refuses in a field"
    return ""

"""The ``orgdata-csv`` target: the run's validated rows as Org data upload files; nothing is sent.

- ``format``: the file's columns, separator and limits as Microsoft documents them;
- ``library``: the skills library a name must be in (``--library``), with suggestions;
- ``files``: the numbered files under ``<report folder>/orgdata/``, cut below the size limit;
- ``people``: one person's rows -> one line, and one outcome per row.

``importer.pipeline.orgdata`` wires it into ``run`` behind validation and identity.
"""

from importer.orgdata.files import FILE_STEM, LineTooLongError, UploadFiles
from importer.orgdata.format import (
    EMAIL_COLUMN,
    FORBIDDEN_PREFIXES,
    HEADER,
    MAX_FIELD_CHARS,
    MAX_FILE_BYTES,
    SKILL_SEPARATOR,
    SKILLS_COLUMN,
    cell_problem,
)
from importer.orgdata.library import SkillsLibrary, load_library
from importer.orgdata.people import PeopleWriter, UploadFileError

__all__ = [
    "EMAIL_COLUMN",
    "FILE_STEM",
    "FORBIDDEN_PREFIXES",
    "HEADER",
    "MAX_FIELD_CHARS",
    "MAX_FILE_BYTES",
    "SKILLS_COLUMN",
    "SKILL_SEPARATOR",
    "LineTooLongError",
    "PeopleWriter",
    "SkillsLibrary",
    "UploadFileError",
    "UploadFiles",
    "cell_problem",
    "load_library",
]

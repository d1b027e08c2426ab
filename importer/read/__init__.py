"""Read: turn a source (CSV/TXT file, workbook or database query) into ``SourceRow`` records of
strings.

The reader finds the header row, matches headers to the canonical fields and yields one row at a
time; nothing here decides what a value means (that is ``importer.validate``).
"""

from importer.read.csv_file import CSV_SUFFIXES, CsvSource
from importer.read.database import DatabaseSource, is_database_url, mask_url
from importer.read.headers import HeaderMatcher
from importer.read.reader import InputReader, cells_of_rows
from importer.read.rows import RowsInput
from importer.read.workbook import WORKBOOK_SUFFIXES, WorkbookSource, column_letter

__all__ = [
    "CSV_SUFFIXES",
    "WORKBOOK_SUFFIXES",
    "CsvSource",
    "DatabaseSource",
    "HeaderMatcher",
    "InputReader",
    "RowsInput",
    "WorkbookSource",
    "cells_of_rows",
    "column_letter",
    "is_database_url",
    "mask_url",
]

"""The public interface the pipeline and the Graph client code against: names and signatures.

A change here is a change of contract (DESIGN section 1): update the callers in the same
change, or keep the old name working.
"""

from __future__ import annotations

import inspect

import importer.read.reader
import importer.validate.schema
import importer.validate.validator
from importer.read.reader import InputReader
from importer.validate.validator import Validator


def test_reader_exposes_the_documented_interface() -> None:
    assert importer.read.reader.__all__ == ["InputReader"]
    assert list(inspect.signature(InputReader.__init__).parameters) == ["self", "paths", "settings"]
    for name in ("rows", "summaries", "lookup_cells"):
        assert callable(getattr(InputReader, name))
    assert isinstance(InputReader.blank_rows, property)


def test_validator_exposes_the_documented_interface() -> None:
    assert set(importer.validate.validator.__all__) == {"Validator", "CellsLookup"}
    assert list(inspect.signature(Validator.__init__).parameters) == ["self", "settings"]
    assert list(inspect.signature(Validator.feed).parameters) == ["self", "rows"]
    finish = inspect.signature(Validator.finish).parameters
    assert list(finish) == ["self", "cells_of"]
    assert finish["cells_of"].default is None


def test_schema_exports_the_lenient_graph_parsers() -> None:
    assert {"parse_proficiency", "parse_audiences"} <= set(importer.validate.schema.__all__)
    assert importer.validate.schema.parse_proficiency("4") == "expert"
    assert importer.validate.schema.parse_audiences("10") == "contacts,organization"

"""Shape: one ``SourceRow`` per skill, from sources in the rows, matrix or list layout.

Between read and validate. ``Shaper.shape`` streams rows through; ``Shaper.decisions`` says
which layout each table had (for the log and summary.json).
"""

from importer.shape.detect import Decision, decide_layout, looks_like_list
from importer.shape.shaper import LAYOUTS, Shaper, TableLayout

__all__ = ["LAYOUTS", "Decision", "Shaper", "TableLayout", "decide_layout", "looks_like_list"]

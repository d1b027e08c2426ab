"""``python -m importer`` is the same as the ``skills-import`` command."""

import sys

from importer.cli import main

sys.exit(main())

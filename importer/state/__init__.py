"""The confirmed state: what Graph last confirmed for each person, so a nightly run can skip
the people whose wanted skills did not change (``run.delta: auto``).

``store`` is the SQLite file (one per target, tenant and kind), ``opening`` how a run opens
it, ``digest`` what is compared, ``ledger`` how one run uses it, ``location`` where the files
live.
"""

from importer.state.digest import config_fingerprint, fingerprint_text, wanted_digest
from importer.state.ledger import CONFIRMED, SKIPPED_NOTE, DeltaLedger, Skipped, is_due
from importer.state.location import default_state_dir, state_path
from importer.state.opening import Opened, open_state, void_people
from importer.state.store import FORMAT_VERSION, ConfirmedState, Entry, StateHeader

__all__ = [
    "CONFIRMED",
    "FORMAT_VERSION",
    "SKIPPED_NOTE",
    "ConfirmedState",
    "DeltaLedger",
    "Entry",
    "Opened",
    "Skipped",
    "StateHeader",
    "config_fingerprint",
    "default_state_dir",
    "fingerprint_text",
    "is_due",
    "open_state",
    "state_path",
    "void_people",
    "wanted_digest",
]

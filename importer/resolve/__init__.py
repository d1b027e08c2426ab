"""Resolve: every user value (object id, UPN, mail or employee id) -> one directory user.

- ``odata``: the directory requests, with values as properly escaped OData literals;
- ``matching``: which directory users a value matches (mail ignoring case, employeeId exactly);
- ``directory``: reads the directory by listing or lookups, whichever costs fewer requests;
- ``cached``: or from last run's snapshot plus Graph's changes since (``users/delta``);
- ``stage``: the stage itself: resolve the distinct values, then give each row its object id
  or its outcome (user-not-found, user-ambiguous, user-disabled).
"""

from importer.resolve.cached import DirectoryCache
from importer.resolve.directory import (
    DIRECTORY_PERMISSION,
    DirectoryAccessError,
    DirectoryFigures,
    lookup_requests,
)
from importer.resolve.matching import DirectoryUser, MatchIndex, match_key
from importer.resolve.odata import (
    MAX_FILTER_VALUES,
    filter_expression,
    listing_url,
    lookup_url,
    odata_literal,
)
from importer.resolve.stage import (
    Resolution,
    RowResolver,
    apply_resolution,
    resolve_users,
    wanted_values,
)

__all__ = [
    "DIRECTORY_PERMISSION",
    "MAX_FILTER_VALUES",
    "DirectoryAccessError",
    "DirectoryCache",
    "DirectoryFigures",
    "DirectoryUser",
    "MatchIndex",
    "Resolution",
    "RowResolver",
    "apply_resolution",
    "filter_expression",
    "listing_url",
    "lookup_requests",
    "lookup_url",
    "match_key",
    "odata_literal",
    "resolve_users",
    "wanted_values",
]

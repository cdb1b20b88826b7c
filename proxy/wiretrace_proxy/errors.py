"""The few exceptions wiretrace raises itself; everything else is a builtin exception.

Callers (the CLI above all) catch ``WiretraceError`` to print one human line and exit
non-zero instead of a traceback. The tree is kept small on purpose::

    WiretraceError              anything wiretrace reports by name
    ├── StorageError            the database refused or failed an operation
    │   ├── StorageUnavailable  the database cannot be reached or opened at all
    │   └── SchemaTooNew        the database was migrated by a newer wiretrace
    └── ConfigError             a setting is invalid or needs something not installed

Messages are one line, ready to print as they are.
"""

from __future__ import annotations

__all__ = ["ConfigError", "SchemaTooNew", "StorageError", "StorageUnavailable", "WiretraceError"]


class WiretraceError(Exception):
    """Base of every exception wiretrace raises by name."""


class StorageError(WiretraceError):
    """The database refused or failed an operation."""


class StorageUnavailable(StorageError):
    """The database cannot be reached or opened (wrong path, server down, not a database)."""


class SchemaTooNew(StorageError):
    """The database's schema revision is unknown to this code: a newer wiretrace made it."""


class ConfigError(WiretraceError):
    """A setting is invalid, or it needs an optional dependency that is not installed."""

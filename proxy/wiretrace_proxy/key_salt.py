"""The salt of API key fingerprints: one per database, so a key has one fingerprint.

A configured ``--key-salt`` wins. Otherwise a SQLite database keeps a random salt in a file
beside it (every process on that file reads it), and a server database keeps it in
``server_settings``, where every replica reads the one the first stored.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import platformdirs
from sqlalchemy.engine import Engine

from wiretrace_proxy.settings import MEMORY_URL, Settings
from wiretrace_proxy.storage.shared_state import shared_setting

__all__ = ["KEY_SALT_SETTING", "load_key_salt"]


def load_key_salt(settings: Settings, engine: Engine) -> str:
    """The fingerprint salt, stable across restarts: configured, else a random one kept
    beside the SQLite file, or in a server database, where every replica reads the same
    one (a salt an earlier version kept in the user's data directory is the one stored)."""
    if settings.key_salt:
        return settings.key_salt
    url = settings.database_url
    if url == MEMORY_URL:
        return secrets.token_hex(16)  # an in-memory store keeps nothing, fingerprints included
    if url.startswith("sqlite:///"):
        return _file_salt(Path(url.removeprefix("sqlite:///") + ".salt"))
    legacy = Path(platformdirs.user_data_dir("wiretrace", appauthor=False)) / "key.salt"
    return shared_setting(engine, KEY_SALT_SETTING, lambda: _read_salt(legacy))


KEY_SALT_SETTING = "key_salt"
"""The salt's name in a server database's ``server_settings``."""


def _read_salt(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return secrets.token_hex(16)


def _file_salt(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return _create_salt(path)


def _create_salt(path: Path) -> str:
    """A new salt written to ``path``, or the salt another process wrote there first.

    Why a link: two servers on one SQLite file started together would each write a salt,
    and the one whose file was replaced would fingerprint with a salt kept nowhere. The
    salt is written whole to a file of this process's own, then linked into place, which
    fails if ``path`` exists: then that one is read and used."""
    salt = secrets.token_hex(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    own = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    own.write_text(salt)
    own.chmod(0o600)
    try:
        os.link(own, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        own.unlink(missing_ok=True)
    return salt

"""A throwaway PostgreSQL server for tests: its own cluster in a temporary folder, on a free
127.0.0.1 port, started with the machine's PostgreSQL binaries (Debian's
``/usr/lib/postgresql/<version>/bin``, the newest version; else ``initdb`` on ``PATH``).

``initdb`` and ``postgres`` refuse to run as root, and the tests run as root in CI, so then
the cluster belongs to the unprivileged ``postgres`` user (created with ``useradd --system``
if the machine has none) and every PostgreSQL binary runs as that user. The cluster takes
TCP connections on 127.0.0.1 only (no Unix socket), with ``trust`` authentication, and trades
durability for speed (``fsync=off``): it lives for one test session.

Tests get a fresh database each (``create_database``), dropped after, so they stay
independent while sharing one server.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresServer", "find_bin_dir", "start_server"]

OS_USER = "postgres"
"""The unprivileged user the cluster runs as when the tests run as root."""

SUPERUSER = "postgres"
"""The cluster's superuser role, the one every test URL connects as."""

_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
}
"""postgresql.conf for a session-long test server: loopback TCP only, no fsync."""


def find_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL ``bin`` folder, else the folder of ``initdb`` on ``PATH``."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))

    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    if debian:
        return debian[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _os_user() -> pwd.struct_passwd | None:
    """Who runs the cluster: None for the current user, the ``postgres`` user under root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", OS_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(OS_USER)


@dataclass
class PostgresServer:
    """One cluster: ``start``, ``stop`` (and start again: an outage), ``url`` per database."""

    bin_dir: Path
    root: Path
    """The temporary folder holding the cluster (``data``) and its log (``log``)."""
    port: int
    user: pwd.struct_passwd | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "log"

    def url(self, database: str = "postgres") -> str:
        """A plain ``postgresql://`` URL, as a user would give ``--db``."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary as the cluster's user; raise with its output if it fails."""
        user = self.user
        done = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            env={**os.environ, "LC_ALL": "C", "HOME": str(self.root)},
        )
        if done.returncode != 0:
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            raise RuntimeError(
                f"{' '.join(args)} failed ({done.returncode}): {done.stdout}{done.stderr}\n{log}"
            )
        return done

    def init(self) -> None:
        self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )
        conf = "".join(f"{key} = '{value}'\n" for key, value in _SETTINGS.items())
        with (self.data_dir / "postgresql.conf").open("a") as f:
            f.write(conf)
        # TCP from loopback only: no "local" lines (there is no socket to use them).
        (self.data_dir / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")

    def start(self) -> None:
        """Start the cluster and wait until it takes connections."""
        self._run(
            "pg_ctl",
            "start",
            "--wait",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_file),
            "-o",
            f"-p {self.port}",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster; ``fast`` ends every client's connection, as an outage would."""
        self._run("pg_ctl", "stop", "--wait", "--pgdata", str(self.data_dir), "-m", mode)

    def running(self) -> bool:
        status = subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "status", "--pgdata", str(self.data_dir)],
            capture_output=True,
            user=self.user.pw_uid if self.user else None,
        )
        return status.returncode == 0

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[object, ...]]:
        """Run one statement outside a transaction (``CREATE DATABASE`` needs that); its rows."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}",
            autocommit=True,
            connect_timeout=10,
        ) as conn:
            cursor = conn.execute(sql.encode())
            return list(cursor.fetchall()) if cursor.description else []

    def create_database(self) -> str:
        """A new, empty database with a unique name; its name."""
        name = f"wt_{uuid.uuid4().hex[:16]}"
        self.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any connection a test left open to it."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A fresh database's URL for the ``with`` block, dropped after."""
        name = self.create_database()
        try:
            yield self.url(name)
        finally:
            if self.running():
                self.drop_database(name)


@contextlib.contextmanager
def start_server(bin_dir: Path) -> Iterator[PostgresServer]:
    """A new cluster, running for the ``with`` block, then stopped and removed."""
    user = _os_user()
    # Not under pytest's basetemp: that folder is 0700 root, which the postgres user
    # cannot enter.
    root = Path(tempfile.mkdtemp(prefix="wiretrace-pg-"))
    try:
        if user is not None:
            os.chown(root, user.pw_uid, user.pw_gid)
        server = PostgresServer(bin_dir, root, _free_port(), user)
        server.init()
        for attempt in range(3):  # the free port may be taken between the probe and the start
            try:
                server.start()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                server.port = _free_port()
        try:
            yield server
        finally:
            if server.running():
                server.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)

"""Which server this is, among replicas that share one database: a name and a schema revision.

Replicas behind a load balancer are stateless peers (every record is in the database), so
``/healthz`` is where one is told from another: its name (``--replica-name``, by default
``hostname:pid``) and the schema revision its start found or made.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

__all__ = ["Replica", "default_replica_name"]


def default_replica_name() -> str:
    """``hostname:pid``: unique among the processes of one machine and across machines."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Replica:
    name: str
    schema_revision: str | None
    """The database's schema revision once this server migrated it (the code's newest)."""

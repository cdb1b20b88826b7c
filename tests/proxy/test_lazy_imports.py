"""A server loads what only some requests need when the first of them comes: numpy (about
15 MiB of memory in every replica) for evaluation compares and summaries, protobuf for OTLP
ingest and export."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from wiretrace_proxy.app import create_app
from wiretrace_proxy.settings import Settings
create_app(Settings(db_url="sqlite://"))
print(sorted(m for m in ("numpy", "google.protobuf") if m in sys.modules))
"""


def test_building_the_server_loads_neither_numpy_nor_protobuf() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stderr

"""A server that never compares evaluation runs never loads numpy (about 15 MiB of memory
in every replica): the route modules import it where it is used."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from wiretrace_proxy.app import create_app
from wiretrace_proxy.settings import Settings
create_app(Settings(db_url="sqlite://"))
print(sorted(m for m in ("numpy",) if m in sys.modules))
"""


def test_building_the_server_loads_no_numpy() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stderr

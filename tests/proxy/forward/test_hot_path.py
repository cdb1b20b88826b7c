"""The hot path never blocks the event loop, and never imports storage or tokenizers.

design.md: "no database, no tokenizer, no blocking I/O between an upstream chunk and the
client". blockbuster raises inside the server's loop on any blocking call (file or socket
I/O, sleep, locks), so a blocking call would fail the proxied request.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import openai
from blockbuster import BlockBuster

from tests.fakes.fake_streams import ANSWER
from tests.harness import Servers

PACKAGE = Path(__file__).resolve().parents[3] / "proxy" / "wiretrace_proxy"
HOT_MODULES = (
    "forward/handler.py",
    "forward/capture.py",
    "forward/headers.py",
    "forward/include_usage.py",
    "tracecontext.py",
)
BANNED = (
    "storage",
    "usage",
    "tokenizers",
    "tiktoken",
    "sqlmodel",
    "sqlalchemy",
    "recorder",
    "reassemble",
    "writer",
)


def test_hot_path_modules_import_nothing_slow() -> None:
    for name in HOT_MODULES:
        tree = ast.parse((PACKAGE / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = (node.module or "").split(".")
                assert not set(module) & set(BANNED), f"{name} imports {node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in BANNED, f"{name} imports {alias.name}"


def test_streams_through_the_proxy_never_block_its_loop(servers: Servers) -> None:
    client = openai.OpenAI(api_key="sk-test", base_url=servers.base_url, max_retries=0)
    blockbuster = BlockBuster(scanned_modules=["wiretrace_proxy", "aiohttp"])
    blockbuster.activate()
    try:
        for stream in (True, False):
            for _ in range(3):
                result: Any = client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=stream
                )
                if stream:
                    text = "".join(c.choices[0].delta.content or "" for c in result if c.choices)
                else:
                    text = result.choices[0].message.content or ""
                assert text == ANSWER
    finally:
        blockbuster.deactivate()
    records = servers.records()
    assert len(records) == 6 and {r.status for r in records} == {"ok"}

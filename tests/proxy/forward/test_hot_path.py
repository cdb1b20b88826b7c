"""The hot path never blocks the event loop (imports: see ``test_folder_rule``).

``docs/architecture.md``, "Principles" (hot path is sacred): no database, no tokenizer, no
blocking I/O between an upstream chunk and the client. blockbuster raises inside the
server's loop on any blocking call (file or socket I/O, sleep, locks), so a blocking call
would fail the proxied request.
"""

from __future__ import annotations

from typing import Any

import openai
from blockbuster import BlockBuster

from tests.fakes.fake_streams import ANSWER
from tests.harness import Servers


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

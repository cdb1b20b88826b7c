"""Typed application state: every shared object lives behind one ``web.AppKey``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.forward.capture import Capture
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.writer import Writer


class RecordSink(Protocol):
    """Where finished captures go (the writer). ``submit`` must not block or await."""

    def submit(self, item: Capture | CallRecord) -> None: ...


@dataclass(slots=True)
class Upstream:
    """The shared keep-alive connection pool to the upstream, and its base URL."""

    session: aiohttp.ClientSession
    base_url: str


SETTINGS = web.AppKey("settings", Settings)
UPSTREAM = web.AppKey("upstream", Upstream)
SINK = web.AppKey("sink", RecordSink)
ENGINE = web.AppKey("engine", Engine)
WRITER = web.AppKey("writer", Writer)

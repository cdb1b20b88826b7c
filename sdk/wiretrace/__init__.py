"""wiretrace SDK: your own functions as spans, with proxied OpenAI calls nested under them.

    import wiretrace

    wiretrace.init(project="rag")          # server at $WIRETRACE_URL or 127.0.0.1:8787

    @wiretrace.op
    def generate(question: str) -> str:
        prompt = build_prompt(question)    # another op: a child span
        return client.chat.completions.create(...)  # proxied call: a child too

    wt = wiretrace.client()                # read back: calls, traces, stats, feedback
    cost = sum(c["cost_usd"] or 0 for c in wt.calls(session_id="exp-42"))

Why so little: the proxy already records every OpenAI call with no code at all; the SDK
only adds spans for the app's own functions and links the two with W3C ``traceparent``.
Its core is the standard library only, ``import wiretrace`` imports nothing heavy (no
``typing``, no ``inspect``, no HTTP stack), and nothing it does can raise into the app.

The public API is exactly ``__all__``. The package logs under ``wiretrace`` and adds only a
``NullHandler``; configure logging to see its (single) warning when spans cannot be sent.
When the proxy cannot be reached, OpenAI calls go straight to their destination and one
line on stderr says so (``WIRETRACE_QUIET=1`` moves it to the logger); ``status()`` counts
them.
"""

from __future__ import annotations

import logging

from ._context import current_span
from ._model import Model
from ._op import op
from ._span import Span
from ._state import Status, finish, init, status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import scorers
    from ._client import WiretraceAPIError, client
    from ._dataset import Dataset
    from ._eval_logger import EvaluationLogger
    from ._evaluation import Evaluation
    from ._scorer import Scorer
    from ._threads import ThreadPoolExecutor

__all__ = [
    "Dataset",
    "Evaluation",
    "EvaluationLogger",
    "Model",
    "Scorer",
    "Span",
    "Status",
    "ThreadPoolExecutor",
    "WiretraceAPIError",
    "client",
    "current_span",
    "finish",
    "init",
    "op",
    "scorers",
    "status",
]
__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> object:
    # Imported on first use: concurrent.futures (ThreadPoolExecutor) and urllib, json and
    # typing (the client) are not free to import, and most apps only trace.
    if name == "ThreadPoolExecutor":
        from ._threads import ThreadPoolExecutor

        return ThreadPoolExecutor
    if name in ("client", "WiretraceAPIError"):
        from . import _client

        return getattr(_client, name)
    if name in _EVALUATION_NAMES:
        import importlib

        module = importlib.import_module(_EVALUATION_NAMES[name], __name__)
        return module if name == "scorers" else getattr(module, name)
    raise AttributeError(f"module 'wiretrace' has no attribute {name!r}")


_EVALUATION_NAMES = {
    "Dataset": "._dataset",
    "Evaluation": "._evaluation",
    "EvaluationLogger": "._eval_logger",
    "Scorer": "._scorer",
    "scorers": ".scorers",
}
"""Evaluations, imported on first use (dataclasses, inspect, asyncio)."""

"""wiretrace server: a transparent recording proxy for OpenAI-compatible APIs.

The flow, by folder: ``forward/`` (event loop) relays each ``/v1`` call byte for byte and
tees it into a ``Capture``; ``writer`` queues captures without blocking; on the writer's
thread ``record/`` turns each capture into a ``CallRecord`` and ``storage/`` writes the
batch; ``api/`` reads it back for the UI. Nothing on the request path touches storage.
See docs/architecture.md.
"""

__version__ = "0.1.0"

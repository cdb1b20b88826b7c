"""wiretrace server: a transparent recording proxy for OpenAI-compatible APIs.

The request path (``forward``, ``capture``, ``headers``, ``usage_option``) never touches
storage; records are built and written off it by ``recorder`` and ``writer``.
"""

__version__ = "0.1.0"

"""Import an optional library, or say which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, scorer: str, package: str | None = None) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{scorer} needs {package or module}: pip install 'wiretrace[evals]' "
            f"(or pip install {package or module})"
        ) from None

"""``wiretrace.Model``: a versioned bundle of configuration and the methods that use it.

Why a base class that makes dataclasses: a model (a prompt template, a temperature, a
retriever's ``k``, plus the methods that use them) is declared like a dataclass, with typed
attributes, and its version must change when either an attribute value or a method's code
changes. Subclasses are turned into dataclasses automatically (class keywords such as
``frozen=True`` are passed on; ``slots=True`` is not supported because it replaces the
class). When a method of a ``Model`` that is an ``@op`` runs, its span carries the
instance's ``model_version``: ``{"name", "digest", "attributes", "source"}``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import field
    from typing import dataclass_transform
else:
    field = None

    def dataclass_transform(**_kwargs: object) -> object:
        return lambda cls: cls


__all__ = ["Model"]


@dataclass_transform(field_specifiers=(field,))
class Model:
    """Base class for versioned models; subclasses are dataclasses.

    >>> class Summarizer(wiretrace.Model):
    ...     prompt: str
    ...     temperature: float = 0.0
    ...
    ...     @wiretrace.op
    ...     def run(self, text: str) -> str: ...
    """

    def __init_subclass__(cls, **kwargs: bool) -> None:
        import dataclasses

        if kwargs.get("slots"):
            raise TypeError("wiretrace.Model subclasses cannot use slots=True")
        super().__init_subclass__()
        dataclasses.dataclass(cls, **kwargs)

"""A structured diff of 2–4 call records: which metrics, parameters, inputs and outputs differ.

Each record is flattened into leaves addressed by a path (``inputs.messages[0].content``),
the union of every record's paths is taken in first-seen order, and each path lists one
value per call (``None`` where a call has no such path) and whether they are all equal.
A UI can then show the calls side by side and highlight, or text-diff, what differs.

The request body is split the way a user reads it: what the model was *told* (messages,
Responses ``input`` and ``instructions``, a legacy ``prompt``, tool definitions: the
``inputs`` section) and how it was asked (``temperature``, ``max_tokens``, ...: the
``parameters`` section). An SDK op's inputs (its bound arguments) are all ``inputs``.

Long scalar lists (an embedding, logprob arrays) stay one leaf: a thousand rows saying
"0.0123 vs 0.0125" helps nobody, and ``MAX_FIELDS`` bounds the answer for huge records.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from wiretrace_proxy.callrecord import JSON, USAGE_KEYS, CallRecord, JSONObject

__all__ = ["MAX_CALLS", "MAX_FIELDS", "MIN_CALLS", "Field", "compare_records"]

MIN_CALLS = 2
MAX_CALLS = 4
MAX_FIELDS = 5_000
"""At most this many fields are returned (``truncated`` says when more existed)."""
LEAF_LIST = 32
"""A list of more than this many scalars is compared as one value."""

Section = Literal["metrics", "parameters", "inputs", "output"]

PROMPT_KEYS = frozenset(
    {"messages", "input", "instructions", "prompt", "tools", "functions", "system", "suffix"}
)
"""Request body keys that hold what the model is told; the other keys are parameters."""

METRICS: tuple[str, ...] = (
    "op_name",
    "display_name",
    "op_version",
    "status",
    "http_status",
    "model",
    "response_model",
    "prompt_digest",
    "latency_ms",
    "ttft_ms",
    *(f"usage.{key}" for key in USAGE_KEYS),
    "usage_source",
    "cost_usd",
    "error",
)


@dataclass(frozen=True, slots=True)
class Field:
    section: Section
    path: str
    values: list[JSON]
    same: bool

    def to_api(self) -> JSONObject:
        return {
            "section": self.section,
            "path": self.path,
            "values": list(self.values),
            "same": self.same,
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    fields: list[Field]
    truncated: bool

    def to_api(self) -> JSONObject:
        differing = sorted({f.section for f in self.fields if not f.same}, key=_SECTIONS.index)
        return {
            "fields": [f.to_api() for f in self.fields],
            "differing_sections": list(differing),
            "differing_fields": sum(1 for f in self.fields if not f.same),
            "truncated": self.truncated,
        }


_SECTIONS: tuple[Section, ...] = ("metrics", "parameters", "inputs", "output")


def compare_records(records: Sequence[CallRecord]) -> Comparison:
    """The fields of ``records`` (in their order), section by section."""
    flats = [_flatten_record(record) for record in records]
    fields: list[Field] = []
    truncated = False
    for section in _SECTIONS:
        order: dict[str, None] = {}
        for flat in flats:
            for path in flat.get(section, {}):
                order.setdefault(path, None)
        for path in order:
            if len(fields) >= MAX_FIELDS:
                truncated = True
                break
            values = [flat.get(section, {}).get(path) for flat in flats]
            same = all(_equal(v, values[0]) for v in values[1:])
            fields.append(Field(section, path, values, same))
    return Comparison(fields, truncated)


def _equal(a: JSON, b: JSON) -> bool:
    # 1 == 1.0 == True in Python; in JSON an int, a float and a bool are different values.
    return type(a) is type(b) and a == b


def _flatten_record(record: CallRecord) -> dict[str, dict[str, JSON]]:
    api = record.to_api()
    usage = api.get("usage")
    metrics: dict[str, JSON] = {}
    for name in METRICS:
        if name.startswith("usage."):
            metrics[name] = usage.get(name[6:]) if isinstance(usage, dict) else None
        else:
            metrics[name] = api.get(name)
    sections: dict[str, dict[str, JSON]] = {"metrics": metrics, "parameters": {}, "inputs": {}}
    inputs = record.inputs
    if record.kind == "llm" and isinstance(inputs, dict):
        for key, value in inputs.items():
            section = "inputs" if key in PROMPT_KEYS else "parameters"
            sections[section].update(_leaves(value, f"inputs.{key}"))
    else:
        sections["inputs"].update(_leaves(inputs, "inputs"))
    sections["output"] = dict(_leaves(record.output, "output"))
    return sections


def _leaves(value: JSON, path: str) -> Iterator[tuple[str, JSON]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}")
    elif isinstance(value, list) and value and not _is_scalar_run(value):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def _is_scalar_run(items: list[JSON]) -> bool:
    return len(items) > LEAF_LIST and not any(isinstance(v, dict | list) for v in items)

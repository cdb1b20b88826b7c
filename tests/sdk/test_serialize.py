"""Serialising any value an op takes or returns, without ever raising."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import json
import math
import pathlib
import uuid
from typing import Any

import pydantic
from wiretrace._serialize import MAX_DEPTH, MAX_ITEMS, MAX_STRING, serialize, summarize_self


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Doc:
    id: int
    tags: set[str]
    when: datetime.date


class User(pydantic.BaseModel):
    name: str
    joined: datetime.datetime


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class BadDump:
    def model_dump(self, **kwargs: object) -> object:
        raise RuntimeError("no dump")

    def __repr__(self) -> str:
        return "BadDump()"


class FakeArray:
    """Duck-typed like a numpy array (numpy itself is not installed)."""

    __module__ = "numpy"

    def __init__(self, shape: tuple[int, ...], values: list[float]) -> None:
        self.shape, self.dtype, self.size, self._values = shape, "float32", len(values), values

    def tolist(self) -> list[float]:
        return self._values


Point = collections.namedtuple("Point", ["x", "y"])


def test_json_values_are_kept_as_is() -> None:
    value = {"a": [1, 2.5, None, True, "s"], "b": {"c": []}}
    assert serialize(value) == value
    assert serialize(42) == 42 and serialize("x") == "x" and serialize(None) is None


def test_non_finite_floats_become_strings() -> None:
    assert serialize([math.nan, math.inf, -math.inf]) == ["NaN", "Infinity", "-Infinity"]


def test_big_strings_and_collections_are_cut_with_a_visible_marker() -> None:
    text = serialize("x" * (MAX_STRING + 5))
    assert isinstance(text, str) and text.endswith("…[truncated 5 chars]")
    items = serialize(list(range(MAX_ITEMS + 7)))
    assert isinstance(items, list) and len(items) == MAX_ITEMS + 1
    assert items[-1] == "…[7 more items]"
    mapping = serialize({str(i): i for i in range(MAX_ITEMS + 3)})
    assert isinstance(mapping, dict) and mapping["…"] == "[3 more keys]"


def test_rich_types() -> None:
    when = datetime.datetime(2025, 1, 31, 12, 0, tzinfo=datetime.UTC)
    ident = uuid.UUID(int=1)
    assert serialize(Color.RED) == "red" and serialize(Level.HIGH) == 3
    assert serialize(when) == "2025-01-31T12:00:00+00:00"
    assert serialize(datetime.time(8, 30)) == "08:30:00"
    assert serialize(ident) == str(ident)
    assert serialize(decimal.Decimal("1.10")) == "1.10"
    assert serialize(pathlib.Path("/tmp/x")) == "/tmp/x"
    assert serialize({3, 1, 2}) == [1, 2, 3]  # sorted: stable digests
    assert serialize(frozenset({"b", "a"})) == ["a", "b"]
    assert serialize((1, 2)) == [1, 2] and serialize(Point(1, 2)) == {"x": 1, "y": 2}
    assert serialize({1: "int key", (1, 2): "tuple key"}) == {"1": "int key", "(1, 2)": "tuple key"}


def test_dataclasses_and_pydantic_models() -> None:
    doc = Doc(1, {"b", "a"}, datetime.date(2025, 1, 2))
    assert serialize(doc) == {"id": 1, "tags": ["a", "b"], "when": "2025-01-02"}
    user = User(name="ann", joined=datetime.datetime(2025, 1, 1))
    assert serialize(user) == {"name": "ann", "joined": "2025-01-01T00:00:00"}
    assert serialize([BadDump()]) == ["BadDump()"]
    assert serialize(Doc) == repr(Doc)  # a dataclass *class* is not an instance


def test_bytes_and_arrays_are_summarised() -> None:
    assert serialize(b"\x89PNG" * 100) == {
        "_type": "bytes",
        "len": 400,
        "preview": repr(b"\x89PNG" * 8),
    }
    small = serialize(FakeArray((2,), [1.0, 2.0]))
    assert small == {"_type": "ndarray", "shape": [2], "dtype": "float32", "values": [1.0, 2.0]}
    big = serialize(FakeArray((100, 100), [0.0] * 10_000))
    assert big == {"_type": "ndarray", "shape": [100, 100], "dtype": "float32"}


def test_objects_become_their_repr_even_when_repr_raises() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "Thing()"

    assert serialize(Thing()) == "Thing()"
    assert serialize(BadRepr()) == "<unrepresentable BadRepr>"
    assert serialize({"k": BadRepr()}) == {"k": "<unrepresentable BadRepr>"}


def test_cycles_and_depth_are_safe() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert serialize(loop) == [1, "<cycle: list>"]
    mapping: dict[str, Any] = {}
    mapping["self"] = mapping
    assert serialize(mapping) == {"self": "<cycle: dict>"}
    shared = [1]
    assert serialize([shared, shared]) == [[1], [1]]  # repetition is not a cycle
    deep: list[Any] = []
    node = deep
    for _ in range(MAX_DEPTH + 50):
        node.append([])
        node = node[0]
    rendered = json.dumps(serialize(deep))
    assert "<max depth: list>" in rendered


def test_a_zoo_of_awkward_values_always_gives_strict_json() -> None:
    zoo: list[object] = [
        object(),
        BadRepr(),
        lambda: 1,
        iter([1]),
        Exception("boom"),
        type,
        memoryview(b"abc"),
        bytearray(b"x"),
        {object(): BadRepr()},
        {"nan": math.nan},
        {BadRepr(), 1},
        Doc(1, {"x"}, datetime.date.today()),
    ]
    for value in zoo:
        json.dumps(serialize(value), allow_nan=False)
    json.dumps(serialize(zoo), allow_nan=False)


def test_summarize_self() -> None:
    assert summarize_self(Doc(1, set(), datetime.date.today())) == "<Doc>"
    assert summarize_self(Doc) == "<class Doc>"

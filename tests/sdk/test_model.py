"""``wiretrace.Model``: dataclass-style, versioned by its values and its code."""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import wiretrace
from wiretrace._versioning import model_version

from .collector import Collector


class Summarizer(wiretrace.Model):
    prompt: str
    temperature: float = 0.0
    client: object = None

    @wiretrace.op
    def run(self, text: str) -> str:
        return f"{self.prompt}: {text}"

    def helper(self) -> int:
        return 1


def _version(model: wiretrace.Model) -> dict[str, object]:
    return dict(model_version(model, wiretrace.Model))


def test_subclasses_are_dataclasses() -> None:
    model = Summarizer("Summarise")
    assert dataclasses.is_dataclass(model)
    assert [f.name for f in dataclasses.fields(model)] == ["prompt", "temperature", "client"]
    assert model == Summarizer("Summarise", 0.0)
    assert "Summarizer(prompt='Summarise'" in repr(model)


def test_class_keywords_are_passed_to_dataclass() -> None:
    class Frozen(wiretrace.Model, frozen=True):
        k: int = 3

    with pytest.raises(dataclasses.FrozenInstanceError):
        Frozen().k = 4  # type: ignore[misc]
    with pytest.raises(TypeError):

        class Slotted(wiretrace.Model, slots=True):
            k: int = 3


def test_version_follows_attribute_values() -> None:
    a, b = _version(Summarizer("p")), _version(Summarizer("p"))
    changed = _version(Summarizer("p", temperature=0.7))
    assert a == b and a["digest"] != changed["digest"]
    assert changed["attributes"] == {"prompt": "p", "temperature": 0.7, "client": None}
    assert a["name"] == "Summarizer"
    assert set(a["source"]) == {"run", "helper"}  # type: ignore[call-overload]
    model = Summarizer("p")
    model.temperature = 0.7
    assert _version(model)["digest"] == changed["digest"]


def test_object_addresses_do_not_change_the_version() -> None:
    assert (
        _version(Summarizer("p", client=object()))["digest"]
        == (_version(Summarizer("p", client=object()))["digest"])
    )


def test_calls_record_the_model_version_that_made_them(traced: Collector) -> None:
    first, second = Summarizer("A"), Summarizer("A", temperature=1.0)
    first.run("x")
    first.run("y")
    second.run("z")
    assert wiretrace.finish(10)
    runs = {e["inputs"]["text"]: e for e in traced.by_name("Summarizer.run")}
    assert runs["x"]["inputs"]["self"] == "<Summarizer>"
    assert runs["x"]["model_version"] == runs["y"]["model_version"]
    assert runs["z"]["model_version"]["digest"] != runs["x"]["model_version"]["digest"]
    assert runs["z"]["model_version"]["attributes"]["temperature"] == 1.0
    assert "def run(self, text: str)" in runs["x"]["model_version"]["source"]["run"]


MODEL_SOURCE = """
import wiretrace


class Agent(wiretrace.Model):
    name: str = "a"

    @wiretrace.op
    def act(self):
        return "v1"
"""


@pytest.fixture
def agent_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "wiretrace_agent_model.py"
    path.write_text(MODEL_SOURCE)
    yield path
    sys.modules.pop("wiretrace_agent_model", None)


def test_editing_a_method_makes_a_new_model_version(agent_module: Path) -> None:
    module = importlib.import_module("wiretrace_agent_model")
    before = _version(module.Agent())
    agent_module.write_text(MODEL_SOURCE.replace('"v1"', '"v2"'))
    stat = agent_module.stat()
    os.utime(agent_module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    module = importlib.reload(module)
    after = _version(module.Agent())
    assert before["attributes"] == after["attributes"]
    assert before["digest"] != after["digest"]
    assert '"v2"' in after["source"]["act"]  # type: ignore[index]

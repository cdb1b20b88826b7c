"""Op versions: source digests, one new version per edit."""

from __future__ import annotations

import functools
import importlib
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
import wiretrace
from wiretrace._versioning import digest, display_qualname, op_version

from .collector import Collector

MODULE = "wiretrace_versioned_ops"
SOURCE = """
import wiretrace


@wiretrace.op(name="answer")
def answer(question):
    return "forty-two"
"""


@pytest.fixture
def module_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / f"{MODULE}.py"
    path.write_text(SOURCE)
    yield path
    sys.modules.pop(MODULE, None)


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    path.write_text(text.replace(old, new))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    importlib.invalidate_caches()


def test_editing_the_body_makes_exactly_one_new_version(
    traced: Collector, module_file: Path
) -> None:
    module: ModuleType = importlib.import_module(MODULE)
    module.answer("q1")
    module.answer("q2")
    _rewrite(module_file, '"forty-two"', '"42"')
    module = importlib.reload(module)
    module.answer("q3")
    module.answer("q4")
    assert wiretrace.finish(10)
    versions = [e["op_version"] for e in traced.by_name("answer")]
    assert len(versions) == 4
    digests = [v["digest"] for v in sorted(versions, key=lambda v: '"42"' in v["source"])]
    assert digests[0] == digests[1] != digests[2] == digests[3]
    assert {v["module"] for v in versions} == {MODULE}
    assert all(v["qualname"] == "answer" for v in versions)


def test_unchanged_code_keeps_its_version_across_processes(module_file: Path) -> None:
    module = importlib.import_module(MODULE)
    first = op_version(module.answer)
    sys.modules.pop(MODULE)
    again = importlib.import_module(MODULE)
    assert again.answer is not module.answer
    assert op_version(again.answer) == first
    assert first["source"].startswith('@wiretrace.op(name="answer")\ndef answer(question):')


def test_methods_and_closures_are_dedented() -> None:
    class Holder:
        def method(self) -> int:
            return 1

    version = op_version(Holder.method)
    assert version["source"].startswith("def method(self) -> int:")
    assert version["qualname"] == ("test_methods_and_closures_are_dedented.Holder.method")


def test_partials_and_wrappers_point_at_the_real_function() -> None:
    def base(a: int, b: int) -> int:
        return a + b

    @functools.wraps(base)
    def wrapper(*args: int) -> int:
        return base(*args)

    assert op_version(functools.partial(base, 1)) == op_version(base)
    assert op_version(wrapper) == op_version(base)


def test_code_without_source_falls_back_to_the_code_object() -> None:
    namespace: dict[str, object] = {}
    exec(textwrap.dedent("def f(x):\n    return x + 1\n"), namespace)
    exec(textwrap.dedent("def g(x):\n    return x + 2\n"), namespace)
    f, g = namespace["f"], namespace["g"]
    assert isinstance(f, Callable) and isinstance(g, Callable)  # type: ignore[arg-type]
    assert op_version(f)["source"] == ""
    assert op_version(f)["digest"] != op_version(g)["digest"]
    assert op_version(f) == op_version(f)
    assert op_version(len)["digest"]  # even a builtin gets a (stable) version


def test_helpers() -> None:
    assert len(digest(b"x")) == 16 and digest(b"x") != digest(b"y")
    assert display_qualname("outer.<locals>.inner") == "outer.inner"

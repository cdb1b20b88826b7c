"""The classic pipeline: ops and proxied OpenAI calls in one trace tree.

The real ``openai`` client, created before ``wiretrace.init()`` with its default base URL,
is sent through the proxy by the SDK; the proxy forwards to the fake upstream. The tree is
read back from ``GET /api/traces/{id}``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import wiretrace
from wiretrace import _state

from tests.fakes.fake_streams import ANSWER
from tests.harness import Servers


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[Servers]:
    servers = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s")
    try:
        yield servers
    finally:
        _state.reset()
        servers.close()


def tree(servers: Servers, trace_id: str) -> Any:
    assert wiretrace.finish(10)
    servers.flush()
    with urllib.request.urlopen(f"{servers.proxy_url}/api/traces/{trace_id}") as resp:
        return json.load(resp)


def shape(node: Any) -> Any:
    """(name, children) with ops by their short name (closures are named ``test.fn``)."""
    name = node["op_name"] if node["kind"] == "llm" else node["op_name"].rsplit(".", 1)[-1]
    return (name, [shape(c) for c in node["children"]])


def test_generate_with_build_prompt_and_llm_call_is_one_tree(traced: Servers) -> None:
    client = openai.OpenAI(api_key="sk-test-sdk-0000000000000000")  # default base URL
    wiretrace.init(project="rag", url=traced.proxy_url)

    @wiretrace.op
    def build_prompt(question: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": question}]

    @wiretrace.op
    def generate(question: str) -> str:
        messages: Any = build_prompt(question)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        return reply.choices[0].message.content or ""

    assert generate("What is wiretrace?") == ANSWER
    root_span = traced.fake.last().headers["traceparent"].split("-")
    result = tree(traced, root_span[1])
    (root,) = result["roots"]
    assert shape(root) == (
        "generate",
        [("build_prompt", []), ("openai.chat.completions.create", [])],
    )
    llm = root["children"][1]
    assert llm["project"] == "rag" and llm["kind"] == "llm"
    assert llm["usage"]["total_tokens"] > 0 and llm["latency_ms"] > 0
    assert llm["parent_id"] == root["id"] == root_span[2]
    assert root["output"] == ANSWER and root["inputs"] == {"question": "What is wiretrace?"}
    assert root["op_version"]


async def test_async_client_and_streaming_nest_too(traced: Servers) -> None:
    client = openai.AsyncOpenAI(api_key="sk-test-sdk-0000000000000000")
    wiretrace.init(project="rag", url=traced.proxy_url)

    @wiretrace.op
    async def ask(n: int) -> str:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": f"q{n}"}], stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    @wiretrace.op
    async def fan_out() -> list[str]:
        return list(await asyncio.gather(ask(1), ask(2), ask(3)))

    assert await fan_out() == [ANSWER] * 3
    await client.close()
    trace_id = traced.fake.last().headers["traceparent"].split("-")[1]
    result = await asyncio.to_thread(tree, traced, trace_id)
    (root,) = result["roots"]
    assert shape(root)[0] == "fan_out" and len(root["children"]) == 3
    for child in root["children"]:
        assert shape(child) == ("ask", [("openai.chat.completions.create", [])])
        llm = child["children"][0]
        assert llm["output"]["choices"][0]["message"]["content"] == ANSWER
        assert llm["ttft_ms"] is not None and llm["usage_source"] == "injected"


def test_editing_an_op_makes_exactly_one_new_version(traced: Servers, tmp_path: Path) -> None:
    wiretrace.init(project="v", url=traced.proxy_url)
    namespace: dict[str, Any] = {"wiretrace": wiretrace}
    for body in ("return text.upper()", "return text.upper()", "return text.lower()"):
        source = f"import wiretrace\n@wiretrace.op\ndef summarize(text):\n    {body}\n"
        module = tmp_path / f"mod_{abs(hash(body))}.py"
        module.write_text(source)
        code = compile(source, str(module), "exec")
        exec(code, namespace)  # noqa: S102 - a user editing their function between runs
        namespace["summarize"]("Hello")
    assert wiretrace.finish(10)
    with urllib.request.urlopen(f"{traced.proxy_url}/api/ops/summarize/versions") as resp:
        versions = json.load(resp)["versions"]
    assert [v["calls"] for v in versions] == [2, 1]
    assert "upper" in versions[0]["source"] and "lower" in versions[1]["source"]


def test_node_client_nests_under_an_sdk_span(traced: Servers, tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is installed by .ci/run"
    wiretrace.init(project="poly", url=traced.proxy_url)
    script = tmp_path / "call.mjs"
    script.write_text(
        "const [url, tp] = process.argv.slice(2);\n"
        "const r = await fetch(url + '/v1/chat/completions', {method: 'POST',\n"
        "  headers: {'Content-Type': 'application/json', traceparent: tp},\n"
        "  body: JSON.stringify({model: 'gpt-4o', messages: [{role: 'user', content: 'hi'}]})});\n"
        "console.log((await r.json()).choices[0].message.content);\n"
    )

    @wiretrace.op
    def orchestrate() -> str:
        span = wiretrace.current_span()
        assert span is not None
        tp = f"00-{span.trace_id}-{span.id}-01"
        out = subprocess.run(
            [node, str(script), traced.proxy_url, tp],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return out.stdout.strip()

    assert orchestrate() == ANSWER
    trace_id = traced.fake.last().headers["traceparent"].split("-")[1]
    (root,) = tree(traced, trace_id)["roots"]
    assert shape(root) == ("orchestrate", [("openai.chat.completions.create", [])])


class Summarizer(wiretrace.Model):
    prompt: str
    temperature: float = 0.0

    @wiretrace.op
    def run(self, text: str) -> str:
        client = openai.OpenAI(api_key="sk-test-sdk-0000000000000000")
        reply = client.chat.completions.create(
            model="gpt-4o",
            temperature=self.temperature,
            messages=[
                {"role": "system", "content": self.prompt},
                {"role": "user", "content": text},
            ],
        )
        return reply.choices[0].message.content or ""


def test_model_attribute_change_makes_a_new_version(traced: Servers) -> None:
    wiretrace.init(project="m", url=traced.proxy_url)
    for model in (Summarizer("Be brief."), Summarizer("Be brief."), Summarizer("Be brief.", 0.7)):
        assert model.run("hello") == ANSWER
    assert wiretrace.finish(10)
    with urllib.request.urlopen(f"{traced.proxy_url}/api/models/Summarizer/versions") as resp:
        versions = json.load(resp)["versions"]
    assert [v["calls"] for v in versions] == [2, 1]
    assert [v["attributes"]["temperature"] for v in versions] == [0.0, 0.7]
    traced.flush()
    runs = [r for r in traced.records() if r.kind == "op"]
    assert sorted(r.model_version or "" for r in runs) == sorted(
        [versions[0]["digest"]] * 2 + [versions[1]["digest"]]
    )
    llm_calls = [r for r in traced.records() if r.kind == "llm"]
    assert {r.parent_id for r in llm_calls} == {r.id for r in runs}


SCRIPT = """
import sys, openai, wiretrace
wiretrace.init(project="script", url=sys.argv[1])
client = openai.OpenAI(api_key="sk-test-script-000000000000")

@wiretrace.op
def step(i):
    return client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": str(i)}]).choices[0].message.content

@wiretrace.op
def main():
    return [step(i) for i in range(25)]

main()
print("done")
"""


def test_script_exiting_without_finish_loses_no_span(traced: Servers, tmp_path: Path) -> None:
    import sys

    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), traced.proxy_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "done"
    traced.flush()
    records = traced.records(project="script")
    ops = [r for r in records if r.kind == "op"]
    assert len(ops) == 26 and {r.status for r in ops} == {"ok"}
    assert len([r for r in records if r.kind == "llm"]) == 25
    (root,) = [r for r in ops if r.parent_id is None]
    assert {r.trace_id for r in records} == {root.trace_id}


def test_script_with_server_down_still_succeeds_and_warns_once(tmp_path: Path) -> None:
    import socket
    import sys

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    script = tmp_path / "app.py"
    script.write_text(
        "import logging, sys, wiretrace\nlogging.basicConfig()\n"
        "wiretrace.init(url=sys.argv[1])\n"
        "@wiretrace.op\ndef f(i):\n    return i * 2\n"
        "print(sum(f(i) for i in range(100)))\n"
    )
    out = subprocess.run(
        [sys.executable, str(script), dead], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == str(sum(i * 2 for i in range(100)))
    warnings = [line for line in out.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, out.stderr

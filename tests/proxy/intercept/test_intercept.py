"""Intercept mode as a user runs it: the real ``openai`` SDK with its default base URL, in
a process whose environment is only what ``wiretrace intercept env`` prints, against the
fake upstream posing as ``https://api.openai.com``; a non-LLM HTTPS site tunnelled
untouched; the token guard; the proxy never outliving its server."""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from base64 import b64encode
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.fakes.upstream import create_fake_upstream
from tests.harness import LoopThread, start_site
from tests.proxy.intercept.conftest import (
    TOKEN,
    Intercept,
    run_python,
    wait_listening,
)
from tests.proxy.intercept.tls_servers import hello_app, tls_site
from tests.proxy.process import ServerProcess, free_port, wiretrace_cmd
from tests.proxy.process import get_call as get_stored

CLIENT = """
import json, sys, time, openai
kind, scenario = sys.argv[1], sys.argv[2]
client = openai.OpenAI(max_retries=0)
headers = {"x-fake-scenario": scenario} if scenario else {}
messages = [{"role": "user", "content": "Say hi"}]
times, text = [], ""
try:
    if kind == "stream":
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=messages, stream=True, extra_headers=headers)
        for chunk in raw.parse():
            times.append(time.monotonic())
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    elif kind == "embeddings":
        raw = client.embeddings.with_raw_response.create(
            model="text-embedding-3-small", input="hello", extra_headers=headers)
        text = str(len(raw.parse().data[0].embedding))
    else:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=messages, extra_headers=headers)
        text = raw.parse().choices[0].message.content
    print(json.dumps({"id": raw.headers.get("wiretrace-call-id"), "text": text,
                      "times": times}))
except openai.APIStatusError as exc:
    print(json.dumps({"id": exc.response.headers.get("wiretrace-call-id"),
                      "status": exc.status_code}))
"""

VARYING = {"id", "trace_id", "started_at", "ended_at", "latency_ms", "ttft_ms", "overhead_ms"}
"""What differs between any two records of the same call."""


def get_call(url: str, call_id: str) -> dict[str, Any]:
    """The stored record as JSON."""
    return dict(get_stored(url, call_id))


def call(env: dict[str, str], kind: str, scenario: str = "") -> dict[str, Any]:
    done = run_python(CLIENT, env, kind, scenario)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def reverse_env(intercept: Intercept) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "OPENAI_API_KEY": intercept.env["OPENAI_API_KEY"],
        "OPENAI_BASE_URL": intercept.server.url + "/v1",
    }


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A record less what differs per call and per route (where it was sent)."""
    kept = {k: v for k, v in record.items() if k not in VARYING}
    attributes = dict(kept.pop("attributes"))
    for name in ("provider", "upstream_host", "app_host"):
        attributes.pop(name, None)
    response = dict(attributes["response"])
    response["headers"] = {k: v for k, v in response["headers"].items() if k.lower() != "date"}
    attributes["response"] = response
    return {**kept, "attributes": attributes}


@pytest.mark.parametrize(
    ("kind", "scenario"),
    [("chat", ""), ("stream", ""), ("embeddings", ""), ("chat", "error_400")],
)
def test_record_equals_the_reverse_proxy_record(
    intercept: Intercept, kind: str, scenario: str
) -> None:
    via_intercept = call(intercept.env, kind, scenario)
    via_reverse = call(reverse_env(intercept), kind, scenario)
    assert via_intercept.get("text") == via_reverse.get("text")
    assert via_intercept.get("status") == via_reverse.get("status")
    intercepted = get_call(intercept.server.url, via_intercept["id"])
    reversed_ = get_call(intercept.server.url, via_reverse["id"])
    assert intercepted["attributes"]["app_host"] == "api.openai.com"
    left, right = comparable(intercepted), comparable(reversed_)
    assert left == right, _differences(left, right)


def _differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two JSON values differ (dotted paths), for the failure message."""
    if isinstance(left, dict) and isinstance(right, dict):
        found: list[str] = []
        for key in sorted(set(left) | set(right)):
            found += _differences(left.get(key), right.get(key), f"{path}.{key}")
        return found
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]


def test_stream_chunks_arrive_before_the_stream_ends(intercept: Intercept) -> None:
    result = call(intercept.env, "stream", "drip_0.2")
    times = result["times"]
    assert len(times) >= 3
    assert times[-1] - times[0] >= 0.4  # relayed as they came, not buffered to the end
    record = get_call(intercept.server.url, result["id"])
    assert record["status"] == "ok"
    assert record["output"]["choices"][0]["message"]["content"] == result["text"]


def _tunnel(port: int, host: str, site_port: int, ca: Path, token: str | None) -> Any:
    """GET / from ``host`` through the proxy's CONNECT, trusting only ``ca``."""
    context = ssl.create_default_context(cafile=str(ca))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    headers = {}
    if token:
        headers["Proxy-Authorization"] = (
            "Basic " + b64encode(f"wiretrace:{token}".encode()).decode()
        )
    conn.set_tunnel(host, site_port, headers=headers)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        body = response.read().decode()
        assert conn.sock is not None
        peer: Any = conn.sock.getpeercert()
        issuer = dict(item[0] for item in peer["issuer"])
        return body, issuer
    finally:
        conn.close()


def _count(url: str) -> int:
    with urllib.request.urlopen(f"{url}/api/calls?limit=500", timeout=10) as resp:
        return len(json.load(resp)["calls"])


def test_non_llm_host_is_tunnelled_with_its_own_certificate(
    intercept: Intercept, tmp_path: Path
) -> None:
    before = _count(intercept.server.url)
    with tls_site(hello_app(), ["localhost"], tmp_path) as site:
        body, issuer = _tunnel(intercept.port, "localhost", site.port, site.ca_file, TOKEN)
    assert body == "hello"
    assert "trustme" in issuer["organizationName"]  # not mitmproxy's certificate
    time.sleep(0.3)  # a record would have landed within the writer's 50 ms
    assert _count(intercept.server.url) == before


def test_plain_http_is_forwarded_but_not_recorded(intercept: Intercept) -> None:
    before = _count(intercept.server.url)
    thread = LoopThread()
    runner, url = thread.call(start_site(hello_app()))
    try:
        credentials = b64encode(f"wiretrace:{TOKEN}".encode()).decode()
        conn = http.client.HTTPConnection("127.0.0.1", intercept.port, timeout=10)
        conn.request("GET", url + "/", headers={"Proxy-Authorization": f"Basic {credentials}"})
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"hello")
        conn.close()
    finally:
        thread.call(runner.cleanup())
        thread.close()
    time.sleep(0.3)  # a record would have landed within the writer's 50 ms
    assert _count(intercept.server.url) == before


def test_a_client_without_the_token_is_refused(intercept: Intercept, tmp_path: Path) -> None:
    with tls_site(hello_app(), ["localhost"], tmp_path) as site:
        with pytest.raises(OSError, match="407"):
            _tunnel(intercept.port, "localhost", site.port, site.ca_file, None)
    env = {k: v for k, v in intercept.env.items()}
    env["HTTPS_PROXY"] = env["https_proxy"] = f"http://127.0.0.1:{intercept.port}"
    done = run_python(CLIENT, env, "chat", "")
    assert done.returncode != 0
    assert "407" in done.stderr or "Connection error" in done.stderr


def test_ca_command_prints_the_path_and_fingerprint(intercept: Intercept) -> None:
    printed = subprocess.run(
        wiretrace_cmd("intercept", "ca"), capture_output=True, text=True, check=True
    ).stdout.splitlines()
    path = Path(printed[0])
    assert path == Path(intercept.env["NODE_EXTRA_CA_CERTS"])
    der = ssl.PEM_cert_to_DER_cert(path.read_text())
    import hashlib

    digest = hashlib.sha256(der).hexdigest().upper()
    assert printed[1].replace(":", "") == f"SHA-256 {digest}"
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    assert (path.parent / "mitmproxy-ca.pem").stat().st_mode & 0o077 == 0
    assert "HTTP_PROXY" not in intercept.env
    assert intercept.env["NODE_USE_ENV_PROXY"] == "1"


def test_the_proxy_dies_with_a_killed_server(data_home: Path, tmp_path: Path) -> None:
    port = free_port()
    server = ServerProcess("http://127.0.0.1:9", tmp_path / "calls.db", "--intercept", str(port))
    wait_listening(port)
    children = psutil.Process(server.proc.pid).children(recursive=True)
    assert any("mitmdump" in " ".join(child.cmdline()) for child in children)
    server.proc.send_signal(signal.SIGKILL)
    server.stop()  # reaps it and closes its output pipe
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []


def test_intercept_run_wraps_an_app_and_returns_its_status(data_home: Path, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "import sys, openai\n"
        "r = openai.OpenAI(max_retries=0).chat.completions.create(\n"
        "    model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'hi'}])\n"
        "print(r.choices[0].message.content)\n"
        "import http.client, os, urllib.parse\n"
        "proxy = urllib.parse.urlsplit(os.environ['HTTPS_PROXY'])\n"
        "bare = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=10)\n"
        "bare.request('CONNECT', 'api.openai.com:443')\n"
        "print('without the token:', bare.getresponse().status)\n"
        "sys.exit(3)\n"
    )
    port, server_port = free_port(), free_port()
    with tls_site(create_fake_upstream(), ["api.openai.com", "127.0.0.1"], tmp_path) as site:
        env = {**os.environ, "OPENAI_API_KEY": "sk-intercept-test-1234567890abcdef"}
        env.pop("OPENAI_BASE_URL", None)
        done = subprocess.run(
            wiretrace_cmd(
                "intercept",
                "run",
                "--port",
                str(server_port),
                "--intercept",
                str(port),
                "--db",
                str(tmp_path / "calls.db"),
                "--route",
                f"api.openai.com={site.url}",
                "--route-ca",
                str(site.ca_file),
                "--intercept-token",  # reaches the server it starts as a variable
                TOKEN,
                "--",
                sys.executable,
                str(app),
            ),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 3, done.stderr
    assert "fake upstream" in done.stdout
    assert "without the token: 407" in done.stdout  # the server it started has the token
    with pytest.raises(OSError):
        wait_listening(port, timeout=0.5)  # the server it started is gone


def test_node_openai_sdk_through_the_proxy(intercept: Intercept) -> None:
    """Node 22.21+ by the environment alone (NODE_USE_ENV_PROXY); older Node through
    undici's EnvHttpProxyAgent, which reads the same HTTPS_PROXY (the script says which)."""
    script = Path(__file__).parents[2] / "node" / "chat_intercept.mjs"
    done = subprocess.run(
        ["node", str(script)], env=intercept.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    record = get_call(intercept.server.url, result["id"])
    assert record["attributes"]["app_host"] == "api.openai.com"
    assert record["output"]["choices"][0]["message"]["content"] == result["content"]

"""The distribution as a user gets it: sdist, then a wheel built from it, installed into a
fresh virtualenv, serves the full web UI.

One build for the whole module (it runs ``npm ci`` and the Vite build: a minute or two). The
tree is copied first (tracked and unignored files, as a fresh clone has them), so the build
starts without ``web/node_modules`` or a built ``static/`` and never writes into the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.fakes.upstream import create_fake_upstream
from tests.harness import LoopThread, start_site
from tests.proxy.process import free_port, wait_stored
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 900


@dataclass
class Dist:
    sdist: Path
    wheel: Path
    venv: Path


def run(*cmd: str | Path, cwd: Path, timeout: float = BUILD_TIMEOUT) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def copy_checkout(dest: Path) -> None:
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file():  # a file deleted but not yet committed is still listed
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    if shutil.which("npm") is None:
        pytest.fail("building the wheel needs Node.js with npm (.ci/run installs it)")
    tmp = tmp_path_factory.mktemp("dist")
    src, out, venv = tmp / "src", tmp / "out", tmp / "venv"
    copy_checkout(src)
    assert not (src / "proxy" / "wiretrace_proxy" / "static").exists()
    run(sys.executable, "-m", "build", "--outdir", out, src, cwd=tmp)  # sdist, wheel from it
    (sdist,) = out.glob("wiretrace-*.tar.gz")
    (wheel,) = out.glob("wiretrace-*.whl")
    run(sys.executable, "-m", "venv", venv, cwd=tmp)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp)
    return Dist(sdist, wheel, venv)


def test_sdist_carries_the_ui_sources_not_node_modules(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"web/package.json", "web/package-lock.json", "web/index.html"} <= names
    assert {"web/vite.config.ts", "web/tsconfig.json", "web/src/App.tsx"} <= names
    assert "proxy/build_ui.py" in names  # the hook the wheel build from this sdist needs
    assert not any("node_modules" in n for n in names)


def test_wheel_carries_the_built_ui_and_only_the_packages(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as whl:
        names = whl.namelist()
    assert "wiretrace_proxy/static/index.html" in names
    assert any(n.startswith("wiretrace_proxy/static/assets/") and n.endswith(".js") for n in names)
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"wiretrace", "wiretrace_proxy", "wiretrace-0.1.0.dist-info"}


def test_wheel_declares_no_test_only_runtime_dependency(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as whl:
        meta = whl.read("wiretrace-0.1.0.dist-info/METADATA").decode()
    required = [
        line.split(":", 1)[1].strip()
        for line in meta.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    names = {r.split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in required}
    assert {"aiohttp", "sqlalchemy", "pydantic", "sqlmodel", "alembic"} <= names
    assert not names & {"openai", "sseclient-py", "pytest"}


@pytest.fixture
def installed_server(dist: Dist, tmp_path: Path) -> Iterator[str]:
    """``wiretrace serve`` from the fresh venv (run outside the checkout), with one call."""
    thread = LoopThread()
    runner, upstream = thread.call(start_site(create_fake_upstream()))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.Popen(
        [str(dist.venv / "bin" / "wiretrace"), "serve", "--port", str(port)]
        + ["--upstream", upstream, "--db", str(tmp_path / "w.db")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, url)
        one_call(url)
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
        thread.call(runner.cleanup())
        thread.close()


def wait_healthy(proc: subprocess.Popen[str], url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"the installed wiretrace exited ({proc.returncode}): {out}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)  # a process that is starting: nothing to wait on
    pytest.fail("the installed wiretrace did not become ready")


def one_call(url: str) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "from the wheel"}]}
    request = urllib.request.Request(
        url + "/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-test-wheel"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        call_id = resp.headers["wiretrace-call-id"]
    wait_stored(url, call_id)


def test_installed_wheel_serves_the_application(dist: Dist, installed_server: str) -> None:
    where = run(
        dist.venv / "bin" / "python",
        "-c",
        "import wiretrace_proxy; print(wiretrace_proxy.__file__)",
        cwd=dist.venv,
    )
    assert Path(where.strip()).is_relative_to(dist.venv)  # the install, not the checkout

    scripts: list[int] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.on(
                "response",
                lambda r: (
                    scripts.append(r.status)
                    if "/assets/" in r.url and r.url.endswith(".js")
                    else None
                ),
            )
            page.goto(installed_server + "/")
            row = page.get_by_test_id("call-row")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("gpt-4o-mini")
            expect(page.get_by_text("The full web UI is not built")).to_have_count(0)
        finally:
            browser.close()
    assert scripts and all(status == 200 for status in scripts)

"""``wiretrace serve`` as a user runs it: banner, one-line errors, clean stop (design.md CLI)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from wiretrace_proxy.cli import build_parser, main, settings_from_args

from tests.proxy.process import ServerProcess, wiretrace_cmd


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        wiretrace_cmd(*args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_flags_default_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRETRACE_PORT", "9911")
    monkeypatch.setenv("WIRETRACE_UPSTREAM", "http://127.0.0.1:1234")
    monkeypatch.setenv("WIRETRACE_PROJECT", "shop")
    monkeypatch.setenv("WIRETRACE_DB", "/tmp/x.db")
    settings = settings_from_args(build_parser().parse_args(["serve"]))
    assert (settings.port, settings.upstream, settings.project) == (
        9911,
        "http://127.0.0.1:1234",
        "shop",
    )
    assert settings.database_url == "sqlite:////tmp/x.db"
    flagged = settings_from_args(build_parser().parse_args(["serve", "--port", "1"]))
    assert flagged.port == 1


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["serve", "--port", "http"], {}, "not a port number"),
        (["serve", "--port", "70000"], {}, "port out of range"),
        (["serve", "--upstream", "api.openai.com"], {}, "upstream must be an http(s) URL"),
        (["serve"], {"WIRETRACE_PORT": "abc"}, "not a port number"),
    ],
)
def test_bad_flag_is_one_line_error(args: list[str], env: dict[str, str], message: str) -> None:
    result = run_cli(*args, env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unusable_database_is_one_line_error(tmp_path: Path) -> None:
    not_a_db = tmp_path / "garbage.db"
    not_a_db.write_bytes(b"this is not a sqlite database at all" * 100)
    for db in (str(not_a_db), "/proc/nope/x.db", "postgresql://u:p@127.0.0.1:1/none"):
        result = run_cli("serve", "--port", "0", "--db", db)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("wiretrace: error:"), result.stderr
        assert "Traceback" not in result.stderr


def test_banner_says_where_to_point_the_app_and_stops_cleanly(tmp_path: Path) -> None:
    server = ServerProcess("http://127.0.0.1:9", tmp_path / "data" / "w.db")
    code, out = server.stop()
    assert code == 0, out
    assert f"OPENAI_BASE_URL=http://127.0.0.1:{server.port}/v1" in out
    assert f"http://127.0.0.1:{server.port}/" in out
    assert str(tmp_path / "data" / "w.db") in out


def test_main_returns_error_code_for_port_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code = main(
            [
                "serve",
                "--port",
                str(port),
                "--db",
                str(tmp_path / "w.db"),
                "--upstream",
                "http://127.0.0.1:9",
            ]
        )
    assert code == 1

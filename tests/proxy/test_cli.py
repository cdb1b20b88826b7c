"""``wiretrace serve`` as a user runs it: help, banner, one-line errors, clean stop."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from wiretrace_proxy.cli import build_parser, main
from wiretrace_proxy.commands import serve
from wiretrace_proxy.commands.flags import OPTIONS
from wiretrace_proxy.commands.options import settings_from_args
from wiretrace_proxy.server import banner_lines
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.ui import STATIC

from tests.proxy.process import ServerProcess, wiretrace_cmd


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        wiretrace_cmd(*args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def parse_serve(*args: str) -> Settings:
    return settings_from_args(build_parser().parse_args(["serve", *args]), serve.FIELDS)


def test_flags_default_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRETRACE_PORT", "9911")
    monkeypatch.setenv("WIRETRACE_UPSTREAM", "http://127.0.0.1:1234")
    monkeypatch.setenv("WIRETRACE_PROJECT", "shop")
    monkeypatch.setenv("WIRETRACE_DB", "/tmp/x.db")
    monkeypatch.setenv("WIRETRACE_KEY_SALT", "pepper")
    monkeypatch.setenv("WIRETRACE_KEEP_EMBEDDINGS", "yes")
    monkeypatch.setenv("WIRETRACE_READ_TIMEOUT", "5.5")
    monkeypatch.setenv("WIRETRACE_LOG_LEVEL", "DEBUG")
    settings = parse_serve()
    assert (settings.port, settings.upstream, settings.project) == (
        9911,
        "http://127.0.0.1:1234",
        "shop",
    )
    assert settings.database_url == "sqlite:////tmp/x.db"
    assert (settings.key_salt, settings.keep_embeddings) == ("pepper", True)
    assert (settings.read_timeout, settings.log_level) == (5.5, "debug")
    flagged = parse_serve("--port", "1", "--no-keep-embeddings", "--key-salt", "salt")
    assert (flagged.port, flagged.keep_embeddings, flagged.key_salt) == (1, False, "salt")


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in OPTIONS:
        monkeypatch.delenv(option.env, raising=False)
    monkeypatch.setenv("WIRETRACE_PORT", "")  # empty is unset, not "not a port number"
    settings = parse_serve()
    assert settings == Settings(db_url=settings.db_url)
    assert settings.database_url == Settings().database_url


def help_entries(text: str) -> dict[str, str]:
    """``--help`` text as ``{first flag: its whole entry}``, wrapped lines joined."""
    entries: dict[str, str] = {}
    flag = ""
    for line in text.splitlines():
        if line.startswith("  -"):
            flag = line.split()[0].rstrip(",")
            entries[flag] = line
        elif flag and line.startswith("    "):
            entries[flag] += " " + line.strip()
        else:
            flag = ""
    return entries


def test_serve_help_describes_every_option_with_default_and_variable() -> None:
    result = run_cli("serve", "--help", env={"COLUMNS": "1000"})  # no wrapping mid-phrase
    assert result.returncode == 0, result.stderr
    assert "Record every call" in result.stdout
    entries = help_entries(result.stdout)
    assert set(entries) == {"-h"} | {option.flag for option in OPTIONS}
    for option in OPTIONS:
        entry = entries[option.flag]
        assert f"{option.help} [{option.env}]" in entry, entry
        if option.default not in (None, ()) and not option.secret:
            assert f"(default: {option.default})" in entry, entry


def test_unknown_flag_shows_the_commands_usage() -> None:
    result = run_cli("serve", "--bogus")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: wiretrace serve ")
    assert "--max-body-bytes" in result.stderr  # serve's flags, not the root's COMMAND
    assert (
        result.stderr.splitlines()[-1] == "wiretrace serve: error: unrecognized arguments: --bogus"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "http"], "argument --port: not a port number: http"),
        (["--port", "70000"], "argument --port: port out of range 0-65535: 70000"),
        (["--port", "-1"], "argument --port: port out of range 0-65535: -1"),
        (["--upstream", "api.openai.com"], "upstream must be an http(s) URL"),
        (["--log-level", "loud"], "argument --log-level: not a log level (choose debug, info,"),
        (["--max-body-bytes", "0"], "argument --max-body-bytes: must be positive: 0"),
        (["--drain-timeout", "soon"], "argument --drain-timeout: not a number of seconds: soon"),
        (["--host", ""], "argument --host: must not be empty: ''"),
    ],
)
def test_bad_flag_value_is_named(args: list[str], message: str) -> None:
    result = run_cli("serve", *args)
    assert result.returncode == 2
    assert message in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"WIRETRACE_PORT": "abc"}, "WIRETRACE_PORT=abc: not a port number"),
        ({"WIRETRACE_PORT": "-5"}, "WIRETRACE_PORT=-5: port out of range 0-65535"),
        ({"WIRETRACE_KEEP_EMBEDDINGS": "sure"}, "WIRETRACE_KEEP_EMBEDDINGS=sure: not a yes/no"),
        ({"WIRETRACE_LOG_LEVEL": "loud"}, "WIRETRACE_LOG_LEVEL=loud: not a log level"),
        ({"WIRETRACE_BATCH_SIZE": "1 000"}, "WIRETRACE_BATCH_SIZE='1 000': not a whole number"),
    ],
)
def test_bad_variable_is_one_line_naming_it(env: dict[str, str], line: str) -> None:
    result = run_cli("serve", env=env)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"wiretrace serve: error: {line}"), result.stderr


@pytest.mark.parametrize(
    ("db", "reason"),
    [
        ("sqlite:///", "sqlite:/// needs a file path after it"),
        ("mysql://u:secret@db/app", "unsupported database mysql://u:***@db/app"),
        ("http://x", "unsupported database http://x"),
        ("postgresql+psycopg2://db/app", "unsupported database postgresql+psycopg2://db/app"),
    ],
)
@pytest.mark.parametrize("source", ["flag", "variable"])
def test_database_url_wiretrace_cannot_use_is_refused_before_start(
    db: str, reason: str, source: str
) -> None:
    args, env = (["--db", db], {}) if source == "flag" else ([], {"WIRETRACE_DB": db})
    result = run_cli("serve", "--port", "0", *args, env=env)
    assert result.returncode == 2
    assert result.stdout == ""  # no banner: nothing started
    [line] = result.stderr.splitlines()
    assert line.startswith(f"wiretrace serve: error: --db/WIRETRACE_DB: {reason}"), line
    assert "secret" not in line
    if reason.startswith("unsupported"):
        assert "use sqlite:///PATH, a file path, :memory:, or postgresql://..." in line


def test_unreadable_prices_file_is_one_line(tmp_path: Path) -> None:
    unreadable = tmp_path / "prices.toml"
    unreadable.mkdir()  # a folder: exists, cannot be read as a file
    result = run_cli(
        "serve",
        "--port",
        "0",
        "--db",
        str(tmp_path / "w.db"),
        env={"WIRETRACE_PRICES": str(unreadable)},
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"wiretrace serve: error: --prices/WIRETRACE_PRICES: prices file {unreadable}"
    )


def test_unusable_database_is_one_line_error(tmp_path: Path) -> None:
    not_a_db = tmp_path / "garbage.db"
    not_a_db.write_bytes(b"this is not a sqlite database at all" * 100)
    for db in (str(not_a_db), "/proc/nope/x.db", "postgresql://u:p@127.0.0.1:1/none"):
        result = run_cli("serve", "--port", "0", "--db", db)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("wiretrace serve: error:"), result.stderr
        assert "Traceback" not in result.stderr


def test_banner_says_where_to_point_the_app_and_stops_cleanly(tmp_path: Path) -> None:
    server = ServerProcess("http://127.0.0.1:9", tmp_path / "data" / "w.db")
    code, out = server.stop()
    assert code == 0, out
    assert f"OPENAI_BASE_URL=http://127.0.0.1:{server.port}/v1" in out
    assert str(tmp_path / "data" / "w.db") in out
    ui_line = next(line for line in out.splitlines() if "web UI:" in line)
    if (STATIC / "index.html").is_file():
        assert ui_line.endswith(f"http://127.0.0.1:{server.port}/")
    else:
        assert "make web" in ui_line


def test_banner_promises_the_ui_only_when_it_is_built() -> None:
    settings = Settings(db_url="/tmp/w.db")
    built = banner_lines(settings, 8787, ui_built=True)
    assert "  web UI:             http://127.0.0.1:8787/" in built
    missing = "\n".join(banner_lines(settings, 8787, ui_built=False))
    assert "http://127.0.0.1:8787/\n" not in missing + "\n"
    assert "web UI:             not built in this install (run `make web`" in missing
    assert "data stored in:     sqlite:////tmp/w.db" in missing


@pytest.mark.parametrize("db", [":memory:", "sqlite://", "sqlite:///:memory:"])
def test_banner_says_memory_keeps_nothing(db: str) -> None:
    lines = banner_lines(Settings(db_url=db), 1, ui_built=True)
    assert lines[-1] == "  data stored in:     memory only: nothing is kept after exit"


def test_main_returns_error_code_for_port_in_use(tmp_path: Path) -> None:
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

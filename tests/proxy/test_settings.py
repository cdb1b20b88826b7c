"""The settings table: every flag has its ``WIRETRACE_*`` variable and every variable its
flag; each value is checked the same way from either; database URLs are accepted or
refused before anything opens them."""

from __future__ import annotations

import argparse
import dataclasses
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from wiretrace_proxy import settings as settings_module
from wiretrace_proxy.cli import build_parser
from wiretrace_proxy.commands import purge, reprice
from wiretrace_proxy.commands.flags import (
    OPTIONS,
    parse_bool,
    parse_log_level,
    parse_port,
    parse_positive,
    parse_seconds,
    parse_text,
    parse_upstream,
)
from wiretrace_proxy.errors import ConfigError
from wiretrace_proxy.settings import MEMORY_URL, Settings, normalise_db_url
from wiretrace_proxy.storage.engine import (
    check_database,
    create_engine_for,
    is_memory,
    parse_database_url,
)


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    root = build_parser()
    [commands] = [a for a in root._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


def flags(parser: argparse.ArgumentParser) -> set[str]:
    """The first spelling of every option but ``--help``."""
    return {
        action.option_strings[0]
        for action in parser._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    }


def test_every_variable_constant_is_one_flag_and_every_flag_one_variable() -> None:
    constants = {value for name, value in vars(settings_module).items() if name.startswith("ENV_")}
    assert sorted(o.env for o in OPTIONS) == sorted(constants)
    assert len({o.flag for o in OPTIONS}) == len(OPTIONS)
    for option in OPTIONS:  # one spelling rule: --max-body-bytes <-> WIRETRACE_MAX_BODY_BYTES
        assert option.env == "WIRETRACE_" + option.flag.removeprefix("--").upper().replace("-", "_")


def test_every_settings_field_has_an_option() -> None:
    assert sorted(f.name for f in dataclasses.fields(Settings)) == sorted(o.field for o in OPTIONS)


def test_every_command_flag_has_a_variable() -> None:
    table = {o.flag for o in OPTIONS}
    parsers = command_parsers()
    assert {"serve", "reprice", "purge"} <= set(parsers)
    assert flags(parsers["serve"]) == table
    assert flags(parsers["reprice"]) - set(reprice.FILTERS) <= table
    assert flags(parsers["reprice"]) & set(reprice.FILTERS) == set(reprice.FILTERS)
    assert flags(parsers["purge"]) - set(purge.FILTERS) <= table
    assert flags(parsers["purge"]) & set(purge.FILTERS) == set(purge.FILTERS)


Parse = Callable[[str], object]


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (parse_port, "0", 0),
        (parse_port, "65535", 65535),
        (parse_positive, "1", 1),
        (parse_seconds, "0.5", 0.5),
        (parse_bool, " Yes ", True),
        (parse_bool, "off", False),
        (parse_log_level, "WARNING", "warning"),
        (parse_upstream, "http://127.0.0.1:1", "http://127.0.0.1:1"),
        (parse_text, "shop", "shop"),
    ],
)
def test_parse_accepts(parse: Parse, text: str, value: object) -> None:
    assert parse(text) == value


@pytest.mark.parametrize(
    ("parse", "text", "reason"),
    [
        (parse_port, "8o80", "not a port number"),
        (parse_port, "65536", "port out of range 0-65535"),
        (parse_port, "-1", "port out of range 0-65535"),
        (parse_positive, "0", "must be positive"),
        (parse_positive, "1.5", "not a whole number"),
        (parse_seconds, "0", "must be a positive number of seconds"),
        (parse_seconds, "nan", "must be a positive number of seconds"),
        (parse_seconds, "inf", "must be a positive number of seconds"),
        (parse_bool, "maybe", "not a yes/no value"),
        (parse_log_level, "trace", "not a log level (choose debug, info, warning, error)"),
        (parse_upstream, "api.openai.com", "upstream must be an http(s) URL"),
        (parse_text, "  ", "must not be empty"),
    ],
)
def test_parse_refuses_with_a_reason(parse: Parse, text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(reason)):
        parse(text)


@pytest.mark.parametrize("db", [":memory:", "sqlite://", "sqlite:///:memory:"])
def test_every_memory_spelling_is_one_url(db: str, tmp_path: Path) -> None:
    assert normalise_db_url(db) == MEMORY_URL
    assert is_memory(parse_database_url(Settings(db_url=db).database_url))


def test_paths_and_urls_are_kept_apart(tmp_path: Path) -> None:
    assert normalise_db_url(str(tmp_path / "w.db")) == f"sqlite:///{tmp_path / 'w.db'}"
    assert not is_memory(parse_database_url(normalise_db_url(str(tmp_path / "w.db"))))
    assert normalise_db_url("postgresql://h/d") == "postgresql://h/d"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sqlite:///", "sqlite:/// needs a file path"),
        ("mysql://u:pw@h/d", "unsupported database mysql://u:***@h/d; use sqlite:///PATH"),
        ("http://x", "unsupported database http://x"),
        ("not a url", "invalid database URL 'not a url'; use sqlite:///PATH"),
    ],
)
def test_database_urls_wiretrace_cannot_use(url: str, reason: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(reason)) as caught:
        parse_database_url(url)
    with pytest.raises(ConfigError):
        create_engine_for(url)
    assert "pw" not in str(caught.value)


def test_memory_database_is_one_database_for_every_thread() -> None:
    """The writer thread and the API threads must see the same rows, and a reader handing
    the shared connection back must not roll a writer's transaction back."""
    engine = create_engine_for(MEMORY_URL)
    try:
        check_database(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(100):
                    with engine.begin() as conn:
                        conn.exec_driver_sql(f"INSERT INTO t VALUES ({n * 1000 + i})")
                    with engine.connect() as conn:
                        conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one()
            except BaseException as exc:  # reported below, on the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors and not any(t.is_alive() for t in threads)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 400
    finally:
        engine.dispose()

# wiretrace: `make run` starts the proxy, `make test` runs every check. Both set up
# everything they need (a virtualenv in .venv) on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Offline tokenizer files for tests/benchmarks when the shared folder is beside the repo;
# a user's machine downloads them on first use instead.
SHARED_TIKTOKEN := $(abspath ../shared/tiktoken)
ifneq ($(wildcard $(SHARED_TIKTOKEN)/README.md),)
export TIKTOKEN_CACHE_DIR ?= $(SHARED_TIKTOKEN)
endif

.PHONY: install run test lint typecheck unit bench bench-query clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/wiretrace serve $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck unit

bench: install
	$(BIN)/python bench/bench_proxy.py $(ARGS)

bench-query: install
	$(BIN)/python bench/bench_query.py $(ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info

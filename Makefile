# wiretrace: `make run` starts the proxy, `make test` runs every check. Both set up
# everything they need (a virtualenv in .venv, web/node_modules) on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# The web UI (web/) is built by Vite into the Python package, which serves it at /.
NPM        ?= npm
NODE_STAMP := web/node_modules/.installed-stamp
UI_INDEX   := proxy/wiretrace_proxy/static/index.html
WEB_SRC    := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)

# Offline tokenizer files for tests/benchmarks when the shared folder is beside the repo;
# a user's machine downloads them on first use instead.
SHARED_TIKTOKEN := $(abspath ../shared/tiktoken)
ifneq ($(wildcard $(SHARED_TIKTOKEN)/README.md),)
export TIKTOKEN_CACHE_DIR ?= $(SHARED_TIKTOKEN)
endif

.PHONY: install run test lint typecheck unit web web-build web-typecheck web-unit web-types bench bench-query clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(NODE_STAMP): web/package.json web/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "npm not found: install Node.js 20.19+ (with npm)"; exit 1; }
	cd web && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# Rebuilt only when a source file is newer than the built index.html.
$(UI_INDEX): $(NODE_STAMP) $(WEB_SRC)
	cd web && $(NPM) exec -- vite build --logLevel warn
	touch $(UI_INDEX)

web: $(UI_INDEX)

# Always build (make test checks that the build works, not only that one exists).
web-build: $(NODE_STAMP)
	cd web && $(NPM) exec -- vite build --logLevel warn
	touch $(UI_INDEX)

run: install web
	$(BIN)/wiretrace serve $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

web-typecheck: $(NODE_STAMP)
	cd web && $(NPM) exec -- tsc -b

web-unit: $(NODE_STAMP)
	cd web && $(NPM) exec -- vitest run

# Regenerate the committed OpenAPI snapshot and its TypeScript types from the server.
web-types: install $(NODE_STAMP)
	$(BIN)/python -W ignore::RuntimeWarning:runpy -m wiretrace_proxy.api.openapi --output web/src/api/openapi.json
	$(BIN)/python -W ignore::RuntimeWarning:runpy -m wiretrace_proxy.api.openapi --vocabulary --output web/src/api/vocabulary.ts
	cd web && $(NPM) run gen:api

# The Python tests include the browser tests (tests/web), which need the built UI.
unit: install web
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck web-typecheck web-unit web-build unit

bench: install
	$(BIN)/python bench/bench_proxy.py $(ARGS)

bench-query: install
	$(BIN)/python bench/bench_query.py $(ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info web/node_modules proxy/wiretrace_proxy/static

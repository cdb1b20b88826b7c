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
# The Node.js clients the Python tests drive (tests/node: the openai SDK, pinned).
TEST_NODE_STAMP := tests/node/node_modules/.installed-stamp

# Intercept mode's mitmproxy, in a virtualenv of its own (its pins conflict with ours): the
# newest Python 3.12+ found (mitmproxy 12), else $(PYTHON) (11.0.2, the last for 3.10/3.11).
# A failed install is reported, not fatal: `wiretrace serve --intercept` then says it is
# missing and the rest works.
INTERCEPT_VENV  := .venv-intercept
INTERCEPT_REQS  := proxy/wiretrace_proxy/intercept/requirements.txt
INTERCEPT_STAMP := $(INTERCEPT_VENV)/.installed-stamp
INTERCEPT_PYTHON ?= $(shell for p in python3.13 python3.12 \
    $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13.*/bin/python3.13 \
    $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12.*/bin/python3.12; do \
    $$p -c 'import sys' 2>/dev/null && { echo $$p; exit; }; done; echo $(PYTHON))

# Checks run before the steps they guard, so a wrong toolchain fails with the fix, not a trace.
PY_OK   := import sys; sys.exit(sys.version_info < (3, 11))
NODE_OK := const [a, b] = process.versions.node.split(".").map(Number); \
           process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 0 : 1)
check_node = @node -e '$(NODE_OK)' 2>/dev/null && command -v $(NPM) >/dev/null || { \
    echo "web/ needs Node.js ^20.19 or >=22.12 with npm (found node $$(node --version 2>/dev/null \
    || echo none), $(NPM) $$($(NPM) --version 2>/dev/null || echo none)): install it, rerun make"; \
    exit 1; }

.PHONY: install run test fmt lint typecheck unit web web-build web-typecheck web-unit web-types bench bench-intercept bench-query bench-eval clean

# A .venv left by an older Python would fail every install: say so, and how to fix it.
$(STAMP): pyproject.toml
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c '$(PY_OK)'; then \
	    echo "$(VENV) uses $$($(BIN)/python --version 2>&1) but wiretrace needs Python 3.11+:" \
	        "rm -rf $(VENV) and rerun make (PYTHON=python3.12 make ... picks the interpreter)"; \
	    exit 1; fi
	@[ -x $(BIN)/python ] || $(PYTHON) -c '$(PY_OK)' 2>/dev/null || { \
	    echo "$(PYTHON) is $$($(PYTHON) --version 2>&1) but wiretrace needs Python 3.11+:" \
	        "rerun with PYTHON=python3.12 (or any 3.11+)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(INTERCEPT_STAMP)

$(INTERCEPT_STAMP): $(INTERCEPT_REQS)
	@if $(INTERCEPT_PYTHON) -m venv $(INTERCEPT_VENV) \
	    && $(INTERCEPT_VENV)/bin/python -m pip install --quiet --upgrade pip \
	    && $(INTERCEPT_VENV)/bin/python -m pip install --quiet -r $(INTERCEPT_REQS); then \
	    touch $(INTERCEPT_STAMP); \
	else echo "intercept mode not installed ($(INTERCEPT_PYTHON)): its tests are skipped"; fi

$(NODE_STAMP): web/package.json web/package-lock.json
	$(check_node)
	cd web && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# Rebuilt only when a source file is newer than the built index.html.
$(UI_INDEX): $(NODE_STAMP) $(WEB_SRC)
	$(check_node)
	cd web && $(NPM) exec -- vite build --logLevel warn
	touch $(UI_INDEX)

web: $(UI_INDEX)

$(TEST_NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	$(check_node)
	cd tests/node && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $(TEST_NODE_STAMP)

# Always build (make test checks that the build works, not only that one exists).
web-build: $(NODE_STAMP)
	$(check_node)
	cd web && $(NPM) exec -- vite build --logLevel warn
	touch $(UI_INDEX)

run: install web
	$(BIN)/wiretrace serve $(ARGS)

# Rewrite the Python sources the way lint checks them.
fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

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
	$(BIN)/python -m wiretrace_proxy.api.openapi --output web/src/api/openapi.json
	$(BIN)/python -m wiretrace_proxy.api.openapi --vocabulary --output web/src/api/vocabulary.ts
	cd web && $(NPM) run gen:api

# The Python tests include the browser tests (tests/web), which need the built UI, and
# tests run Node.js clients from tests/node.
unit: install web $(TEST_NODE_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck web-typecheck web-unit web-build unit

bench: install
	$(BIN)/python bench/bench_proxy.py $(ARGS)

bench-intercept: install
	$(BIN)/python bench/bench_intercept.py $(ARGS)

bench-query: install
	$(BIN)/python bench/bench_query.py $(ARGS)

bench-eval: install
	$(BIN)/python bench/bench_eval_compare.py $(ARGS)

clean:
	rm -rf $(VENV) $(INTERCEPT_VENV) build dist *.egg-info web/node_modules tests/node/node_modules proxy/wiretrace_proxy/static proxy/wiretrace_proxy/static.*

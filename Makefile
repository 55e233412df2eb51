# The two set-up commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./data
export DATA_DIR

.PHONY: run test install install-test compile compile-clean assets tracker dashboard e2e-npm system-packages lint format bench clean

run: install assets compile
	$(BIN)/footfall migrate
	$(BIN)/footfall serve

# The whole suite runs with the write path compiled; then the tests that exercise the write
# path (ingest, and the stats tests whose traffic goes through it) run once more with its
# Python source (FOOTFALL_PURE_PYTHON=1), which must give the same answers. Only for the whole
# suite: with PYTEST_ARGS set, just that selection runs. The stats tests chosen are the tier
# property test and the daily counts' (their traffic goes through the pipeline); left out is the
# SIGKILL-under-load test, 95 s for code that is not compiled. About 2 minutes more (2 min of CPU).
PURE_PYTHON_TESTS ?= tests/ingest tests/stats/test_stats_tiers.py tests/stats/test_stats_daily.py \
	--deselect tests/ingest/test_ingest_crash.py::test_sigkill_during_a_load_of_posts_loses_no_acknowledged_event

test: install-test assets compile system-packages e2e-npm
	npm --prefix tracker test --silent
	npm --prefix frontend test --silent
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -z "$(PYTEST_ARGS)" ]; then \
		echo "the write path's tests again, from its Python source (FOOTFALL_PURE_PYTHON=1)"; \
		FOOTFALL_PURE_PYTHON=1 $(BIN)/python -m pytest -q $(PURE_PYTHON_TESTS); \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The write path's hot modules compiled with mypyc (src/footfall/compiled.py); without a C
# compiler footfall runs the source. `make compile-clean` goes back to the source alone.
$(VENV)/.installed-compile: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[compile]'
	touch $@

compile: $(VENV)/.installed-compile
	@$(BIN)/python scripts/compile_hot_path.py

compile-clean:
	@$(BIN)/python scripts/compile_hot_path.py --clean

install-test: $(VENV)/.installed-test

assets: tracker dashboard

tracker:
	@if [ -f tracker/package.json ]; then \
		(cd tracker && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build); \
	fi

dashboard:
	@if [ -f frontend/package.json ]; then \
		(cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build); \
	fi

# Plausible's official npm trackers, which the browser tests point at footfall (pinned in
# tests/e2e/npm-trackers/package-lock.json). Playwright drives Debian's chromium: no
# `playwright install`, no downloaded browser.
e2e-npm:
	npm --prefix tests/e2e/npm-trackers ci --no-audit --no-fund --loglevel=error

# Debian packages the tests drive for real (chromium, nginx); installed only when missing.
system-packages:
	@bash scripts/system-packages.sh

lint:
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

format:
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	-$(BIN)/python scripts/compile_hot_path.py --clean
	rm -rf $(VENV) tracker/node_modules frontend/node_modules tests/e2e/npm-trackers/node_modules src/footfall/web/static/tracker

# The dashboard query benchmark (not part of `make test`): EVENTS=100000000 for the big run.
EVENTS ?= 10000000
bench-query: install-test
	$(BIN)/python -m bench.query --events $(EVENTS)

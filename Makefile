# Rasure: the two commands are `make demo` and `make test`. Each creates or reuses .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint format migrations-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rasure demo

# Tests run on every core (pytest-xdist: one test database and cache per worker) in a random order
# (pytest-randomly prints the seed; rerun an order with -p randomly -p "randomly_seed=N"); a module
# marked xdist_group runs on one worker (its module-scoped fixture is then built once).
# TESTS narrows the run to some paths (default: the whole suite).
TEST_WORKERS ?= auto
TESTS ?=
test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup $(TESTS)

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

migrations-check: $(STAMP)
	$(VENV)/bin/rasure manage makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var

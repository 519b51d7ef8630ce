# Grid Cockpit — `make run` (cockpit on demo data) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test setup setup-dev system-deps bench clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

setup: $(VENV)/bin/activate
	$(PIP) install -q -r requirements.txt

setup-dev: $(VENV)/bin/activate
	$(PIP) install -q -r requirements-dev.txt

system-deps:
	bash scripts/install_system_deps.sh

run: setup
	$(PY) app.py

# The acceptance test runs the demo as `make run` does and times what a person sees: it runs first, alone.
test: system-deps setup-dev
	$(PY) -m pytest -q tests/test_wall_live.py
	$(PY) -m pytest -q -n 2 --ignore=tests/test_wall_live.py
	$(PY) -m pytest -q -n 2 --db postgresql

bench: setup-dev
	$(PY) -m bench

clean:
	rm -rf instance test-artifacts .pytest_cache

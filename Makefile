# Two commands on a fresh machine:  `make run`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.glasswing-installed
SAMPLES := sample_data/models/german_gbm.skops sample_data/models/german_logreg.skops \
           sample_data/models/digits_cnn.pt sample_data/models/digits_cnn.safetensors
PYTEST_ARGS ?=

.PHONY: setup samples browser run test bench lint clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements-dev.txt
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(SAMPLES): | $(STAMP)
	$(PY) sample_data/build.py --if-missing

setup: $(STAMP) $(SAMPLES)

samples: $(STAMP)
	$(PY) sample_data/build.py

# Browser tests drive Debian's chromium through Playwright (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

run: setup
	$(VENV)/bin/glasswing serve

test: setup browser
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

bench: setup
	for b in bench/[!_]*.py; do $(PY) $$b || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

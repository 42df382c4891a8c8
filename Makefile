# Two commands on a fresh machine:  `make run`  and  `make test`.
# Both create .venv and install the pinned dependencies first.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export DBT_PROFILES_DIR := $(CURDIR)/profiles
export DBT_PROJECT_DIR  := $(CURDIR)
export ANPR_WAREHOUSE   ?= $(CURDIR)/warehouse/anpr.duckdb

.PHONY: setup system-deps run test lint clean bench

$(STAMP): pyproject.toml requirements.lock
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# Test-only tools (ruff): `make test` needs them, `make run` does not.
$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.lock
	touch $(DEV_STAMP)

system-deps:
	bash scripts/install_system_deps.sh

run: setup
	$(BIN)/anpr run

lint: setup $(DEV_STAMP)
	# the dbt templater compiles the project: it needs a warehouse file to open, not data (as scripts/run_tests.sh)
	dir=$$(mktemp -d) && ANPR_WAREHOUSE=$$dir/lint.duckdb $(BIN)/sqlfluff lint models analyses tests/dbt; \
	  rc=$$?; rm -rf $$dir; exit $$rc
	$(BIN)/ruff check anpr_warehouse tests scripts
	$(BIN)/ruff format --check anpr_warehouse tests scripts

test: setup $(DEV_STAMP) system-deps
	bash scripts/run_tests.sh

bench: setup
	$(BIN)/python scripts/benchmark.py

clean:
	rm -rf $(VENV) warehouse target logs out

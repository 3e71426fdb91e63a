# Everyday tasks. The README's two commands are `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test install install-test browser build lint bench clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.base
install-test: $(VENV)/.test

build: install
	$(VENV)/bin/qdkg build

serve: build
	$(VENV)/bin/qdkg serve --host $(HOST) --port $(PORT)

# Debian's Chromium (and a CJK font for readable screenshots) for the browser tests; needs root,
# as on CI; skipped when already there.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto.*cjk" || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

test: install-test browser
	$(PY) -m pytest

lint: install-test
	$(VENV)/bin/ruff check service tests

clean:
	rm -rf build $(VENV) .pytest_cache

# Two commands on a fresh Debian machine: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test bench serve setup system clean

setup: system $(STAMP)

system:
	@bash scripts/ensure-system.sh

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

demo: setup
	$(BIN)/python scripts/demo.py

test: setup
	$(BIN)/pytest

serve: setup
	$(BIN)/qms -w . serve --host 127.0.0.1 --port 8000

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) archive

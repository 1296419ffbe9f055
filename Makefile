# Two commands on a fresh Debian machine: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test test-ceph bench serve setup system clean

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

# Two workers (CI has 2 cores); whole files per worker, so a module's or session's fixture (LibreOffice
# batch, browser, fuzz workspace) is built once per file. `make test XDIST=` runs in one process.
XDIST   ?= -n 2 --dist loadfile

test: setup
	PYTHONPATH=src $(BIN)/lint-imports --no-cache
	$(BIN)/pytest $(XDIST)

# The lock-conformance suite against a real S3 server: QMS_TEST_S3_ENDPOINT (+ AWS_* keys), or a
# single-node Ceph RGW started from Debian packages (scripts/ceph-rgw.sh; heavy: mon + osd + radosgw).
test-ceph: setup
	PYTEST=$(BIN)/pytest bash scripts/test-ceph.sh

serve: setup
	$(BIN)/qms -w . serve --host 127.0.0.1 --port 8000

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) archive

"""The web server's workers keep each thread's catalog read connection (store/catalog.py): a kept
connection must read exactly what a fresh one would — the newest commit, the rebuilt file, nothing
of a read that ended, nothing of a parent process."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from conftest import example_data, write_data
from qms.store import catalog
from qms.store.catalog import reading
from qms.store.workspace import open_workspace

PHONE = "QR-SV-022-04"


@pytest.fixture
def kept():
    catalog.keep_read_connections(True)
    yield
    catalog.keep_read_connections(False)


def file_one(qms) -> str:
    return qms.json("record", "file", PHONE, "--data", write_data(qms, example_data(PHONE), "r.yaml"),
                    "--no-pdf")["number"]


def count(ws) -> int:
    with reading(ws) as cat:
        return cat.one("SELECT COUNT(*) AS n FROM records")["n"]


def _child_count(root, out):
    ws = open_workspace(root)
    out.put((len(catalog._shelf()), count(ws)))


def test_a_kept_read_connection_reads_what_a_fresh_one_would(qms, kept):
    ws = open_workspace(qms.root)
    file_one(qms)
    assert count(ws) == 1
    with reading(ws) as cat:
        first_conn = cat.conn
    file_one(qms)                                     # committed by another process
    with reading(ws) as cat:
        assert cat.conn is first_conn                 # the same connection, kept …
        assert cat.one("SELECT COUNT(*) AS n FROM records")["n"] == 2     # … reading the newest commit
        lingering = cat.execute("SELECT number FROM records")
        lingering.fetchone()                          # a statement left open when the read ends
    file_one(qms)
    assert count(ws) == 3                             # not the snapshot that statement held
    with pytest.raises(sqlite3.ProgrammingError):
        lingering.fetchone()                          # ended with its read, as a closed connection would
    qms.as_("admin")("rebuild")                       # a new catalog file takes the old one's place
    file_one(qms)
    with reading(ws) as cat:
        assert cat.conn is not first_conn
        assert cat.one("SELECT COUNT(*) AS n FROM records")["n"] == 4
    ctx = multiprocessing.get_context("fork")        # as verify forks its journal side
    out = ctx.Queue()
    child = ctx.Process(target=_child_count, args=(qms.root, out))
    child.start()
    child.join(30)
    assert out.get(timeout=5) == (0, 4)               # the child opened its own, saw the same
    assert count(ws) == 4

"""Search totals counted once per index generation, shared by every thread and every process.

Counting walks every match of a query (ids only); for a common word over 100k records that is most
of the server's CPU when each page, thread, index object and worker process counts again.  A total
is counted once per index generation and kept in two places:

- in this process, a dict under a lock (no file read for a repeated query);
- beside the index, `index.totals.sqlite` (archive/index.totals.sqlite), so that the other worker
  processes of `qms serve` (and the CLI) find it without counting.  Rows of another generation are
  dropped whenever a total is written; the file is derived state: deleting it costs a recount.

Keyed by the index folder, its generation and segments (a rebuild starts new segments, so a reused
generation number never hits a stale entry), the normalised query and the filters; on disk the
query is kept only as a SHA-256 (the archive is copied and shown to auditors; what people searched
for is not theirs to read).  Exact up to a cap; beyond it the total is "at least cap".
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .analysis import normalize

_MAX_ENTRIES = 4096          # per generation in memory: enough for every query a working day asks
_MAX_ROWS = 100_000          # on disk: a table that never grows past a few MB


@dataclass(frozen=True)
class Total:
    n: int          # the exact count, or the cap when not exact
    exact: bool


_lock = threading.Lock()
# index folder -> (generation identity, {query key: Total}); one generation per folder is kept
_cache: dict[str, tuple[tuple, dict[tuple, Total]]] = {}
counted = 0                  # how many counts were actually walked here (tests and benches read it)


def query_key(query_string: str, *filters) -> tuple:
    """The same query typed with other spacing or case is the same total."""
    return (" ".join(normalize(query_string).split()), *filters)


def store_path(folder: str | Path) -> Path:
    """`archive/index` → `archive/index.totals.sqlite` (beside it, like index.sha256: the index
    folder itself holds only the files its hash list names)."""
    folder = Path(folder)
    return folder.with_name(folder.name + ".totals.sqlite")


def _digest(generation: tuple, key: tuple) -> tuple[str, str]:
    gen = hashlib.sha256(repr(generation).encode("utf-8")).hexdigest()[:32]
    return gen, hashlib.sha256(repr(key).encode("utf-8")).hexdigest()


def _connect(folder: str) -> sqlite3.Connection:
    conn = sqlite3.connect(store_path(folder), timeout=5, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")          # readers never wait for a writer
    conn.execute("PRAGMA synchronous=OFF")           # derived: a lost row is counted again
    conn.execute("CREATE TABLE IF NOT EXISTS totals(generation TEXT NOT NULL, key TEXT NOT NULL, "
                 "n INTEGER NOT NULL, exact INTEGER NOT NULL, PRIMARY KEY(generation, key))")
    return conn


def _stored(folder: str, gen: str, key: str) -> Total | None:
    if not store_path(folder).exists():
        return None
    try:
        conn = _connect(folder)
        try:
            row = conn.execute("SELECT n, exact FROM totals WHERE generation=? AND key=?", (gen, key)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:            # unreadable or locked for long: counting is the fallback
        return None
    return Total(row[0], bool(row[1])) if row else None


def _store(folder: str, gen: str, key: str, found: Total) -> None:
    try:
        conn = _connect(folder)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM totals WHERE generation<>?", (gen,))      # stale generations
            if conn.execute("SELECT COUNT(*) FROM totals").fetchone()[0] >= _MAX_ROWS:
                conn.execute("DELETE FROM totals")
            conn.execute("INSERT OR REPLACE INTO totals(generation, key, n, exact) VALUES(?,?,?,?)",
                         (gen, key, found.n, int(found.exact)))
            conn.execute("COMMIT")
        finally:
            conn.close()
    except (sqlite3.Error, OSError):   # a read-only archive: the total stays this process's
        pass


def total(folder: str, generation: tuple, key: tuple, cap: int | None, walk: Callable[[int | None], int],
          *, on_disk: bool = True) -> Total:
    """The kept total of `key`, else `walk(cap)` (a count stopping after cap + 1) once.
    `on_disk=False`: this process's memory only (an index with no folder: PostgreSQL, where a
    capped count is cheap and every server asks the database's own generation)."""
    global counted
    key = (*key, cap)
    with _lock:
        gen, entries = _cache.get(folder, (None, None))
        if gen == generation and key in entries:
            return entries[key]
    gen_digest, key_digest = _digest(generation, key)
    found = _stored(folder, gen_digest, key_digest) if on_disk else None
    if found is None:
        # Counted outside any lock: two threads (or processes) asking the same new query at the
        # same instant may both count (the same answer); a lock held over a count would queue
        # every other query behind it.
        n = walk(cap)
        found = Total(cap, False) if cap is not None and n > cap else Total(n, True)
        if on_disk:
            _store(folder, gen_digest, key_digest, found)
        with _lock:
            counted += 1
    with _lock:
        gen, entries = _cache.get(folder, (None, None))
        if gen != generation:
            entries = {}
            _cache[folder] = (generation, entries)
        if len(entries) >= _MAX_ENTRIES:
            entries.clear()
        entries[key] = found
    return found


def forget() -> None:
    """Empty this process's memory (tests: the next ask reads the file as another process would)."""
    with _lock:
        _cache.clear()

"""Search totals kept per index generation, shared by every thread of the process.

Counting walks every match of a query (ids only); for a common word over 100k records that is most
of the server's CPU when each page, thread and index object counts again.  A total is counted once
per index generation and kept here, keyed by the index folder, its generation and segments (a
rebuild starts new segments, so a reused generation number never hits a stale entry), the
normalised query and the filters.  Exact up to a cap; beyond it the total is "at least cap".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from .analysis import normalize

_MAX_ENTRIES = 4096          # per generation: enough for every query a working day asks


@dataclass(frozen=True)
class Total:
    n: int          # the exact count, or the cap when not exact
    exact: bool


_lock = threading.Lock()
# index folder -> (generation identity, {query key: Total}); one generation per folder is kept
_cache: dict[str, tuple[tuple, dict[tuple, Total]]] = {}
counted = 0                  # how many counts were actually walked (tests and benches read it)


def query_key(query_string: str, *filters) -> tuple:
    """The same query typed with other spacing or case is the same total."""
    return (" ".join(normalize(query_string).split()), *filters)


def total(folder: str, generation: tuple, key: tuple, cap: int | None, walk: Callable[[int | None], int]) -> Total:
    """The cached total of `key`, else `walk(cap)` (a count stopping after cap + 1) once."""
    global counted
    key = (*key, cap)
    with _lock:
        gen, entries = _cache.get(folder, (None, None))
        if gen == generation and key in entries:
            return entries[key]
    # Counted outside the lock: two threads asking the same new query may both count (once each,
    # the same answer); a lock held over a count would queue every other query behind it.
    n = walk(cap)
    found = Total(cap, False) if cap is not None and n > cap else Total(n, True)
    with _lock:
        counted += 1
        gen, entries = _cache.get(folder, (None, None))
        if gen != generation:
            entries = {}
            _cache[folder] = (generation, entries)
        if len(entries) >= _MAX_ENTRIES:
            entries.clear()
        entries[key] = found
    return found

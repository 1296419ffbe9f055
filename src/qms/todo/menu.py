"""The menu's 我的待办 (N) on every page (issue 21): counted once per catalog head, not once per page.

Every source reads the catalog (and the archive files a commit places before the catalog moves), so
the count can change only when a commit is projected, or when the day changes (overdue, reviews
due). It is kept in this process per (catalog, its head seq and hash) and per (user, day): one small
read of the head per page instead of every source's queries. The head is read *before* counting, so
a commit projected while counting makes the next page count again — never a count older than the
head it is kept under. Each process (each `qms serve` worker, the CLI) keeps its own; all of them
read the same head, so a commit made by any of them is seen by all on their next page."""

from __future__ import annotations

import threading

from ..base.dates import today
from ..store.catalog import reading
from ..store.projection import head
from ..store.workspace import Workspace
from . import registry       # the built-in sources are registered by startup.start(), before the first page
from .registry import counts, items_for

_MAX_USERS = 1024          # per catalog head: more people than one site has logged in at once

_lock = threading.Lock()
# catalog path -> (head, {(user, day, sources): counts}); only the newest head is kept
_kept: dict[str, tuple[tuple, dict]] = {}


def _head(ws: Workspace) -> tuple:
    with reading(ws) as cat:
        seq, digest, _ = head(cat)
    return seq, digest


def menu_counts(ws: Workspace, user) -> dict:
    """{total, overdue} of the person's to-do, as `counts(items_for(ws, user))` gives it now."""
    place = str(ws.catalog_path)
    generation = _head(ws)
    key = (user, today().isoformat(), tuple(s.name for s in registry.SOURCES))
    try:
        hash(key)
    except TypeError:                       # a user object that cannot be a key is simply counted
        return counts(items_for(ws, user))
    with _lock:
        kept_gen, entries = _kept.get(place, (None, {}))
        if kept_gen == generation and key in entries:
            return dict(entries[key])
    found = counts(items_for(ws, user))     # outside the lock: one slow count never holds up another page
    with _lock:
        kept_gen, entries = _kept.get(place, (None, {}))
        if kept_gen != generation:
            if kept_gen is not None and kept_gen[0] > generation[0]:
                return found                # counted at an older head than another page already keeps
            entries = {}
            _kept[place] = (generation, entries)
        if len(entries) >= _MAX_USERS:
            entries.clear()
        entries[key] = dict(found)
    return found

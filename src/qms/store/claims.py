"""A claim on one piece of work (a queued job) so that two runners — the job worker of two
servers, or `qms jobs run` beside `qms serve` — never do it at the same time.

On PostgreSQL (storage.database) it is a database lock (pg_journal.claim), seen by every server.
The embedded default has one folder on one machine: the journal already makes the job's effect
happen once (job.done is committed under the write lock after checking the job is still queued),
and a second runner at most repeats slow work there, so no lock file is added to the archive."""

from __future__ import annotations

from contextlib import contextmanager

from . import catalog, pg_journal


@contextmanager
def claim(ws, key: str):
    """Yields True when this runner may do `key` now, False when another runner holds it."""
    url = catalog.database(ws)
    if not url:
        yield True
        return
    with pg_journal.claim(url, key) as held:
        yield held

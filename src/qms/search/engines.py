"""Which search index a workspace has, and what the service asks of one.

The embedded default is the whoosh index in the workspace folder (index.SearchIndex); with
`storage.database` in config.yaml it is the PostgreSQL one (_postgres.PgIndex), shared by every
server of the workspace. Both take the same IndexDoc, parse the same query language with
query.parse_query and answer with the same hits and totals (tests/test_search_parity.py).
"""

from __future__ import annotations

import datetime
from typing import Callable, Iterable, Protocol

from ..store.workspace import Workspace
from .schema import FieldMap, Hit, IndexDoc
from .totals import Total


class SearchBackend(Protocol):
    """An open index (one per thread). Writes replace by number; reads parse the query themselves."""

    untrusted: str | None      # why it was rebuilt on opening because its files were not qms's
    rebuilt: str | None        # rebuilt on opening for a reason that is no problem (another version)

    def add(self, docs: Iterable[IndexDoc]) -> None: ...

    def delete(self, numbers: Iterable[str]) -> None: ...

    def rebuild(self, docs: Iterable[IndexDoc], progress: Callable[[int], None] | None = None) -> int: ...

    def search(self, query_string: str, *, kind: str | None = None, form: str | None = None,
               status: str | None = None, date_from: datetime.date | None = None,
               date_to: datetime.date | None = None, limit: int = 20,
               fields: FieldMap | None = None, sort: str = "relevance", offset: int = 0) -> list[Hit]: ...

    def total(self, query_string: str, *, kind: str | None = None, form: str | None = None,
              status: str | None = None, date_from: datetime.date | None = None,
              date_to: datetime.date | None = None, fields: FieldMap | None = None,
              cap: int | None = None) -> Total: ...

    def numbers(self) -> dict[str, str]: ...

    def close(self) -> None: ...


def database(ws: Workspace) -> str | None:
    """storage.database of config.yaml: the PostgreSQL URL, or None for the embedded default."""
    return (ws.config.storage or {}).get("database") or None


def exists(ws: Workspace) -> bool:
    """Whether the workspace has an index yet (the folder; on PostgreSQL its tables)."""
    url = database(ws)
    if url is None:
        return ws.index_dir.exists()
    from ._postgres import exists as pg_exists    # lazy: psycopg is loaded only by workspaces on PostgreSQL
    return pg_exists(url)


def preload(ws: Workspace) -> None:
    """Import the workspace's index backend without opening it, for a caller with time to spare
    before it opens the index (verify, while its forked journal side runs)."""
    if database(ws) is None:
        from .index import SearchIndex  # noqa: F401  # lazy: whoosh (~70 ms), as open_backend loads it
    else:
        from ._postgres import PgIndex  # noqa: F401  # lazy: psycopg, as open_backend loads it


def open_backend(ws: Workspace, rebuild_source: Callable[[], Iterable[IndexDoc]] | None = None) -> SearchBackend:
    """The workspace's index; `rebuild_source` rebuilds it on opening when it must be (an index of
    another qms version; a whoosh folder whose files are not the ones qms wrote)."""
    url = database(ws)
    if url is not None:
        from ._postgres import PgIndex    # lazy: psycopg is loaded only by workspaces on PostgreSQL
        return PgIndex(url, rebuild_source=rebuild_source)
    from .index import SearchIndex    # lazy: the index brings whoosh (~70 ms); only opening an index needs it
    return SearchIndex(ws.index_dir, rebuild_source=rebuild_source)

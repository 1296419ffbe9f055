"""Full-text search over documents and records: the service the CLI, the portal and recovery call.

Layout (whoosh is imported by the adapter module _whoosh alone):
  analysis   text → terms, pure Python (bigrams, unigrams, codes)
  schema     field names, IndexDoc in, Hit out
  _whoosh    the adapter: codec, postings writer, pool, segment readers/writers
  matching   sequence query and in-matcher filters, per-segment caches
  query      the query language and parsed-tree helpers
  ranking    typed numbers, then title, then body; BM25 within a budget
  highlight  the passage under a hit as (text, is_hit) spans
  build      batches and the parallel rebuild
  index      SearchIndex, the facade
  engines    which index a workspace has (whoosh, or PostgreSQL with storage.database), SearchBackend
  tsterms    IndexDoc → tsvector literal, parsed query → tsquery (PostgreSQL), pure Python
  _postgres  PgIndex: every SQL statement of search (storage.database)
  entries    document / record → IndexDoc
  seal       the index's hash list (checked before whoosh opens a file)
  indexing   the subscriber that keeps the index current (on_commit), open_index
  service    search_page, reindex (delete and rebuild)

Importing this package costs the CLI's start-up little: the
analysis (its regexes) and whoosh load when IndexDoc, Hit, SearchIndex or parse_query are first
asked for.
"""

from __future__ import annotations

from ..domain.recordstate import SCAN_NAME
from .entries import document_entry, record_entries
from .engines import exists as index_exists, open_backend, preload as preload_index
from .indexing import all_entries, open_index
from .service import count_entries, reindex, search, search_page
from importlib import import_module

__all__ = ["SCAN_NAME", "Hit", "IndexDoc", "SearchIndex", "all_entries", "count_entries", "document_entry",
           "index_exists", "open_backend", "open_index", "parse_query", "preload_index", "record_entries", "reindex", "search", "search_page"]


_LAZY = {"Hit": "schema", "IndexDoc": "schema", "SearchIndex": "index", "parse_query": "query"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

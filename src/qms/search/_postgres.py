"""The search index on PostgreSQL (storage.database): every SQL statement of search is here.

One row per document or record in `search_docs` (and its stored values, what a hit shows, in
`search_stored`): the filter columns
(kind, form, status normalised as whoosh's ID fields hold them; day as an ordinal) and `tsv`, a
`tsvector` written by tsterms.py from qms's own analysis (never `to_tsvector`: PostgreSQL's parser
would cut Chinese), under a GIN index. A query is parsed by query.parse_query (the tree whoosh
runs) and translated to one `tsquery` (a run → a `<N>` phrase of its bigrams), so both engines
answer the same query language with the same substring semantics.

Ranking: typed numbers first, then title matches, then `ts_rank` (PostgreSQL's frequency rank),
then newest — among the newest _PG_BUDGET (250) matches, as whoosh ranks BM25 among its newest 1,000.
Totals: `count(*)` over at most cap + 1 matching rows, kept per generation in totals.py; the
generation (`search_meta`) counts every write, so several servers never reuse a stale total.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Callable, Iterable

import psycopg

from ..base.errors import QmsError
from .analysis import normalize
from .highlight import highlighter, stored_hit
from .query import needles, parse_query, positive_terms, title_query
from .schema import INDEX_VERSION, KIND_ALIASES, FieldMap, Hit, IndexDoc
from .totals import Total, query_key, total as cached_total
from .tsterms import EVERY, TsQuery, tsvector

# The row layout and the lexeme scheme of tsterms.py; an index of another version is rebuilt.
PG_VERSION = INDEX_VERSION + "/pg-3"     # 2: short field codes; Chinese unigrams as prefixes; 3: stored apart
# Ranked among the newest matches (as whoosh ranks among its newest 1,000): fewer here, since
# finding each means checking a candidate's positions (a common word's page: 250 checks, not 1,000)
_PG_BUDGET = 250
_LOCK = 0x71_6d_73_73    # advisory lock key ("qmss"): one creator of the tables at a time

_DDL = """
-- what a query reads: the filters and the terms. Kept apart from the stored text and, up to a
-- page, inline and uncompressed: a phrase query reads every candidate's tsvector whole (inline
-- 2–4x faster than out of line; out of line uncompressed faster than compressed)
CREATE TABLE IF NOT EXISTS search_docs (
    key text PRIMARY KEY,          -- the normalised number (whoosh's unique number term)
    day integer NOT NULL, kind_n text NOT NULL, form_n text, status_n text,
    windows integer NOT NULL, tsv tsvector NOT NULL) WITH (toast_tuple_target = 8160);
ALTER TABLE search_docs ALTER COLUMN tsv SET STORAGE EXTERNAL;
CREATE INDEX IF NOT EXISTS search_docs_tsv ON search_docs USING gin (tsv);
CREATE INDEX IF NOT EXISTS search_docs_day ON search_docs (day DESC, key);
-- what a hit shows (read for a page's rows only)
CREATE TABLE IF NOT EXISTS search_stored (
    key text PRIMARY KEY REFERENCES search_docs ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    number text NOT NULL, kind text NOT NULL, form text NOT NULL, title text NOT NULL,
    date text NOT NULL, status text NOT NULL, body text NOT NULL);
CREATE TABLE IF NOT EXISTS search_meta (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version text NOT NULL, generation bigint NOT NULL, windows integer NOT NULL);
"""
_TERMS = ("key", "day", "kind_n", "form_n", "status_n", "windows", "tsv")
_STORED = ("key", "number", "kind", "form", "title", "date", "status", "body")


def _upsert(table: str, columns: tuple) -> str:
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT (key) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:]))


class OldPgIndex(QmsError):
    """The tables were written by a qms whose analysis or layout differ (PG_VERSION)."""


def exists(url: str) -> bool:
    """Whether the database holds a search index (search_meta with its row)."""
    with _connect(url) as conn:
        if conn.execute("SELECT to_regclass('search_meta')").fetchone()[0] is None:
            return False
        return conn.execute("SELECT 1 FROM search_meta").fetchone() is not None


def _connect(url: str) -> psycopg.Connection:
    try:
        conn = psycopg.connect(url, autocommit=True)
        # Never prepared: a prepared statement soon runs a generic plan, blind to how common the
        # words are, and a common word then rechecks every match (3–30x slower); planning costs
        # well under a millisecond.
        conn.prepare_threshold = None
        return conn
    except psycopg.OperationalError as e:
        # one line naming the database, not a traceback; never a password (config.yaml refuses
        # one in the URL, but a caller may pass any)
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        shown = re.sub(r"//([^:@/]*):[^@/]*@", r"//\1@", url)
        raise QmsError(f"search: cannot reach the database {shown} ({reason})") from None


def _clean(s: str) -> str:
    return s.replace("\x00", "") if "\x00" in s else s      # PostgreSQL text holds no NUL


@dataclass
class _Row:
    terms: tuple       # the _TERMS columns
    stored: tuple      # the _STORED columns

    @property
    def key(self) -> str:
        return self.terms[0]

    @property
    def windows(self) -> int:
        return self.terms[5]


def _row(doc: IndexDoc) -> _Row:
    number = (doc.number or "").strip()
    tsv, windows = tsvector(doc)           # raises on a document without a number
    key = normalize(number)
    return _Row((key, doc.date.toordinal() if doc.date else 0, normalize((doc.kind or "").strip()),
                 normalize(doc.form.strip()) if doc.form else None,
                 normalize(doc.status.strip()) if doc.status else None, windows, tsv),
                (key, _clean(number), doc.kind or "", doc.form or "", _clean(doc.title or ""),
                 doc.date.isoformat() if doc.date else "", doc.status or "", _clean(doc.text or "")))


class PgIndex:
    """The search index in PostgreSQL (derived state: rebuildable). One connection; not
    thread-safe: give each thread its own PgIndex, as with SearchIndex."""

    def __init__(self, url: str, rebuild_source: Callable[[], Iterable[IndexDoc]] | None = None):
        self.url = url
        self._conn: psycopg.Connection | None = None
        self._checked = False
        self._rebuild_source = rebuild_source
        self.untrusted: str | None = None      # never: rows are not unpickled (no hash list here)
        self.rebuilt: str | None = None

    # -- opening ------------------------------------------------------------
    def _connect(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = _connect(self.url)
            self._checked = False
        return self._conn

    def _db(self) -> psycopg.Connection:
        """The connection, with tables of this qms's layout (created on first use)."""
        conn = self._connect()
        if not self._checked:
            version = self._version(conn)
            if version is None:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
                    version = self._create(conn)
            if version != PG_VERSION:
                if self._rebuild_source is None:
                    raise OldPgIndex("search index in the database was built by another qms version; "
                                     "rebuild it (qms reindex)")
                self.rebuilt = "built by another qms version"
                self.rebuild(self._rebuild_source())
            self._checked = True
        return conn

    @staticmethod
    def _version(conn) -> str | None:
        """The layout version of the tables there, None when there are none (no lock taken: a
        reader never waits for a rebuild, which holds the advisory lock until it commits)."""
        if conn.execute("SELECT to_regclass('search_meta')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT version FROM search_meta").fetchone()
        return row[0] if row else None

    def _create(self, conn) -> str:
        """Create the tables if missing (under the caller's advisory lock: DDL on existing tables
        would lock out every reader); the version of what is there."""
        version = self._version(conn)
        if version is not None:
            return version
        conn.execute(_DDL)
        conn.execute("INSERT INTO search_meta (version, generation, windows) VALUES (%s, 0, 1) "
                     "ON CONFLICT (one) DO NOTHING", (PG_VERSION,))
        return PG_VERSION

    def __enter__(self) -> "PgIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _meta(self) -> tuple[int, int]:
        """(generation, windows): the first statement of every read. A connection the server
        dropped (a restart) is opened again once, so a web worker's index outlives it."""
        try:
            return self._db().execute("SELECT generation, windows FROM search_meta").fetchone()
        except psycopg.OperationalError:
            self.close()
            return self._db().execute("SELECT generation, windows FROM search_meta").fetchone()

    # -- writing ------------------------------------------------------------
    def add(self, docs: Iterable[IndexDoc]) -> None:
        rows = {r.key: r for r in map(_row, docs)}          # a repeated number keeps its last
        if not rows:
            return
        conn = self._db()
        with conn.transaction(), conn.cursor() as cur:
            # the meta row first: writers from several servers queue on it and never deadlock
            cur.execute("UPDATE search_meta SET generation = generation + 1, windows = GREATEST(windows, %s)",
                        (max(r.windows for r in rows.values()),))
            cur.executemany(_upsert("search_docs", _TERMS), [r.terms for r in rows.values()])
            cur.executemany(_upsert("search_stored", _STORED), [r.stored for r in rows.values()])

    def delete(self, numbers: Iterable[str]) -> None:
        keys = sorted({normalize(n.strip()) for n in numbers})
        if not keys:
            return
        conn = self._db()
        with conn.transaction():
            conn.execute("UPDATE search_meta SET generation = generation + 1")      # first: see add
            conn.execute("DELETE FROM search_docs WHERE key = ANY(%s)", (keys,))      # and search_stored

    def rebuild(self, docs: Iterable[IndexDoc], progress: Callable[[int], None] | None = None, **_) -> int:
        """Replace every row in one transaction (readers see the old rows until it commits);
        returns the count. If anything fails the old rows stay."""
        conn = self._connect()
        n, windows, seen = 0, 1, set()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            if self._create(conn) != PG_VERSION:
                # another layout: new tables (readers wait for this transaction); else DELETE,
                # and readers keep the old rows until it commits
                cur.execute("DROP TABLE IF EXISTS search_stored, search_docs, search_meta")
                self._create(conn)
            cur.execute("UPDATE search_meta SET generation = generation + 1")      # first: see add
            cur.execute("DELETE FROM search_stored")
            cur.execute("DELETE FROM search_docs")
            batch: dict[str, _Row] = {}
            for doc in docs:
                row = _row(doc)
                batch[row.key] = row
                if len(batch) >= 500:
                    n, windows = self._copy(cur, batch, seen, n, windows)
                    if progress is not None:
                        progress(n)
            n, windows = self._copy(cur, batch, seen, n, windows)
            cur.execute("UPDATE search_meta SET version = %s, windows = %s", (PG_VERSION, windows))
            # statistics now, not when autovacuum gets round to it: without them PostgreSQL took
            # a typed number for a common word and walked every row (60 ms instead of 1)
            cur.execute("ANALYZE search_docs")
            cur.execute("ANALYZE search_stored")
        if progress is not None:
            progress(n)
        return n

    @staticmethod
    def _copy(cur, batch: dict, seen: set, n: int, windows: int) -> tuple[int, int]:
        again = [k for k in batch if k in seen]           # repeated across batches: the last wins
        if again:
            cur.execute("DELETE FROM search_docs WHERE key = ANY(%s)", (again,))
            cur.execute("DELETE FROM search_stored WHERE key = ANY(%s)", (again,))
        for table, columns, part in (("search_docs", _TERMS, "terms"), ("search_stored", _STORED, "stored")):
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in batch.values():
                    copy.write_row(getattr(row, part))
        n += len(batch) - len(again)
        windows = max([windows, *(r.windows for r in batch.values())])
        seen.update(batch)
        batch.clear()
        return n, windows

    # -- reading ------------------------------------------------------------
    def numbers(self) -> dict[str, str]:
        """number -> status of every indexed document (for verify)."""
        return dict(self._db().execute("SELECT number, status FROM search_stored").fetchall())

    def _expand(self, pattern: str) -> list[str]:
        # A wildcard inside a word (qp-??-015): the lexemes matching it, from every row (rare).
        rows = self._db().execute("SELECT word FROM ts_stat('SELECT tsv FROM search_docs') WHERE word ~ %s "
                                  "ORDER BY word LIMIT 10000", (pattern,)).fetchall()
        return [r[0] for r in rows]

    def _where(self, tsq: str | None, kind, form, status, date_from, date_to) -> tuple[str, list] | None:
        conds, params = [], []
        if tsq is not EVERY:
            conds.append("tsv @@ %s::tsquery")
            params.append(tsq)
        if kind:
            kind = normalize(kind.strip())
            conds.append("kind_n = %s")
            params.append(KIND_ALIASES.get(kind, kind))
        for column, value in (("form_n", form), ("status_n", status)):
            if value:
                conds.append(f"{column} = %s")
                params.append(normalize(value.strip()))
        if date_from or date_to:
            lo = date_from.toordinal() if date_from else 1
            hi = date_to.toordinal() if date_to else datetime.date.max.toordinal()
            if lo > hi:
                return None
            conds.append("day BETWEEN %s AND %s")
            params += [lo, hi]
        return " AND ".join(conds) or "TRUE", params

    def search(self, query_string: str, *, kind: str | None = None, form: str | None = None,
               status: str | None = None, date_from: datetime.date | None = None,
               date_to: datetime.date | None = None, limit: int = 20,
               fields: FieldMap | None = None, sort: str = "relevance", offset: int = 0) -> list[Hit]:
        """Ranked hits (best first) with a highlighted passage each (see the module doc); with
        sort="newest" / "oldest" every match by date (exact: the day index walked either way)."""
        if limit <= 0 or not query_string or not query_string.strip():
            return []
        q = parse_query(query_string, fields)
        if q is None:
            return []
        _gen, windows = self._meta()
        ts = TsQuery(windows, self._expand)
        body = ts(q)
        where = self._where(body, kind, form, status, date_from, date_to)
        if where is None:
            return []
        sql, params = where
        if sort in ("newest", "oldest"):
            way = "DESC" if sort == "newest" else "ASC"
            rows = self._db().execute(
                f"WITH top AS (SELECT key, day FROM search_docs WHERE {sql} ORDER BY day {way}, key LIMIT %s OFFSET %s) "
                f"SELECT {', '.join('d.' + c for c in _STORED[1:])}, 0.0 FROM top JOIN search_stored d USING (key) "
                f"ORDER BY top.day {way}, top.key", [*params, limit, offset]).fetchall()
            rx = highlighter(needles(q))
            return [stored_hit(r[:7], r[7], rx) for r in rows]
        tq = None if form or positive_terms(q, "form") else title_query(q)
        title = ts(tq) if tq is not None else None
        # One walk over the newest matches computes the order's columns; the stored text is read
        # for the page's rows only (a join over every candidate read the table twice).
        score = "ts_rank(tsv, %s::tsquery)" if body is not EVERY else "0.0"
        in_title = "tsv @@ %s::tsquery" if tq is not None and title is not EVERY else "false"
        pinned = [normalize(n) for n in positive_terms(q, "number")]
        order = ("pinned DESC", "in_title DESC", "score DESC", "day DESC", "key")
        rows = self._db().execute(
            f"WITH m AS (SELECT key, day, key = ANY(%s) AS pinned, {in_title} AS in_title, {score} AS score "
            f"FROM search_docs WHERE {sql} ORDER BY day DESC, key LIMIT %s), "
            f"top AS (SELECT * FROM m ORDER BY {', '.join(order)} LIMIT %s OFFSET %s) "
            f"SELECT {', '.join('d.' + c for c in _STORED[1:])}, top.score "
            f"FROM top JOIN search_stored d USING (key) ORDER BY {', '.join('top.' + c for c in order)}",
            [pinned, *([title] if tq is not None and title is not EVERY else []), *([body] if body is not EVERY else []),
             *params, max(_PG_BUDGET, offset + limit), limit, offset]).fetchall()
        rx = highlighter(needles(q))
        return [stored_hit(r[:7], r[7], rx) for r in rows]

    def search_page(self, query_string: str, *, limit: int = 20, offset: int = 0,
                    fields: FieldMap | None = None, **filters) -> tuple[list[Hit], int]:
        """(hits ranked offset … offset+limit, how many documents match in all)."""
        hits = self.search(query_string, limit=limit, offset=offset, fields=fields, **filters)
        n = self.total(query_string, fields=fields, **filters).n
        return hits, max(n, offset + len(hits))

    def count(self, query_string: str, **kwargs) -> int:
        return self.total(query_string, **kwargs).n

    def total(self, query_string: str, *, kind: str | None = None, form: str | None = None,
              status: str | None = None, date_from: datetime.date | None = None,
              date_to: datetime.date | None = None, fields: FieldMap | None = None,
              cap: int | None = None) -> Total:
        """Exact up to `cap`, beyond it Total(cap, exact=False); counted once per generation."""
        if not query_string or not query_string.strip():
            return Total(0, True)
        q = parse_query(query_string, fields)
        if q is None:
            return Total(0, True)
        generation, windows = self._meta()

        def walk(c: int | None) -> int:
            where = self._where(TsQuery(windows, self._expand)(q), kind, form, status, date_from, date_to)
            if where is None:
                return 0
            sql, params = where
            limit = "" if c is None else f" LIMIT {int(c) + 1}"
            return self._db().execute(f"SELECT count(*) FROM (SELECT 1 FROM search_docs WHERE {sql}{limit}) s",
                                      params).fetchone()[0]

        key = query_key(query_string, kind, form, status, date_from, date_to, fields)
        return cached_total("pg:" + self.url, (generation,), key, cap, walk, on_disk=False)

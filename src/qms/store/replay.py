"""The journal replayed: the projection applied from seq 1 into a catalog (in memory for verify
and purge, which compare the live catalog with it), and how two catalogs differ. Storage layer:
rebuild, verify and retention all stand on it."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from . import audit, projection
from .journal_entry import data_member
from .catalog import Catalog, open_catalog
from .workspace import Workspace


def replay(cat: Catalog, ws: Workspace, upto: int | None = None, pairs=None, *, trail: bool = True,
           fold: bool = False) -> int:
    """Apply the journal (up to seq `upto`) to an empty catalog; returns events applied.
    `pairs`: the log already read ((offset, entry) as audit.scan gives them); `trail`: fill the
    audit_trail table too (a replay kept only to compare tables skips it: trail_differences
    compares that table with the journal directly); `fold`: filings a later purge undoes are
    checked but not written (projection.fold_plan: the same tables in the end)."""
    if pairs is None:
        pairs = audit.entries_after(ws.audit_path, 0)
    if upto is not None:
        pairs = [p for p in pairs if p[1].seq <= upto]
    projection.apply_all(cat, pairs, trail=trail, fold=projection.fold_plan(pairs) if fold else None)
    return len(pairs)


@contextmanager
def replay_in_memory(ws: Workspace, upto: int | None = None, pairs=None):
    cat = open_catalog(Path(":memory:"), create=False)
    try:
        # The record list's indexes serve the pages that list records: the projection writes a
        # record by its number, a comparison reads none of them and purge's due list is one scan
        # (kept, they cost 12% of the replay)
        for idx in cat.conn.execute("PRAGMA index_list(records)").fetchall():
            if idx[3] == "c" and not idx[2]:
                cat.conn.execute(f'DROP INDEX "{idx[1]}"')
        replay(cat, ws, upto, pairs, trail=False, fold=True)
        yield cat
    finally:
        cat.close()


# Natural keys, to name the row that differs; tables without one are compared as bags of rows.
_KEYS = {"documents": ("number",), "revisions": ("number", "revision"), "copies": ("number", "copy_no"),
         "sequences": ("key",), "records": ("number",), "record_versions": ("number", "version"),
         "disposed": ("number",), "disposals": ("certificate",), "disposal_requests": ("number",)}
_SHOWN_PER_TABLE = 20



# compared with the journal itself (trail_differences), not with a replay
_TRAIL_TABLES = ("audit_trail", "audit_numbers")


def _tables(cat: Catalog) -> list[str]:
    return [name for name in cat.tables() if name != "meta" and name not in _TRAIL_TABLES]


_APPROVAL_COLUMNS = ("r.number AS number, r.revision AS revision, a.role, a.role_label, a.name, a.meaning, "
                     "a.signed_at, a.signed_on, a.login, a.source_sha256, a.docx_sha256, a.void_at, a.void_reason, "
                     "a.void_by")


def _approvals(schema: str = "") -> str:
    """Approvals name their revision by number and label (row ids differ between two catalogs)."""
    return (f"SELECT {_APPROVAL_COLUMNS} FROM {schema}approvals a "
            f"LEFT JOIN {schema}revisions r ON r.id=a.revision_id")


def table_rows(cat: Catalog, table: str) -> list[dict]:
    """A table's rows without row ids: approvals name their revision by number and label."""
    sql = _approvals() if table == "approvals" else f"SELECT * FROM {table}"
    return [{k: row[k] for k in row.keys() if k != "id"} for row in cat.all(sql)]


def _describe(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)


def _diff_table(table: str, live: list[dict], rebuilt: list[dict]) -> list[str]:
    out: list[str] = []
    key_cols = _KEYS.get(table)
    if key_cols:
        a = {tuple(r.get(k) for k in key_cols): r for r in live}
        b = {tuple(r.get(k) for k in key_cols): r for r in rebuilt}
        for key in sorted(set(a) | set(b), key=lambda k: tuple(str(x) for x in k)):
            name = " ".join(str(x) for x in key)
            if key not in b:
                out.append(f"table {table}, {name}: in the catalog but not in the log: {_describe(a[key])}")
            elif key not in a:
                out.append(f"table {table}, {name}: follows from the log but is missing from the catalog: "
                           f"{_describe(b[key])}")
            elif a[key] != b[key]:
                cols = [c for c in b[key] if a[key].get(c) != b[key].get(c)]
                out.append(f"table {table}, {name}: " + "; ".join(
                    f"{c} is {a[key].get(c)!r} in the catalog, {b[key].get(c)!r} from the log" for c in cols))
    else:
        freeze = lambda r: tuple(r.items())  # noqa: E731
        ca, cb = Counter(map(freeze, live)), Counter(map(freeze, rebuilt))
        for row, n in sorted((ca - cb).items(), key=repr):
            out.append(f"table {table}: in the catalog but not in the log ({n}×): {_describe(dict(row))}")
        for row, n in sorted((cb - ca).items(), key=repr):
            out.append(f"table {table}: follows from the log but is missing from the catalog ({n}×): "
                       f"{_describe(dict(row))}")
    if len(out) > _SHOWN_PER_TABLE:
        out = out[:_SHOWN_PER_TABLE] + [f"table {table}: … and {len(out) - _SHOWN_PER_TABLE} more differences"]
    return out


def compare(live: Catalog, truth: Catalog) -> list[str]:
    """Where the live catalog disagrees with the projection of the log, one line per row."""
    out: list[str] = []
    live_tables = set(_tables(live))
    with _attached(live, truth) as schema:
        for table in _tables(truth):
            if table not in live_tables:
                out.append(f"table {table} is missing from the catalog")
                continue
            if schema and _same_in_sql(truth.conn, schema, table):
                continue
            out += _diff_table(table, table_rows(live, table), table_rows(truth, table))
    return out


# Both catalogs SQLite: each table is first compared inside SQLite (loading both into Python took
# 1.1 s of verify's 2.8 s at 10,000 records); a table that differs, or that SQL cannot settle, is
# compared row by row as before, which names what differs.
_LIVE = "qms_live"


@contextmanager
def _attached(live, truth):
    """The live catalog's file attached to the replayed catalog's connection as `qms_live`; None
    when they are not both SQLite (PostgreSQL) or the live one may see what a file reader would not."""
    path = getattr(live, "path", None)
    if not (isinstance(getattr(live, "conn", None), sqlite3.Connection)
            and isinstance(getattr(truth, "conn", None), sqlite3.Connection)
            and path and os.path.isfile(path)
            and not live.conn.in_transaction and not truth.conn.in_transaction):
        yield None
        return
    try:
        truth.conn.execute(f"ATTACH DATABASE ? AS {_LIVE}", (os.fspath(path),))
    except sqlite3.Error:
        yield None
        return
    try:
        yield _LIVE
    finally:
        truth.conn.execute(f"DETACH DATABASE {_LIVE}")


def _columns(conn, schema: str, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA {schema}.table_info({_q(table)})") if r[1] != "id"]


def _unique_keys(conn, schema: str, table: str) -> list[frozenset[str]]:
    """Column sets a (full, plain-column) unique index of the table holds unique."""
    keys = []
    for idx in conn.execute(f"PRAGMA {schema}.index_list({_q(table)})").fetchall():
        if idx[2] and not idx[4]:
            cols = [r[2] for r in conn.execute(f"PRAGMA {schema}.index_info({_q(idx[1])})")]
            if cols and None not in cols:
                keys.append(frozenset(cols))
    return keys


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _same_in_sql(conn, live: str, table: str) -> bool:
    """True when the live table (schema `live`) holds exactly the replayed table's rows, each as
    often (what the row-by-row comparison would find equal). False: compare it row by row."""
    def n(sql: str) -> int:
        return conn.execute(f"SELECT COUNT(*) FROM ({sql})").fetchone()[0]
    try:
        if table == "approvals":
            mine, theirs = _approvals("main."), _approvals(f"{live}.")
            key = None
        else:
            cols = _columns(conn, "main", table)
            if not cols or cols != _columns(conn, live, table):     # the row-by-row comparison names it
                return False
            listed = ", ".join(f"{_q(c)} COLLATE BINARY AS {_q(c)}" for c in cols)
            mine, theirs = (f"SELECT {listed} FROM {s}.{_q(table)}" for s in ("main", live))
            # a key both tables hold unique: one join on it settles the table (record_fields at
            # 10,000 records: 0.06 s, against 0.2 s for EXCEPT both ways)
            key = next((k for k in _unique_keys(conn, "main", table) if k <= set(cols)
                        and k in _unique_keys(conn, live, table)), None)
        rows = n(mine)
        if n(theirs) != rows:
            return False
        if key is not None:
            on = " AND ".join(f"x.{_q(c)} = y.{_q(c)} COLLATE BINARY" for c in sorted(key))
            same = " AND ".join(f"x.{_q(c)} IS y.{_q(c)} COLLATE BINARY" for c in cols if c not in key)
            # unique on both sides, as many rows: every row matched by an equal one means equal tables
            return n(f"SELECT 1 FROM main.{_q(table)} x JOIN {live}.{_q(table)} y ON {on}"
                     + (f" WHERE {same}" if same else "")) == rows
        # no such key: the same set of rows both ways, and no row twice (as many rows as distinct ones)
        return (n(f"{mine} EXCEPT {theirs}") == 0 and n(f"{theirs} EXCEPT {mine}") == 0
                and n(f"SELECT DISTINCT * FROM ({mine})") == rows)
    except sqlite3.Error:
        return False


def trail_differences(cat: Catalog, pairs, upto: int | None = None, lines: dict | None = None) -> list[str]:
    """Where the audit_trail table (and its audit_numbers) disagrees with the journal's entries up to
    `upto`: a row missing, one the journal does not hold, or one that differs; one line per row.
    `lines`: the lines audit.scan accepted, by end offset (its `lines`): on SQLite each row's data
    is then compared as bytes with its line's data member, not encoded again (that encoding was
    half of this comparison); a row that differs so is compared again as before, which names it."""
    expected = {e.seq: (offset, e) for offset, e in pairs if upto is None or e.seq <= upto}
    out: list[str] = []
    seen: set[int] = set()
    columns = ", ".join(projection.TRAIL_COLUMNS)
    fast = lines is not None and isinstance(cat.conn, sqlite3.Connection)
    if fast:
        as_bytes = ", ".join("CAST(data AS BLOB)" if c == "data" else c for c in projection.TRAIL_COLUMNS)
        sql = f"SELECT {as_bytes}, typeof(data) = 'text' FROM audit_trail ORDER BY seq"
    else:
        sql = f"SELECT {columns} FROM audit_trail ORDER BY seq"
    for row in _tuples(cat, sql):
        seq = row[0]
        seen.add(seq)
        offset, e = expected.get(seq, (None, None))
        if e is None:
            row = _trail_row_at(cat, seq) if fast else row
            out.append(f"table audit_trail, entry {seq}: in the catalog but not in the journal: "
                       f"{row[projection.TRAIL_COLUMNS.index('action')]} {row[projection.TRAIL_COLUMNS.index('target')]}")
            continue
        if fast:
            line = lines.get(offset)
            data = data_member(line, e) if line is not None else None
            if data is not None:
                want = projection.trail_row(e, data=data if e.data else b"{}")     # falsy data is kept as {}
                if row[-1] and row[:-1] == want:
                    continue
            row = _trail_row_at(cat, seq)
        want = projection.trail_row(e)
        if row != want:
            cols = [c for c, a, b in zip(projection.TRAIL_COLUMNS, row, want) if a != b]
            out.append(f"table audit_trail, entry {seq}: " + "; ".join(
                f"{c} is {a!r} in the catalog, {b!r} in the journal"
                for c, a, b in zip(projection.TRAIL_COLUMNS, row, want) if c in cols))
    for seq in sorted(set(expected) - seen):
        e = expected[seq][1]
        out.append(f"table audit_trail, entry {seq}: in the journal but missing from the catalog "
                   f"({e.action} {e.target})")
    entries = [e for _, e in expected.values()]
    have = Counter(_tuples(cat, "SELECT number, seq FROM audit_numbers"))
    want_numbers = Counter((n, e.seq) for e in entries for n in projection.trail_numbers(e))
    if not dict.__eq__(have, want_numbers):       # (as dicts, in C: Counter's own == and - are Python loops)
        for (n, seq), _ in sorted((have - want_numbers).items()):
            out.append(f"table audit_numbers, {n} entry {seq}: in the catalog but not in the journal")
        for (n, seq), _ in sorted((want_numbers - have).items()):
            out.append(f"table audit_numbers, {n} entry {seq}: follows from the journal but is missing from the catalog")
    if len(out) > _SHOWN_PER_TABLE:
        out = out[:_SHOWN_PER_TABLE] + [f"table audit_trail: … and {len(out) - _SHOWN_PER_TABLE} more differences"]
    return out


def _trail_row_at(cat: Catalog, seq: int) -> tuple:
    return next(iter(_tuples(cat, f"SELECT {', '.join(projection.TRAIL_COLUMNS)} FROM audit_trail WHERE seq={int(seq)}")))


def _tuples(cat: Catalog, sql: str):
    """Rows as plain tuples (sqlite3.Row objects cost as much again to build and compare)."""
    if isinstance(cat.conn, sqlite3.Connection):
        cur = cat.conn.cursor()
        cur.row_factory = None
        return cur.execute(sql)
    return (tuple(r) for r in cat.conn.execute(sql))

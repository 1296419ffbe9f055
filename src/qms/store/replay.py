"""The journal replayed: the projection applied from seq 1 into a catalog (in memory for verify
and purge, which compare the live catalog with it), and how two catalogs differ. Storage layer:
rebuild, verify and retention all stand on it."""

from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from . import audit, projection
from .catalog import Catalog, open_catalog
from .workspace import Workspace


def replay(cat: Catalog, ws: Workspace, upto: int | None = None, pairs=None, *, trail: bool = True) -> int:
    """Apply the journal (up to seq `upto`) to an empty catalog; returns events applied.
    `pairs`: the log already read ((offset, entry) as audit.scan gives them); `trail`: fill the
    audit_trail table too (a replay kept only to compare tables skips it: trail_differences
    compares that table with the journal directly)."""
    if pairs is None:
        pairs = audit.entries_after(ws.audit_path, 0)
    if upto is not None:
        pairs = [p for p in pairs if p[1].seq <= upto]
    projection.apply_all(cat, pairs, trail=trail)
    return len(pairs)


@contextmanager
def replay_in_memory(ws: Workspace, upto: int | None = None, pairs=None):
    cat = open_catalog(Path(":memory:"), create=False)
    try:
        replay(cat, ws, upto, pairs, trail=False)
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


def table_rows(cat: Catalog, table: str) -> list[dict]:
    """A table's rows without row ids: approvals name their revision by number and label."""
    if table == "approvals":
        sql = ("SELECT r.number AS number, r.revision AS revision, a.role, a.role_label, a.name, a.meaning, "
               "a.signed_at, a.signed_on, a.login, a.source_sha256, a.docx_sha256, a.void_at, a.void_reason, a.void_by "
               "FROM approvals a LEFT JOIN revisions r ON r.id=a.revision_id")
    else:
        sql = f"SELECT * FROM {table}"
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
    for table in _tables(truth):
        if table not in live_tables:
            out.append(f"table {table} is missing from the catalog")
            continue
        out += _diff_table(table, table_rows(live, table), table_rows(truth, table))
    return out


def trail_differences(cat: Catalog, pairs, upto: int | None = None) -> list[str]:
    """Where the audit_trail table (and its audit_numbers) disagrees with the journal's entries up to
    `upto`: a row missing, one the journal does not hold, or one that differs; one line per row."""
    expected = {e.seq: e for _, e in pairs if upto is None or e.seq <= upto}
    out: list[str] = []
    seen: set[int] = set()
    for row in cat.conn.execute(f"SELECT {', '.join(projection.TRAIL_COLUMNS)} FROM audit_trail ORDER BY seq"):
        seq = row[0]
        seen.add(seq)
        e = expected.get(seq)
        if e is None:
            out.append(f"table audit_trail, entry {seq}: in the catalog but not in the journal: "
                       f"{row['action']} {row['target']}")
            continue
        want = projection.trail_row(e)
        if tuple(row) != want:
            cols = [c for c, a, b in zip(projection.TRAIL_COLUMNS, tuple(row), want) if a != b]
            out.append(f"table audit_trail, entry {seq}: " + "; ".join(
                f"{c} is {a!r} in the catalog, {b!r} in the journal"
                for c, a, b in zip(projection.TRAIL_COLUMNS, tuple(row), want) if c in cols))
    for seq in sorted(set(expected) - seen):
        out.append(f"table audit_trail, entry {seq}: in the journal but missing from the catalog "
                   f"({expected[seq].action} {expected[seq].target})")
    have = Counter((r[0], r[1]) for r in cat.conn.execute("SELECT number, seq FROM audit_numbers"))
    want_numbers = Counter((n, e.seq) for e in expected.values() for n in projection.trail_numbers(e))
    for (n, seq), _ in sorted((have - want_numbers).items()):
        out.append(f"table audit_numbers, {n} entry {seq}: in the catalog but not in the journal")
    for (n, seq), _ in sorted((want_numbers - have).items()):
        out.append(f"table audit_numbers, {n} entry {seq}: follows from the journal but is missing from the catalog")
    if len(out) > _SHOWN_PER_TABLE:
        out = out[:_SHOWN_PER_TABLE] + [f"table audit_trail: … and {len(out) - _SHOWN_PER_TABLE} more differences"]
    return out

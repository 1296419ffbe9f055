"""A page of each long list over N records (issue 21): the record list and the audit trail, read
in SQL a page at a time with an exact total, in process (the library call the CLI, the API and the
web page make), median and p95 of 30 runs; the query plans, to see the indexes used.

The catalog is filled by the projection (record.file events with their field values, over five
years, 20 filers; every entry also into the audit_trail table), in one transaction as `qms rebuild`
does. The floor beside each: a bare `SELECT … LIMIT 50` of the same table.

    python -m bench.lists --records 10000 --records 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import CUSTOMERS, PRODUCTS, name, sentence

FORMS = ("QR-SV-022-01", "QR-SV-022-02", "QR-SV-022-04")


def fill(ws, n: int, seed: int = 21) -> list:
    from qms.store import projection
    from qms.store.journal_entry import AuditEntry
    from qms.store.catalog import open_catalog
    rng = random.Random(seed)
    filers = [f"user{k:02d} {name(rng)}" for k in range(20)]
    start = dt.datetime(2022, 1, 3, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    step = dt.timedelta(days=5 * 365) / n
    seqs: dict[tuple, int] = {}
    entries = []
    for i in range(1, n + 1):
        at = start + step * i
        form = FORMS[i % 3]
        key = (form, at.year)
        seqs[key] = seqs.get(key, 0) + 1
        number = f"{form}-{at.year}-{seqs[key]:05d}"
        customer = rng.choice(CUSTOMERS)
        fields = {"customer": customer, "product": rng.choice(PRODUCTS), "content": sentence(rng, 1),
                  "handler": name(rng)}
        entries.append(AuditEntry(seq=i, at=at.isoformat(timespec="seconds"), actor=rng.choice(filers),
                                  action="record.file", target=number, data={
                                      "form": form, "record_date": at.date().isoformat(),
                                      "status": "filed" if rng.random() < 0.9 else "awaiting_signature",
                                      "version": 1, "folder": f"archive/x/{number}", "seq": seqs[key],
                                      "sequence": f"{form}-{at.year}", "retention_until": "2040-12-31",
                                      "customer": customer, "fields": fields}))
    cat = open_catalog(ws.catalog_path)
    with cat.transaction():
        for e in entries:
            projection.apply(cat, e)
        projection.add_trail(cat, entries)
    cat.close()
    return entries


def verify_cost(ws, entries) -> float:
    """What verify adds: the audit_trail table compared row by row with the journal's entries."""
    from qms.store.catalog import open_catalog
    from qms.store.replay import trail_differences
    with open_catalog(ws.catalog_path, create=False) as cat:
        t0 = time.perf_counter()
        problems = trail_differences(cat, [(0, e) for e in entries])
        took = time.perf_counter() - t0
    assert problems == [], problems[:3]
    return took


def timed(fn, runs: int = 30) -> tuple[float, float, object]:
    took, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        took.append(time.perf_counter() - t0)
    took.sort()
    return statistics.median(took), took[int(0.95 * (len(took) - 1))], out


def plans(ws) -> list[tuple[str, str]]:
    """EXPLAIN QUERY PLAN of the lists' SQL (as recordstate.page and trail.query write it)."""
    conn = sqlite3.connect(ws.catalog_path)
    out = []
    for title, sql, args in [
        ("records, newest first", "SELECT number FROM records ORDER BY filed_at DESC, rowid DESC LIMIT 50 OFFSET 0", ()),
        ("records of a form", "SELECT number FROM records WHERE form=? ORDER BY filed_at DESC, rowid DESC LIMIT 50",
         (FORMS[0],)),
        ("records of a year (count)", "SELECT COUNT(*) FROM records WHERE year=?", (2024,)),
        ("record columns", "SELECT number, name, value FROM record_fields WHERE number IN (?, ?)", ("a", "b")),
        ("trail, newest first", "SELECT seq FROM audit_trail ORDER BY seq DESC LIMIT 50", ()),
        ("trail by actor", "SELECT seq FROM audit_trail WHERE login=? ORDER BY seq DESC LIMIT 50", ("user03",)),
        ("trail, a deep page", "SELECT seq FROM audit_trail WHERE seq <= ? ORDER BY seq DESC LIMIT 50", (50000,)),
        ("trail by target", "SELECT seq FROM audit_trail WHERE seq IN (SELECT seq FROM audit_numbers WHERE number=?) "
         "ORDER BY seq DESC LIMIT 50", ("x",)),
        ("trail by day", "SELECT COUNT(*) FROM audit_trail WHERE utc >= ? AND utc < ?", ("2024-01-01", "2024-01-02")),
    ]:
        steps = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args)]
        out.append((title, "; ".join(steps)))
    conn.close()
    return out


def measure(ws) -> list[tuple[str, float, float, int]]:
    from qms.records import list_page
    from qms.domain import trail
    one_actor = sqlite3.connect(ws.catalog_path).execute("SELECT login FROM audit_trail LIMIT 1").fetchone()[0]
    target = sqlite3.connect(ws.catalog_path).execute("SELECT target FROM audit_trail WHERE seq=1000").fetchone()[0]
    cases = [
        ("record list, page 1", lambda: list_page(ws)),
        ("record list, page 1,000 (offset 49,950)", lambda: list_page(ws, offset=49950)),
        ("record list, a form", lambda: list_page(ws, form=FORMS[1])),
        ("record list, a year", lambda: list_page(ws, year=2024)),
        ("record list, a customer (part of the name)", lambda: list_page(ws, customer=CUSTOMERS[0][2:5])),
        ("record list, awaiting signature", lambda: list_page(ws, status="awaiting_signature")),
        ("audit trail, page 1", lambda: trail.trail_page(ws, limit=50)),
        ("audit trail, page 1,000", lambda: trail.trail_page(ws, limit=50, offset=49950)),
        ("audit trail, one actor", lambda: trail.trail_page(ws, limit=50, actor=one_actor)),
        ("audit trail, action prefix record.", lambda: trail.trail_page(ws, limit=50, action="record.")),
        ("audit trail, one record", lambda: trail.trail_page(ws, limit=50, target=target)),
        ("audit trail, one month", lambda: trail.trail_page(ws, limit=50, date_from=dt.date(2024, 3, 1),
                                                            date_to=dt.date(2024, 3, 31))),
    ]
    out = []
    for title, fn in cases:
        med, p95, page = timed(fn)
        out.append((title, med, p95, page.total))
    return out


def floor(ws) -> float:
    conn = sqlite3.connect(ws.catalog_path)
    med, _, _ = timed(lambda: conn.execute("SELECT * FROM records LIMIT 50").fetchall())
    conn.close()
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, action="append", help="records (repeatable)")
    args = ap.parse_args()
    from qms.store.workspace import init_workspace
    for n in args.records or [10000, 100000]:
        tmp = Path(tempfile.mkdtemp(prefix="qms-bench-lists-"))
        try:
            ws = init_workspace(tmp / "ws")
            t0 = time.perf_counter()
            entries = fill(ws, n)
            filled = time.perf_counter() - t0
            fl = floor(ws)
            print(f"\n{n:,} records (filled by the projection in {filled:.1f} s); floor: bare SELECT … LIMIT 50 "
                  f"{fl * 1000:.2f} ms\n")
            print("| list | total | median | p95 |")
            print("|---|---|---|---|")
            for title, med, p95, total in measure(ws):
                print(f"| {title} | {total:,} | {med * 1000:.1f} ms | {p95 * 1000:.1f} ms |")
            print(f"\nverify's comparison of the audit_trail table with {n:,} journal entries: "
                  f"{verify_cost(ws, entries):.2f} s\n")
            for title, plan in plans(ws):
                print(f"- {title}: {plan}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

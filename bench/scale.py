"""Scale benchmark (issue 26): the embedded default beside PostgreSQL, in the same run.

Today it measures search: N synthetic records (bench/search.py's generator: 300–800 Chinese
characters each) indexed into whoosh (SearchIndex.rebuild) and into PostgreSQL (PgIndex.rebuild),
then the fixed query set of bench/search.py as a user's page asks it — the ranked first 20 hits
and the total (search.count_cap 1,000) — timed on both, median and p95, and every query's total
compared between the two (they must be equal: the parity of tests/test_search_parity.py at scale).

Filing throughput and verify time on PostgreSQL come with the PostgreSQL catalog and journal
(issue 26, i26-pg); the hooks are `bench_filing` / `bench_verify` below (not yet measured).

    PYTHONPATH=src .venv/bin/python -m bench.scale --n 20000 [--database postgresql://…] [--dir /tmp/qms-scale]

Without --database a throw-away PostgreSQL 15 is started as the tests start it (tests/pg_cluster.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qms.search import SearchIndex
from qms.search._postgres import PgIndex

from bench.search import make_queries, make_records, summarize

CAP = 1000


def _page(ix, q: str):
    hits = ix.search(q, limit=20)
    return hits, ix.total(q, cap=CAP)


def bench_search(docs, queries, base: Path, url: str, repeat: int = 3) -> dict:
    out = {}
    engines = {"whoosh": SearchIndex(base / "whoosh"), "postgresql": PgIndex(url)}
    for name, ix in engines.items():
        t = time.perf_counter()
        n = ix.rebuild(iter(docs))
        secs = time.perf_counter() - t
        print(f"[{name}] indexed {n} records in {secs:.1f} s = {n / secs:.0f} records/s", flush=True)
        for q in queries:                  # warm-up (and the totals, counted once a generation)
            _page(ix, q)
        times, first = [], []
        for q in queries:
            for _ in range(repeat):
                t = time.perf_counter()
                ix.search(q, limit=20)
                times.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            ix.total(q, cap=CAP + 1 + len(first))   # another cap: a count the cache has not seen
            first.append((time.perf_counter() - t) * 1000)
        print(f"  {name:10s} first 20 hits  {summarize(times)}")
        print(f"  {name:10s} total (count)  {summarize(first)}")
        out[name] = {"rate": n / secs, "p50": statistics.median(times), "totals": {q: ix.total(q, cap=CAP) for q in queries}}
    differ = [q for q in queries if out["whoosh"]["totals"][q] != out["postgresql"]["totals"][q]]
    print(f"  totals equal on both engines: {len(queries) - len(differ)}/{len(queries)}"
          + (f"; differ: {differ}" if differ else ""))
    for ix in engines.values():
        ix.close()
    return out


def bench_filing(*_):          # hook: records/s filed through qms on either storage (issue 26, i26-pg)
    raise NotImplementedError


def bench_verify(*_):          # hook: qms verify time at N on either storage (issue 26, i26-pg)
    raise NotImplementedError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--database", help="postgresql://… (default: a throw-away cluster)")
    ap.add_argument("--dir", type=Path, help="where the whoosh index goes (default: a temporary folder)")
    args = ap.parse_args(argv)
    base = args.dir or Path(tempfile.mkdtemp(prefix="qms-scale-"))
    cluster = None
    url = args.database
    if url is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from pg_cluster import start_cluster    # lazy: the tests' helper, only without --database
        cluster = start_cluster()
        url = cluster.create_database("bench")
    try:
        docs = make_records(args.n)
        queries = make_queries(docs)
        print(f"{args.n} records, {len(queries)} queries", flush=True)
        bench_search(docs, queries, base, url)
    finally:
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scale benchmark (issue 26): the embedded default beside PostgreSQL, in the same run.

Today it measures search: N synthetic records (bench/search.py's generator: 300–800 Chinese
characters each) indexed into whoosh (SearchIndex.rebuild) and into PostgreSQL (PgIndex.rebuild),
then the fixed query set of bench/search.py as a user's page asks it — the ranked first 20 hits
and the total (search.count_cap 1,000) — timed on both, median and p95, and every query's total
compared between the two (they must be equal: the parity of tests/test_search_parity.py at scale).

Then filing and verify, on an embedded workspace and on one made as `qms init --database URL`
makes it (its own database in the same cluster): N records through qms's batch write path
(bench.archive_ops.generate, as bench/web.py builds its workspace: folders, manifests, journal,
catalog, one bulk index build, no PDF) as records/s; then --one-by-one more (default 200) through
records.file_record, no PDF (the cost of one filing a user sees, with N already there), p50/p95;
then integrity.verify.verify over the whole workspace. Printed as a table beside each other.

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
from qms.startup import start
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


def _workspace(root: Path, url: str | None):
    """A fresh workspace: embedded (url None) or made as `qms init --database URL` makes it."""
    from qms.integrity.workspace_setup import init_admin
    from qms.store.workspace import init_workspace
    ws = init_workspace(root, storage={"database": url} if url else None)
    init_admin(ws, "admin", name="管理员", password="bench-admin-pass")     # as `qms init` does: config applied
    return ws


def bench_filing(ws, n: int, one_by_one: int, tmp: Path) -> dict:
    """N records through the batch write path (bench.archive_ops.generate: folders, manifests,
    journal, catalog, one bulk index build; batches of 2,000, no PDF), then `one_by_one` more
    through records.file_record (no PDF) — what each filing costs a user with N already there."""
    from qms.base.yaml_source import dump_yaml
    from qms.records import file_record
    from bench.archive_ops import generate
    from bench.common import phone_rows
    t = time.perf_counter()
    generate(ws, n, year=2019)
    batch = time.perf_counter() - t
    rows = phone_rows(one_by_one, seed=11)
    times = []
    for i, row in enumerate(rows):
        data = tmp / f"r{i}.yaml"
        data.write_text(dump_yaml(row), encoding="utf-8")
        t = time.perf_counter()
        file_record(ws, "QR-SV-022-04", data, actor="bench", pdf=False)
        times.append((time.perf_counter() - t) * 1000)
    return {"batch_s": batch, "batch_rate": n / batch, "one_p50": statistics.median(times),
            "one_p95": sorted(times)[max(0, int(len(times) * 0.95) - 1)], "one_rate": len(times) / (sum(times) / 1000)}


def bench_verify(ws) -> dict:
    """integrity.verify.verify on the whole workspace (archive, manifests, journal chain, index)."""
    from qms.integrity.verify import verify
    t = time.perf_counter()
    report = verify(ws)
    secs = time.perf_counter() - t
    if not report.ok:
        raise SystemExit(f"verify failed: {[str(p) for p in report.problems][:5]}")
    return {"secs": secs, "files": report.files, "entries": report.audit_entries}


def bench_storage(n: int, one_by_one: int, base: Path, cluster_url) -> dict:
    """Filing and verify on the embedded default and on PostgreSQL, one after the other."""
    import os
    os.environ.setdefault("QMS_KEY_DIR", str(base / "keys"))         # keep the bench's keys out of ~
    os.environ.setdefault("QMS_CONFIG_HOME", str(base / "config"))
    out = {}
    for name, url in (("embedded", None), ("postgresql", cluster_url())):
        ws = _workspace(base / f"ws-{name}", url)
        tmp = base / f"data-{name}"
        tmp.mkdir()
        f = bench_filing(ws, n, one_by_one, tmp)
        print(f"[{name}] filed {n} in batches in {f['batch_s']:.1f} s = {f['batch_rate']:.0f} records/s; "
              f"{one_by_one} one by one: p50 {f['one_p50']:.0f} ms, p95 {f['one_p95']:.0f} ms "
              f"({f['one_rate']:.1f}/s)", flush=True)
        v = bench_verify(ws)
        print(f"[{name}] verify: {v['secs']:.1f} s ({v['files']} files, {v['entries']} journal entries)", flush=True)
        out[name] = {**f, "verify": v}
    print("\n| measure | embedded (SQLite + whoosh) | PostgreSQL 15 |\n|---|---|---|")
    e, p = out["embedded"], out["postgresql"]
    rows = [(f"filing {n} in batches of 2,000 (records/s)", "batch_rate", "{:.0f}"),
            ("… wall time (s)", "batch_s", "{:.1f}"),
            (f"file_record one by one, {one_by_one} (p50 ms)", "one_p50", "{:.0f}"),
            ("… p95 ms", "one_p95", "{:.0f}"),
            ("… records/s", "one_rate", "{:.1f}")]
    for label, key, fmt in rows:
        print(f"| {label} | {fmt.format(e[key])} | {fmt.format(p[key])} |")
    print(f"| verify (s) | {e['verify']['secs']:.1f} | {p['verify']['secs']:.1f} |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--database", help="postgresql://… (default: a throw-away cluster)")
    ap.add_argument("--dir", type=Path, help="where the whoosh index and workspaces go (default: a temporary folder)")
    ap.add_argument("--one-by-one", type=int, default=200, help="records filed one at a time via file_record")
    ap.add_argument("--skip-search", action="store_true", help="only filing and verify")
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
        if not args.skip_search:
            bench_search(docs, queries, base, url)
        start()                                  # the subscribers: index on commit, as qms runs
        databases = iter(range(100))
        bench_storage(args.n, args.one_by_one, base,
                      lambda: cluster.create_database(f"ws{next(databases)}") if cluster else args.database)
    finally:
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""KPI computation time over a year of N records per KPI (issue 24): ≤ 1 s at 100,000.

The catalog is filled by the projection itself (record.file events carrying their field values,
applied in one transaction, as `qms rebuild` would), not by a shortcut: N 售后服务通知单, N linked
现场服务报告 and N 服务电话记录 of one year. Measured: each shipped KPI (count, share with a
filter, share, the linked duration) computed from the catalog, median of 5 runs; the floor
beside it is one bare SELECT of the same rows (what reading them costs at all).

    python -m bench.kpi --records 10000 --records 100000
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


def fill(ws, n: int, seed: int = 24) -> None:
    from qms.store import projection
    from qms.store.journal_entry import AuditEntry
    from qms.store.catalog import open_catalog
    rng = random.Random(seed)
    at = "2026-12-31T12:00:00+00:00"
    events = []
    seq = 0

    def event(form, number, day, fields, i):
        nonlocal seq
        seq += 1
        return AuditEntry(seq=seq, at=at, actor="bench", action="record.file", target=number, data={
            "form": form, "record_date": day, "status": "filed", "version": 1, "folder": f"archive/x/{number}",
            "seq": i, "sequence": f"{form}-2026", "retention_until": "2031-12-31",
            "customer": fields.get("customer", ""), "fields": fields})

    for i in range(1, n + 1):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(365))
        t = dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.choice([0, 15, 30, 45])))
        notice = f"QR-SV-022-01-2026-{i:06d}"
        customer = rng.choice(CUSTOMERS)
        events.append(event("QR-SV-022-01", notice, day.isoformat(), {
            "notice_date": day.isoformat(), "notice_time": t.isoformat(timespec="minutes"), "customer": customer,
            "product": rng.choice(PRODUCTS), "service_type": rng.choice(["维修", "维修", "安装调试"]),
            "problem": sentence(rng, 2), "engineers": name(rng)}, i))
        arrival = t + dt.timedelta(hours=rng.randint(2, 40))
        report = {"service_date": arrival.date().isoformat(), "notice_no": notice, "customer": customer,
                  "product": rng.choice(PRODUCTS), "service_type": rng.choice(["维修", "维修", "安装调试"]),
                  "fault": sentence(rng, 2), "work_done": sentence(rng, 3), "engineer": name(rng),
                  "first_fix": rng.choice(["是", "是", "是", "否"]), "evaluation": rng.choice(["满意", "基本满意", "不满意"])}
        if rng.random() > 0.03:
            report["arrival_time"] = arrival.isoformat(timespec="minutes")
        events.append(event("QR-SV-022-02", f"QR-SV-022-02-2026-{i:06d}", min(arrival.date(), dt.date(2026, 12, 31)).isoformat(),
                            report, i))
        events.append(event("QR-SV-022-04", f"QR-SV-022-04-2026-{i:06d}", day.isoformat(), {
            "call_date": day.isoformat(), "customer": customer, "content": sentence(rng, 2), "handler": name(rng)}, i))
    cat = open_catalog(ws.catalog_path)
    with cat.transaction():
        for e in events:
            projection.apply(cat, e)
    cat.close()


def measure(ws, runs: int = 5) -> list[tuple[str, float, int]]:
    from qms.store.catalog import reading
    from qms.kpi.compute import compute
    from qms.kpi.definition import load_kpis
    out = []
    for k in load_kpis(ws):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            with reading(ws) as cat:
                s = compute(cat, k)
            times.append(time.perf_counter() - t0)
        out.append((k.title, statistics.median(times), sum(c.n for c in s.cells)))
    return out


def floor(ws, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        conn = sqlite3.connect(ws.catalog_path)
        conn.execute("SELECT number, record_date FROM records WHERE form='QR-SV-022-02'").fetchall()
        conn.close()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, action="append", help="records per form (repeatable)")
    args = ap.parse_args()
    from qms.store.workspace import init_workspace
    print("| records per KPI | KPI | records counted | median compute | floor: bare SELECT of the reports' numbers and dates |")
    print("|---|---|---|---|---|")
    for n in args.records or [10000, 100000]:
        tmp = Path(tempfile.mkdtemp(prefix="qms-bench-kpi-"))
        try:
            ws = init_workspace(tmp / "ws")
            t0 = time.perf_counter()
            fill(ws, n)
            filled = time.perf_counter() - t0
            fl = floor(ws)
            for title, took, counted in measure(ws):
                print(f"| {n:,} | {title} | {counted:,} | {took * 1000:,.0f} ms | {fl * 1000:,.0f} ms |")
            print(f"| {n:,} | (projection of {3 * n:,} record.file events, one transaction) | | {filled:,.1f} s | |")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

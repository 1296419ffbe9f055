"""Web bench: the search page and a record page under 20 concurrent clients, beside the library.

A workspace of N records (QR-SV-022-04, written through qms's own write path as bench.archive_ops
does: folders, manifests, catalog, journal, index) is served by `qms serve` on 127.0.0.1 (a free
port). An auditor logs in; C clients (asyncio + httpx, one process) request pages in a bounded
loop for S seconds (and at most --max-requests in all), then the same searches and record reads
run through the library in one process (index kept open, as the server keeps it per thread).
Figures: requests/s, median and p95 latency.

    python -m bench.web --records 10000 [--clients 20 --seconds 30 --workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import median, p95, print_table

QUERIES = ["排气温度", "温控阀", "华东", "压缩机", "主电机过载", "润滑油乳化", "保养", "XK-200", "冷却风扇",
           "用户要求上门保养", "备件 价格", "投诉", "培训", "验证资料", "满意度"]
PASSWORD = "bench-pass-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(root: Path, n: int):
    from bench.archive_ops import generate
    from qms.identity.users import add_user, find_user
    from qms.store.workspace import init_workspace
    ws = init_workspace(root)
    from qms.integrity.workspace_setup import init_admin
    init_admin(ws, "admin", name="管理员", password=PASSWORD)
    add_user(ws, "auditor", name="审核员", roles=["auditor"], password=PASSWORD, actor=find_user(ws, "admin"))
    generate(ws, n, year=2026)
    return ws


async def _load(base: str, paths: list[str], clients: int, seconds: float, max_requests: int) -> tuple:
    import httpx
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        r = await c.post("/api/login", json={"login": "auditor", "password": PASSWORD})
        r.raise_for_status()
        cookies = dict(c.cookies)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    budget = [max_requests]

    async def client(k: int):
        nonlocal errors
        rng = random.Random(k)
        async with httpx.AsyncClient(base_url=base, timeout=30, cookies=cookies) as c:
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                start = time.perf_counter()
                r = await c.get(rng.choice(paths))
                latencies.append(time.perf_counter() - start)
                if r.status_code != 200:
                    errors += 1
    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return latencies, errors, time.perf_counter() - start


def library(ws, numbers: list[str], rounds: int = 200) -> tuple[list[float], list[float]]:
    """The same calls the pages make, in one process; a fresh SearchIndex each round so a total is
    counted anew (the server keeps counts per index generation: paging reuses them)."""
    from qms import records
    from qms.search import SearchIndex
    from qms.search import search_page
    ix = SearchIndex(ws.index_dir)
    rng = random.Random(1)
    s, r = [], []
    for i in range(rounds):
        q = QUERIES[i % len(QUERIES)]
        ix._counts.clear()
        t = time.perf_counter()
        search_page(ws, q, limit=20, index=ix)
        s.append(time.perf_counter() - t)
        t = time.perf_counter()
        records.show(ws, rng.choice(numbers))
        r.append(time.perf_counter() - t)
    return s, r


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--max-requests", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qms-bench-web-") as tmp:
        root = Path(tmp) / "ws"
        t = time.perf_counter()
        ws = build(root, args.records)
        print(f"built {args.records} records in {time.perf_counter() - t:.1f} s", flush=True)
        from qms.records import list_records
        numbers = [r["number"] for r in list_records(ws)]
        lib_search, lib_record = library(ws, numbers)
        port = _free_port()
        env = {**os.environ, "QMS_CONFIG_HOME": str(Path(tmp) / "config")}
        server = subprocess.Popen([str(Path(sys.executable).with_name("qms")), "-w", str(root), "serve",
                                   "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            import httpx
            for _ in range(200):
                try:
                    httpx.get(base + "/login", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            rng = random.Random(3)
            rows = []
            for label, paths in (("search page", [f"/search?q={q}" for q in QUERIES]),
                                 ("record page", [f"/records/{rng.choice(numbers)}" for _ in range(500)])):
                asyncio.run(_load(base, paths[:3], 2, 2, 50))        # warm every worker thread's index
                lib = lib_search if label == "search page" else lib_record
                # one client: what a request costs over the library; then C clients: what the server sustains
                for clients, seconds in ((1, min(10.0, args.seconds)), (args.clients, args.seconds)):
                    lat, errors, took = asyncio.run(_load(base, paths, clients, seconds, args.max_requests))
                    rows.append([label, clients, len(lat), f"{len(lat) / took:.0f}/s", ms(median(lat)), ms(p95(lat)),
                                 errors, ms(median(lib)), ms(p95(lib)), f"{median(lat) / median(lib):.1f}×"])
            print_table(f"web: {args.records} records, {args.seconds:.0f} s per run, {args.workers} worker(s), "
                        f"127.0.0.1 (library: search_page with its total / records.show, one process)",
                        ["page", "clients", "requests", "rate", "median", "p95", "errors", "library median",
                         "library p95", "web/library"], rows)
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()

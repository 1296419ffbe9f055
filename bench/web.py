"""Web bench (issue 21): every page an auditor opens, at N records, 1 and 20 clients, beside a
static file served by the same `qms serve` in the same run and the same library call in process.

A workspace of N records (QR-SV-022-04, written through qms's own write path in batches of 2,000
without PDFs, as bench.archive_ops does: folders, manifests, catalog, journal, one bulk index
build) is served by `qms serve` on 127.0.0.1 (a free port; its default worker count unless
--workers). `--keep DIR` keeps the workspace in DIR and reuses it when it already holds N records
(generating 100,000 takes minutes; a run on it then starts at once).

For each page, C clients (asyncio + httpx in this process; each keeps its connection, as a
browser does) request it in a loop for S seconds (at most --max-requests); every fourth request of
each client is the static stylesheet (its hashed URL), timed apart: the static p95 of the same
run. Then the page's library call runs in this process (the index kept open, as a worker keeps it).
Figures: requests/s, p50 and p95 of the page, the static file's p95, the library's p50/p95, the
load average before and after.

    python -m bench.web --records 10000 [--clients 1,20 --seconds 15 --workers N --keep DIR]
    python -m bench.web --records 100000 --keep /var/tmp/qms-web-100k      # the lead, idle machine
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import shutil
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
YEAR = 2026
PAGES = ["search", "search-uncached", "api-search", "records", "record", "documents", "log", "login"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def number(i: int) -> str:
    return f"QR-SV-022-04-{YEAR}-{i:06d}"       # as bench.archive_ops.generate names them


def build(root: Path, n: int):
    """A workspace of N records with an admin and an auditor (password PASSWORD)."""
    from bench.archive_ops import generate
    from qms.identity.users import add_user, find_user
    from qms.integrity.workspace_setup import init_admin
    from qms.store.workspace import init_workspace
    ws = init_workspace(root)
    init_admin(ws, "admin", name="管理员", password=PASSWORD)
    add_user(ws, "auditor", name="审核员", roles=["auditor"], password=PASSWORD, actor=find_user(ws, "admin"))
    generate(ws, n, year=YEAR)
    return ws


def workspace(n: int, keep: Path | None, tmp: Path):
    """The bench workspace: reused from --keep when it holds N records, else generated."""
    from qms.store.workspace import open_workspace
    base = keep or tmp
    base.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QMS_KEY_DIR", str(base / "keys"))       # the secrets' MAC key, kept with it
    os.environ["QMS_CONFIG_HOME"] = str(base / "config")
    root, marker = base / "ws", base / "bench-web.json"
    if keep and marker.exists() and json.loads(marker.read_text()).get("records") == n and root.exists():
        print(f"reusing {n} records in {root}", flush=True)
        return open_workspace(root)
    if root.exists():
        shutil.rmtree(root)
    marker.unlink(missing_ok=True)
    t = time.perf_counter()
    ws = build(root, n)
    took = time.perf_counter() - t
    marker.write_text(json.dumps({"records": n, "built_s": round(took, 1), "on": dt.date.today().isoformat()}))
    print(f"built {n} records in {took:.1f} s ({n / took:.0f}/s)", flush=True)
    return ws


def library_calls(ws, n: int) -> dict:
    """What each page calls, in this process (kept in step with the routes by hand)."""
    from qms import documents, records
    from qms.domain import trail
    from qms.domain.policy import load_policy
    from qms.identity.passwords import check_password, hash_password
    from qms.search import SearchIndex, search_page
    ix = SearchIndex(ws.index_dir)
    rng = random.Random(5)
    pairs = word_pairs(3000, seed=time.time_ns() + 1)    # others than the server's: ranked and counted afresh
    policy = load_policy(ws)
    stored = hash_password(policy, PASSWORD)

    def record_list():
        return records.list_page(ws, limit=50)          # /records: one page of 50, newest first, in SQL
    return {
        "search": lambda: search_page(ws, rng.choice(QUERIES), limit=20, index=ix),
        "search-uncached": lambda: search_page(ws, " ".join(rng.choice(pairs)), limit=20, index=ix),
        "api-search": lambda: search_page(ws, rng.choice(QUERIES), limit=20, index=ix),
        "records": record_list,
        "record": lambda: records.show(ws, number(rng.randint(1, n))),
        "documents": lambda: documents.document_page(ws, limit=100),
        "log": lambda: trail.trail_page(ws, limit=50),
        "login": lambda: check_password(policy, stored, PASSWORD),          # one argon2 verification
    }


def time_library(fn, seconds: float = 5.0, rounds: int = 60) -> list[float]:
    out: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(out) < rounds and (len(out) < 3 or time.perf_counter() < deadline):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def word_pairs(n: int, seed: int = 4) -> list[tuple[str, str]]:
    """N pairs of the 2–4 character words in the generated records (bench.common's vocabulary)."""
    from bench.common import CUSTOMERS, PHRASES, PRODUCTS
    words = sorted({run[i:i + k] for text in CUSTOMERS + PRODUCTS + PHRASES
                    for run in re.findall(r"[\u4e00-\u9fff]+", text) for k in (2, 3, 4) for i in range(len(run) - k + 1)})
    rng = random.Random(seed)
    return [tuple(rng.sample(words, 2)) for _ in range(n)]


def requests_for(page: str, n: int) -> list[tuple[str, str]]:
    """(method, path) of one page kind; a login posts the auditor's password."""
    rng = random.Random(3)
    if page == "search":
        return [("GET", f"/search?q={q}") for q in QUERIES]
    if page == "search-uncached":
        # two words a person might type together (the customers', products' and faults' words of the
        # generated records), 20,000 pairs drawn afresh each run: nearly every request a query no
        # one asked before (in this run or an earlier one, whose totals are kept beside the index),
        # so neither the ranked pages nor the totals answer: ranking and counting show
        return [("GET", f"/search?q={a}+{b}") for a, b in word_pairs(20000, seed=time.time_ns())]
    if page == "api-search":
        return [("GET", f"/api/search?q={q}&limit=20") for q in QUERIES]
    if page == "records":
        return [("GET", "/records")]
    if page == "record":
        return [("GET", f"/records/{number(rng.randint(1, n))}") for _ in range(500)]
    if page == "documents":
        return [("GET", "/documents")]
    if page == "log":
        return [("GET", "/log")]
    if page == "login":
        return [("POST", "/api/login")]
    raise ValueError(page)


async def _load(base: str, cookies: dict, static: str, reqs: list, clients: int, seconds: float,
                max_requests: int) -> tuple:
    import httpx
    pages: list[float] = []
    statics: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    budget = [max_requests]

    async def client(k: int):
        nonlocal errors
        rng = random.Random(k)
        async with httpx.AsyncClient(base_url=base, timeout=60, cookies=cookies) as c:
            i = 0
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                i += 1
                if i % 4 == 0:
                    t = time.perf_counter()
                    r = await c.get(static)
                    statics.append(time.perf_counter() - t)
                    errors += r.status_code != 200
                    continue
                method, path = rng.choice(reqs)
                t = time.perf_counter()
                if method == "POST":
                    r = await c.post(path, json={"login": "auditor", "password": PASSWORD})
                else:
                    r = await c.get(path)
                pages.append(time.perf_counter() - t)
                errors += r.status_code != 200
    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return pages, statics, errors, time.perf_counter() - start


def ms(x: float) -> str:
    if x != x:                      # no sample (a slow page: a client made fewer than four requests)
        return "-"
    return f"{x * 1000:.0f} ms" if x >= 0.1 else f"{x * 1000:.1f} ms"


def serve(root: Path, workers: int | None):
    port = _free_port()
    log = open(root.parent / "serve.log", "w")
    args = [str(Path(sys.executable).with_name("qms")), "-w", str(root), "serve", "--host", "127.0.0.1",
            "--port", str(port)] + (["--workers", str(workers)] if workers else [])
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    import httpx
    for _ in range(600):
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        proc.terminate()
        raise SystemExit("qms serve did not answer: " + (root.parent / "serve.log").read_text()[-2000:])
    return proc, base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--clients", default="1,20", help="comma-separated client counts (default 1,20)")
    ap.add_argument("--seconds", type=float, default=15, help="per page and client count")
    ap.add_argument("--workers", type=int, default=None, help="qms serve --workers (default: its own)")
    ap.add_argument("--max-requests", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="keep the generated workspace here and reuse it next time")
    ap.add_argument("--only", default=",".join(PAGES), help=f"pages to measure (of {','.join(PAGES)})")
    args = ap.parse_args()
    pages = [p for p in args.only.split(",") if p]
    clients = [int(c) for c in args.clients.split(",")]
    with tempfile.TemporaryDirectory(prefix="qms-bench-web-") as tmp:
        ws = workspace(args.records, args.keep.resolve() if args.keep else None, Path(tmp))
        import httpx
        from qms.cli.admin import default_workers
        proc, base = serve(ws.root, args.workers)
        try:
            r = httpx.post(base + "/api/login", json={"login": "auditor", "password": PASSWORD}, timeout=60)
            r.raise_for_status()
            cookies = dict(r.cookies)
            html = httpx.get(base + "/search", cookies=cookies, timeout=60).text
            static = re.search(r'href="(/static/app\.css[^"]*)"', html).group(1)
            lib = library_calls(ws, args.records)
            load_before = os.getloadavg()
            rows = []
            for page in pages:
                reqs = requests_for(page, args.records)
                asyncio.run(_load(base, cookies, static, reqs, 4, 2, 40))       # warm every worker
                runs = []
                for c in clients:
                    runs.append((c, asyncio.run(_load(base, cookies, static, reqs, c, args.seconds,
                                                      args.max_requests))))
                libt = time_library(lib[page])                                # in process, same run
                for c, (lat, st, errors, took) in runs:
                    rows.append([page, c, len(lat), f"{len(lat) / took:.0f}/s", ms(median(lat)), ms(p95(lat)),
                                 errors, ms(p95(st)), f"{p95(lat) / p95(st):.1f}×" if st else "-", ms(median(libt)),
                                 ms(p95(libt))])
                print(f"  {page}: done", flush=True)
            load_after = os.getloadavg()
            workers = args.workers or default_workers()
            print_table(f"web: {args.records:,} records, {args.seconds:.0f} s per run, {workers} worker(s), "
                        f"{dt.datetime.now():%Y-%m-%d %H:%M}, load {load_before[0]:.1f} → {load_after[0]:.1f} "
                        f"(1 min), {os.cpu_count()} cores",
                        ["page", "clients", "requests", "rate", "p50", "p95", "errors", "static p95",
                         "p95/static", "library p50", "library p95"], rows)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()

"""Search benchmark: qms SearchIndex vs bare whoosh vs SQLite FTS5 (trigram).

Generates N synthetic records (300-800 Chinese characters each, sentences recombined
from the seed procedures plus generated names, customers, models and dates; nothing
is written to the repository), rebuilds the qms index (procs=1: one writer; procs=2:
two processes writing one segment each), times a fixed query set with no filter, a
1-year and a 1-month date filter and a form filter, then the same parsed queries on
whoosh's own search (BM25 over every match) and the same data in SQLite FTS5 with
the trigram tokenizer.

    cd /work/main && PYTHONPATH=src .venv/bin/python bench/search.py --n 100000
    (--procs 2,1  --limitmb 256  --dir /tmp/qms-bench  --skip-build  --no-fts  --per-query)
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from qms.search import IndexDoc, SearchIndex, parse_query
from qms.search.ranking import rank

SEEDS = Path(__file__).resolve().parents[1] / "tests" / "data" / "service-procedures.txt"   # the seed text, in the repo

FORMS = [
    ("QR-SV-022-01", "售后服务通知单"), ("QR-SV-022-02", "产品服务信息记录表"),
    ("QR-SV-022-03", "服务电话记录"), ("QR-SV-022-04", "服务传真记录"),
    ("QR-SV-022-05", "现场服务报告"), ("QR-SV-022-06", "用户投诉处理记录"),
    ("QR-SV-022-07", "顾客满意度调查表"), ("QR-SV-022-08", "返厂维修记录"),
]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = ["建国", "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳",
         "杰", "涛", "明", "超", "秀英", "华", "平", "刚", "桂英", "志强", "海燕", "建华",
         "晓东", "文博", "子涵", "雨轩", "俊杰"]
CITIES = ["北京", "上海", "深圳", "武汉", "成都", "西安", "沈阳", "南京", "杭州", "青岛",
          "长沙", "郑州", "昆明", "兰州", "大连", "厦门", "合肥", "太原", "宁波", "苏州"]
WORDS = ["华远", "中兴", "海纳", "天成", "新元", "博通", "东方", "恒达", "瑞丰", "精工",
         "宏图", "明德", "鼎力", "联创", "卓越", "安泰", "金桥", "远航", "正和", "同心"]
SUFFIX = ["有限公司", "股份有限公司", "研究所", "医院", "设备厂"]
MODELS = [f"{p}-{n}" for p in ("XK", "YT", "ZR", "HB", "QS") for n in range(100, 1000, 50)]
CN_DIGITS = "〇一二三四五六七八九"


def seed_sentences() -> list[str]:
    text = SEEDS.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")
             and ln.strip() != "----"]
    parts = re.split(r"(?<=[。；;！？])|\n", "\n".join(lines))
    return [p.strip() for p in parts if len(p.strip()) >= 6]


def make_people(rng: random.Random, count: int = 600) -> list[str]:
    names = set()
    while len(names) < count:
        names.add(rng.choice(SURNAMES) + rng.choice(GIVEN))
    return sorted(names)


def make_records(n: int, seed: int = 20260313) -> list[IndexDoc]:
    rng = random.Random(seed)
    sentences = seed_sentences()
    people = make_people(rng)
    customers = sorted({rng.choice(CITIES) + rng.choice(WORDS) + rng.choice(SUFFIX)
                        for _ in range(600)})
    start = datetime.date(2020, 1, 1).toordinal()
    end = datetime.date(2026, 12, 31).toordinal()
    seq: dict[tuple[str, int], int] = {}
    docs = []
    for i in range(n):
        day = datetime.date.fromordinal(rng.randint(start, end))
        if i % 33 == 0:
            kind = "doc"
            form = ""
            number = f"QP-{rng.choice(['SC', 'SV', 'QA', 'PD'])}-{i // 33:05d}"
            title = rng.choice(["服务过程控制程序", "客户投诉处理程序", "返厂维修实施细则",
                                "技术服务管理办法", "售后服务管理规定"])
        else:
            kind = "record"
            form, title = rng.choice(FORMS)
            k = (form, day.year)
            seq[k] = seq.get(k, 0) + 1
            number = f"{form}-{day.year}-{seq[k]:05d}"
        customer = rng.choice(customers)
        model = rng.choice(MODELS)
        who = rng.sample(people, rng.randint(1, 3))
        head = (f"客户：{customer}\n产品型号：{model}\n服务工程师：{'、'.join(who)}\n"
                f"服务日期：{day.year}年{day.month:02d}月{day.day:02d}日\n")
        target = rng.randint(300, 800)
        body = [head]
        size = len(head)
        while size < target:
            s = rng.choice(sentences)
            body.append(s)
            size += len(s)
        text = "".join(body)[:target]
        docs.append(IndexDoc(number=number, kind=kind, title=title, text=text, form=form,
                             department="客户服务中心", customer=customer, people=who,
                             date=day, status=rng.choice(["filed", "filed", "filed", "draft"])))
    return docs


def make_queries(docs: list[IndexDoc]) -> list[str]:
    """The fixed query set; names and numbers are picked from the generated data."""
    names = sorted({p for d in docs[:2000] for p in d.people})
    three = [n for n in names if len(n) == 3]
    two = [n for n in names if len(n) == 2]
    doc_number = next(d.number for d in docs[1000:] if d.kind == "doc")
    record_number = docs[len(docs) // 2].number
    return [
        # 1-4 character Chinese words (one absent)
        "修", "单", "赵", "客户", "投诉", "维修", "备件", "培训", "工程师", "返厂",
        "记录表", "客户投诉", "售后服务", "技术服务", "用户走访", "质量信息", "量子纠缠",
        # names
        three[0], three[len(three) // 2], two[0], two[len(two) // 2],
        # phrases
        "服务过程控制程序", "产品服务信息记录表", "现场服务报告", "经用户签署姓名或加盖公章",
        "上述记录每年汇编成册", '"客户 投诉"',
        # mixed / ASCII / operators / fields / numbers
        "型号 XK-200", "XK-200", "ZR-450 维修", "华远 OR 中兴", "投诉 NOT 维修",
        "form:QR-SV-022-06 满意度", "customer:武汉", f"people:{two[-1]}",
        doc_number, record_number,
    ]


def timed(fn, repeat: int = 3) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def summarize(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"median {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  max {ms[-1]:6.1f} ms"


def du(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def bench_whoosh(docs, base: Path, procs: int, limitmb: int, skip_build: bool):
    path = base / f"whoosh-p{procs}"
    ix = SearchIndex(path)
    if not skip_build or not path.exists():
        t = time.perf_counter()
        n = ix.rebuild(iter(docs), procs=procs, limitmb=limitmb)
        secs = time.perf_counter() - t
        print(f"[whoosh procs={procs} limitmb={limitmb}] indexed {n} records in {secs:.1f} s "
              f"= {n / secs:.0f} records/s; size {du(path) / 1e6:.1f} MB", flush=True)
    else:
        print(f"[whoosh procs={procs}] reusing index, size {du(path) / 1e6:.1f} MB")
    return ix


def run_queries(ix: SearchIndex, queries, label: str, **filters):
    for q in queries:                          # warm-up: open searcher, OS cache
        ix.search(q, **filters)
    times = []
    per_query = {}
    for q in queries:
        ts = timed(lambda: ix.search(q, **filters))
        times.extend(ts)
        per_query[q] = (statistics.median(ts), len(ix.search(q, **filters)))
    print(f"  qms search() {label:18s} {summarize(times)}")
    return times, per_query


def run_bare(ix: SearchIndex, queries) -> tuple[list[float], list[float]]:
    """Whoosh's own search (TopCollector, BM25 over every match) on parsed queries,
    and our ranking alone (no parsing, no highlight) on the same query objects."""
    from whoosh import scoring
    searcher = ix._get_searcher()
    bare = searcher._ix.searcher(weighting=scoring.BM25F())
    parsed = [parse_query(q) for q in queries]
    for q in parsed:
        bare.search(q, limit=20)
        rank(searcher, q)
    whoosh_times, rank_times = [], []
    for q in parsed:
        whoosh_times.extend(timed(lambda: bare.search(q, limit=20)))
        rank_times.extend(timed(lambda: rank(searcher, q)))
    print(f"  bare whoosh  {'search(q, limit=20)':18s} {summarize(whoosh_times)}")
    print(f"  qms ranking  {'(parsed, no hl)':18s} {summarize(rank_times)}")
    bare.close()
    return whoosh_times, rank_times


_FTS_TOKEN = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z0-9][A-Za-z0-9-]*")


def fts_query(q: str):
    """Translate a bench query to FTS5: MATCH if every term has >= 3 chars, else LIKE."""
    q = re.sub(r"(form|customer|people):\S*\s*", lambda m: m.group(0).split(":", 1)[1]
               if not m.group(0).startswith("form:") else "", q)
    neg = None
    if " NOT " in q:
        q, neg = q.split(" NOT ", 1)
    if " OR " in q:
        terms = [t.strip() for t in q.split(" OR ")]
        if all(len(t) >= 3 for t in terms):
            return "match", " OR ".join(f'"{t}"' for t in terms)
        return "like-or", terms
    terms = _FTS_TOKEN.findall(q.replace('"', ""))
    if all(len(t) >= 3 for t in terms) and (neg is None or len(neg) >= 3):
        m = " AND ".join(f'"{t}"' for t in terms)
        if neg:
            m += f' NOT "{neg}"'
        return "match", m
    return "like", (terms, neg)


def bench_fts(docs, queries, base: Path):
    path = base / "fts5.sqlite"
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(number UNINDEXED, title, text, "
                "tokenize='trigram')")
    t = time.perf_counter()
    with con:
        con.executemany("INSERT INTO docs(number, title, text) VALUES (?, ?, ?)",
                        ((d.number, d.title, d.text) for d in docs))
    secs = time.perf_counter() - t
    print(f"[fts5 trigram] indexed {len(docs)} records in {secs:.1f} s = "
          f"{len(docs) / secs:.0f} records/s; size {path.stat().st_size / 1e6:.1f} MB")

    def run(q):
        how, arg = fts_query(q)
        if how == "match":
            return con.execute("SELECT number FROM docs WHERE docs MATCH ? ORDER BY rank "
                               "LIMIT 20", (arg,)).fetchall()
        if how == "like-or":
            where = " OR ".join("text LIKE ?" for _ in arg)
            return con.execute(f"SELECT number FROM docs WHERE {where} LIMIT 20",
                               [f"%{a}%" for a in arg]).fetchall()
        terms, neg = arg
        where = " AND ".join("text LIKE ?" for _ in terms)
        params = [f"%{a}%" for a in terms]
        if neg:
            where += " AND text NOT LIKE ?"
            params.append(f"%{neg}%")
        return con.execute(f"SELECT number FROM docs WHERE {where} LIMIT 20",
                           params).fetchall()

    for q in queries:
        run(q)
    times = {"match": [], "like": []}
    for q in queries:
        how = fts_query(q)[0]
        times["match" if how == "match" else "like"].extend(timed(lambda: run(q)))
    for k, v in times.items():
        if v:
            print(f"  fts5 {k:5s} ({len(v) // 3:2d} queries)      {summarize(v)}")
    print("  (trigram cannot index terms under 3 characters: those fall back to LIKE "
          "scans, unranked)")
    con.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--procs", default="2", help="comma-separated, e.g. 1,2")
    ap.add_argument("--limitmb", type=int, default=256)
    ap.add_argument("--dir", default="/tmp/qms-bench")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--no-fts", action="store_true")
    ap.add_argument("--per-query", action="store_true")
    args = ap.parse_args(argv)

    base = Path(args.dir) / str(args.n)
    base.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    docs = make_records(args.n)
    chars = sum(len(d.text) for d in docs)
    print(f"generated {len(docs)} records ({chars / len(docs):.0f} chars avg) in "
          f"{time.perf_counter() - t:.1f} s", flush=True)

    year = dict(date_from=datetime.date(2024, 1, 1), date_to=datetime.date(2024, 12, 31))
    month = dict(date_from=datetime.date(2024, 3, 1), date_to=datetime.date(2024, 3, 31))
    queries = make_queries(docs)
    for procs in [int(p) for p in args.procs.split(",")]:
        ix = bench_whoosh(docs, base, procs, args.limitmb, args.skip_build)
        plain, per_query = run_queries(ix, queries, "no filter")
        run_queries(ix, queries, "date 1 year", **year)
        run_queries(ix, queries, "date 1 month", **month)
        run_queries(ix, queries, "form filter", form="QR-SV-022-05")
        bare, ranking = run_bare(ix, queries)
        print(f"  ratio qms search() / bare whoosh search (medians): "
              f"{statistics.median(plain) / statistics.median(bare):.2f}; "
              f"search() / own ranking: "
              f"{statistics.median(plain) / statistics.median(ranking):.2f}")
        if args.per_query:
            for q, (ms, hits) in per_query.items():
                print(f"    {ms:7.1f} ms  {hits:3d} hits  {q}")
        ix.close()
    if not args.no_fts:
        bench_fts(docs, queries, base)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Search totals (issue 21): exact up to the cap on a generated corpus, "at least the cap" beyond
it, counted once per index generation for every index object of the process."""

from __future__ import annotations

import datetime
import random

import pytest

from qms.base.errors import QmsError
from qms.search import IndexDoc, SearchIndex, totals
from qms.store.workspace import load_config

from conftest import REPO

WORDS = ["客户", "空气压缩机", "排气温度", "正常", "维修", "更换", "华东电力", "回访", "滤芯", "工程师"]


def corpus(n: int, seed: int = 21) -> list[IndexDoc]:
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        text = "，".join(rnd.sample(WORDS, rnd.randint(1, 4))) + f"。第{i}条"
        docs.append(IndexDoc(number=f"QR-T-{i:05d}", kind="record", form="QR-T", title="服务记录", text=text,
                             customer="", people=[], status="filed",
                             date=datetime.date(2025, 1, 1) + datetime.timedelta(days=i % 400)))
    return docs


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    docs = corpus(1500)
    ix = SearchIndex(tmp_path_factory.mktemp("totals") / "index")
    ix.rebuild(docs)
    yield ix, docs
    ix.close()


@pytest.mark.parametrize("word", ["客户", "空气压缩机", "滤芯", "华东电力", "压缩", "户"])
def test_totals_are_the_records_holding_the_query_up_to_the_cap(index, word):
    ix, docs = index
    holding = sum(word in d.text for d in docs)
    assert 0 < holding
    assert ix.total(word) == totals.Total(holding, True)                 # no cap: exact
    cap = 1000
    expected = totals.Total(holding, True) if holding <= cap else totals.Total(cap, False)
    assert ix.total(word, cap=cap) == expected
    assert ix.total(word, cap=holding) == totals.Total(holding, True)    # exactly at the cap is exact
    assert ix.total(word, cap=holding - 1) == totals.Total(holding - 1, False)


def test_a_common_word_beyond_the_cap_is_at_least_the_cap(index):
    ix, docs = index
    holding = sum("客户" in d.text for d in docs)
    assert holding > 100
    assert ix.total("客户", cap=100) == totals.Total(100, False)
    hits, total = ix.search_page("客户", limit=10)
    assert total == holding and len(hits) == 10                          # search_page stays exact


def test_a_repeated_query_is_counted_once_for_every_index_object(index):
    ix, _docs = index
    other = SearchIndex(ix.path)                  # another thread's index object, same folder
    before = totals.counted
    first = ix.total("维修 更换", cap=1000)
    assert totals.counted == before + 1
    assert other.total("维修  更换", cap=1000) == first                  # spacing normalised
    ix.search("维修 更换", limit=20)                                     # ranking never counts
    assert totals.counted == before + 1
    assert ix.total("维修 更换", status="filed", cap=1000) == first      # other filters: counted again
    assert totals.counted == before + 2
    assert ix.search_page("维修 更换", limit=5, offset=5)[1] == first.n   # exact (no cap): once more
    other.search_page("维修 更换", limit=5, offset=10)
    assert totals.counted == before + 3
    other.close()


def test_a_new_generation_counts_again(tmp_path):
    ix = SearchIndex(tmp_path / "index")
    docs = corpus(40)
    ix.add(docs[:30])
    n = sum("客户" in d.text for d in docs[:30])
    assert ix.count("客户") == n
    ix.add(docs[30:])
    assert ix.count("客户") == sum("客户" in d.text for d in docs)
    ix.delete([d.number for d in docs if "客户" in d.text][:3])
    assert ix.count("客户") == sum("客户" in d.text for d in docs) - 3
    ix.close()


def test_the_cap_is_read_from_config_and_checked(tmp_path):
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    assert load_config(REPO / "config.yaml").search_count_cap == 1000
    for value, ok in (("50", True), ("0", False), ("many", False), ("2000000", False)):
        path = tmp_path / "config.yaml"
        path.write_text(text.replace("count_cap: 1000", f"count_cap: {value}"), encoding="utf-8")
        if ok:
            assert load_config(path).search_count_cap == int(value)
        else:
            with pytest.raises(QmsError, match="count_cap"):
                load_config(path)


def test_totals_are_kept_beside_the_index_for_other_processes(tmp_path):
    """A second process (another worker of qms serve) reads the total the first one counted; a new
    generation drops the old rows; the query itself is not written to the archive."""
    import sqlite3
    import subprocess
    import sys
    path = tmp_path / "archive" / "index"
    ix = SearchIndex(path)
    docs = corpus(200)
    ix.add(docs)
    first = ix.total("滤芯", cap=1000)
    store = totals.store_path(path)
    assert store == tmp_path / "archive" / "index.totals.sqlite" and store.exists()
    assert "滤芯".encode() not in store.read_bytes()
    probe = ("import sys; sys.path[:0] = %r; from qms.search import SearchIndex, totals; "
             "ix = SearchIndex(%r); t = ix.total('滤芯', cap=1000); print(t.n, t.exact, totals.counted)"
             % (sys.path, str(path)))
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(first.n), "True", "0"]               # the other process did not count
    ix.add(corpus(210)[200:])                                 # a new generation
    assert ix.total("滤芯", cap=1000).n == sum("滤芯" in d.text for d in corpus(210))
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT COUNT(DISTINCT generation) FROM totals").fetchone()[0] == 1
    ix.close()


def test_totals_on_a_generated_corpus_equal_the_records_containing_the_query(tmp_path):
    """Chinese of 1–4 characters, digits, a name: the total is the number of records whose text
    contains the query as a substring, exact up to the cap, and beyond it total_exact is false."""
    rnd = random.Random(7)
    names = ["王建国", "李明", "张建华", "陈晓东"]
    docs = []
    for i in range(2400):
        words = rnd.sample(WORDS, rnd.randint(1, 3)) + [rnd.choice(names)]
        text = "，".join(words) + f"。编号{rnd.randint(100, 999)}，机组{rnd.randint(1, 9)}号"
        docs.append(IndexDoc(number=f"QR-G-{i:05d}", kind="record", form="QR-G", title="", text=text,
                             customer="", people=[], status="filed",
                             date=datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 700)))
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(docs)
    cap = 1000
    for q in ["滤", "维修", "排气温", "空气压缩", "华东电力", "机组3号", "李明", "张建华", "5", "123",
              "维修 李明", "空气压缩 机组3号 回访", "滤 5", "客户 正常"]:
        holding = sum(all(w in d.text for w in q.split()) for d in docs)        # every word, anywhere
        assert holding > 0, q
        got = ix.total(q, cap=cap)
        assert got == (totals.Total(holding, True) if holding <= cap else totals.Total(cap, False)), q
    assert sum("机组" in d.text for d in docs) > cap and ix.total("机组", cap=cap).exact is False
    ix.close()


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_every_page_opened_directly_in_each_order(index, sort):
    """Pages of 20 opened by offset, in any order: together every match once, dates in order."""
    ix, docs = index
    holding = {d.number: d.date for d in docs if "滤芯" in d.text}
    assert 20 < len(holding) <= 1000
    pages = [ix.search("滤芯", limit=20, offset=o, sort=sort) for o in reversed(range(0, len(holding), 20))]
    seen = [h.number for page in reversed(pages) for h in page]
    assert len(seen) == len(set(seen)) and set(seen) == set(holding)
    dates = [holding[n] for n in seen]
    if sort == "newest":
        assert dates == sorted(dates, reverse=True)
    elif sort == "oldest":
        assert dates == sorted(dates)


def test_date_order_beyond_the_budget(index):
    """Every record holds 第 (more matches than the ranking's budget of 1,000): oldest first walks
    every match; newest first takes the index's newest-first layout (a rebuilt index: exact)."""
    ix, docs = index
    holding = sorted(d.date for d in docs if "第" in d.text)
    assert len(holding) == len(docs) > 1000
    oldest = ix.search("第", limit=30, sort="oldest")
    assert [datetime.date.fromisoformat(h.date) for h in oldest] == holding[:30]
    newest = ix.search("第", limit=30, sort="newest")
    assert [datetime.date.fromisoformat(h.date) for h in newest] == holding[::-1][:30]
    assert ix.total("第", cap=1000) == totals.Total(1000, False)


def generated(n: int = 2400) -> list[IndexDoc]:
    rnd = random.Random(11)
    return [IndexDoc(number=f"QR-W-{i:05d}", kind="record", form="QR-W", title="", customer="", people=[],
                     text="，".join(rnd.sample(WORDS, rnd.randint(1, 4))) + f"。机组{rnd.randint(1, 9)}号",
                     status="filed", date=datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 700))
            for i in range(n)]


def test_a_ranked_page_gives_its_total_without_counting_again(tmp_path, monkeypatch):
    """The page's ranking walks up to 1,000 matches; when they all fit (or there are more than the
    cap) that walk is the total: no second walk to count, and the same total a count gives."""
    from qms.search import index as index_module
    docs = generated()
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(docs)
    counts = []
    real = index_module.count
    monkeypatch.setattr(index_module, "count", lambda *a, **k: counts.append(a) or real(*a, **k))
    queries = {q: sum(all(w in d.text for w in q.split()) for d in docs)
               for q in ["回访 滤芯", "空气压缩机 正常", "客户", "维修 更换", "机组 号"]}
    assert min(queries.values()) > 20 and max(queries.values()) > 1000 > min(queries.values())
    for q, holding in queries.items():
        for cap in (holding - 1, holding, holding + 1, 1000):
            totals.forget()
            totals.store_path(ix.path).unlink(missing_ok=True)
            hits, _total = ix.search_page(q, limit=20)
            assert len(hits) == 20
            counts.clear()
            want = totals.Total(holding, True) if holding <= cap else totals.Total(cap, False)
            assert ix.total(q, cap=cap) == want, (q, cap)
            told = holding < 1000 or cap <= 1000           # the walk either saw every match or passed the cap
            assert (counts == []) == told, (q, cap)
    ix.close()


def test_words_joined_in_one_walk_rank_as_whoosh_would(tmp_path):
    """An AND of Chinese words is matched by one leapfrog over all their terms (matching.SeqAnd):
    the same documents, the same scores, in the same order as whoosh's own intersection."""
    from qms.search._whoosh import query as wq
    from qms.search.matching import SeqAnd
    from qms.search.query import parse_query
    from qms.search.ranking import count, rank
    docs = generated(600)
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(docs)
    searcher = ix._get_searcher()
    for text in ["回访 滤芯", "空气压缩机 正常 机组3号", "维修 华东电力", "户 滤", "压缩 缩机", "华东电力 xk"]:
        q = parse_query(text)
        assert type(q) is SeqAnd, text
        plain = wq.And(q.subqueries)
        ours, theirs = rank(searcher, q, limit=50), rank(searcher, plain, limit=50)
        assert [d for _, d in ours] == [d for _, d in theirs], text
        assert [round(s, 9) for s, _ in ours] == [round(s, 9) for s, _ in theirs], text
        holding = sum(all(w in d.text for w in text.split()) for d in docs)
        assert count(searcher, q) == count(searcher, plain) == holding, text
        # an AND weighed as a whole (boost) scores as whoosh's boosted And does
        boosted, theirs = rank(searcher, SeqAnd(q.subqueries, boost=2.5), limit=50), \
            rank(searcher, wq.And(q.subqueries, boost=2.5), limit=50)
        assert [(round(s, 9), d) for s, d in boosted] == [(round(s, 9), d) for s, d in theirs], text
    ix.close()

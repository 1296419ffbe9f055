"""Search index: Chinese substring semantics, query language, filters, rebuild.

The corpus is generated from the seed procedures (sentences sliced and recombined)
plus generated names, customers, models and dates, so the expected answers come
from plain `in` checks on text nobody tuned for the index.
"""

from __future__ import annotations

import datetime
import random
import re
import shutil
from pathlib import Path

import pytest

from qms.base.errors import QmsError
from qms.search import IndexDoc, SearchIndex

SEEDS = Path(__file__).parent / "data" / "service-procedures.txt"   # a copy of the shared seed text, in the repo

CJK = re.compile(r"[\u4e00-\u9fff]+")
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"
GIVEN = ["建国", "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "秀英", "志强", "海燕"]
CITIES = ["北京", "上海", "武汉", "成都", "西安", "沈阳", "南京", "杭州"]
FIRMS = ["华远", "中兴", "海纳", "天成", "博通", "恒达", "瑞丰", "精工"]
FORMS = [("QR-SV-022-01", "售后服务通知单"), ("QR-SV-022-02", "产品服务信息记录表"),
         ("QR-SV-022-05", "现场服务报告"), ("QR-SV-022-06", "用户投诉处理记录")]
N_RECORDS = 360


def _sentences() -> list[str]:
    text = SEEDS.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines()
             if ln.strip() and not ln.startswith("#") and ln.strip() != "----"]
    parts = re.split(r"(?<=[。；！？])|\n", "\n".join(lines))
    return [p.strip() for p in parts if len(p.strip()) >= 6]


def make_corpus(n: int = N_RECORDS, seed: int = 7) -> list[IndexDoc]:
    rng = random.Random(seed)
    sentences = _sentences()
    people = sorted({rng.choice(SURNAMES) + rng.choice(GIVEN) for _ in range(120)})
    start = datetime.date(2021, 1, 1).toordinal()
    seq: dict[tuple[str, int], int] = {}
    docs = []
    for i in range(n):
        day = datetime.date.fromordinal(start + rng.randint(0, 5 * 365))
        who = rng.sample(people, rng.randint(1, 3))
        customer = rng.choice(CITIES) + rng.choice(FIRMS) + "有限公司"
        model = f"{rng.choice(['XK', 'YT', 'ZR'])}-{rng.choice([100, 200, 300, 450])}"
        # Slices of seed sentences glued together: new junctions, unique phrases.
        pieces = []
        while sum(map(len, pieces)) < rng.randint(150, 400):
            s = rng.choice(sentences)
            a = rng.randint(0, len(s) // 2)
            pieces.append(s[a:a + rng.randint(8, 60)])
        body = (f"客户：{customer}\n产品型号：{model}\n服务工程师：{'、'.join(who)}\n"
                + "".join(pieces))
        if i % 40 == 0:
            number, kind, form = f"QP-SC-{i:03d}", "doc", ""
            title = rng.choice(["服务过程控制程序", "客户投诉处理程序", "返厂维修实施细则"])
        else:
            form, title = rng.choice(FORMS)
            kind = "record"
            seq[(form, day.year)] = seq.get((form, day.year), 0) + 1
            number = f"{form}-{day.year}-{seq[(form, day.year)]:04d}"
        docs.append(IndexDoc(number=number, kind=kind, title=title, text=body, form=form,
                             department="客户服务中心", customer=customer, people=who,
                             date=day, status=rng.choice(["filed", "draft"])))
    return docs


def segments(doc: IndexDoc) -> list[str]:
    """Every searchable string of a record; substrings never span two of them."""
    return [doc.title, doc.text, doc.form, doc.number, doc.customer, doc.department,
            *doc.people]


def containing(corpus, s: str) -> set[str]:
    return {d.number for d in corpus if any(s in seg for seg in segments(d))}


def numbers(hits) -> set[str]:
    return {h.number for h in hits}


ALL = 100_000  # limit that returns every hit


@pytest.fixture(scope="module")
def corpus() -> list[IndexDoc]:
    return make_corpus()


@pytest.fixture(scope="module")
def ix(corpus, tmp_path_factory) -> SearchIndex:
    index = SearchIndex(tmp_path_factory.mktemp("search") / "index")
    # Three batches: three writers, several segments, like an archive that grew.
    index.add(corpus[:100])
    with index.writer() as batch:
        for d in corpus[100:250]:
            batch.add(d)
    index.add(corpus[250:])
    yield index
    index.close()


def sample_substrings(corpus, count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        doc = rng.choice(corpus)
        runs = [r for seg in segments(doc) for r in CJK.findall(seg)]
        run = rng.choice(runs)
        size = 1 + len(out) % 4                          # 1, 2, 3, 4 characters
        if len(run) < size:
            continue
        a = rng.randint(0, len(run) - size)
        out.append(run[a:a + size])
    return out


# -- Chinese substring semantics -------------------------------------------

def test_every_substring_finds_exactly_the_records_containing_it(ix, corpus):
    queries = sample_substrings(corpus, 240)
    queries += ["鲸鱼", "量子纠缠", "飞", "控制程序客户投诉"]      # absent or rare
    wrong = []
    for q in queries:
        got = numbers(ix.search(q, limit=ALL))
        want = containing(corpus, q)
        if got != want:
            wrong.append((q, len(want), len(got), sorted(want ^ got)[:3]))
    assert not wrong, wrong[:5]


def test_a_phrase_unique_to_one_record_ranks_it_first(ix, corpus):
    rng = random.Random(3)
    found = 0
    for doc in rng.sample(corpus, 60):
        run = max(CJK.findall(doc.text), key=len)
        for a in range(0, max(1, len(run) - 8)):
            phrase = run[a:a + 8]
            if len(phrase) == 8 and containing(corpus, phrase) == {doc.number}:
                hits = ix.search(phrase)
                assert hits[0].number == doc.number
                assert f"<mark>{phrase}</mark>" in marked(hits[0])
                found += 1
                break
    assert found >= 10


def test_a_name_finds_exactly_the_records_that_contain_it(ix, corpus):
    names = sorted({p for d in corpus for p in d.people})[:15]
    for name in names:
        assert numbers(ix.search(name, limit=ALL)) == containing(corpus, name)
        in_people = {d.number for d in corpus if any(name in p for p in d.people)}
        assert numbers(ix.search(f"people:{name}", limit=ALL)) == in_people


def test_highlight_marks_the_match_in_a_short_passage(ix, corpus):
    hits = ix.search("客户投诉")
    assert hits
    for h in hits:
        assert "<mark>客户投诉</mark>" in marked(h)
        plain = "".join(text for text, _ in h.highlight).strip("…")
        assert len(plain) <= 120
    hit = ix.search("型号 XK-200")[0]
    assert "<mark>型号</mark>" in marked(hit) and "<mark>XK-200</mark>" in marked(hit)


def marked(hit) -> str:
    """The passage's (text, is_hit) spans written out with <mark> around the hits."""
    return "".join(f"<mark>{text}</mark>" if is_hit else text for text, is_hit in hit.highlight)


# -- query language -----------------------------------------------------------

def test_spaces_and_or_not_quotes(ix, corpus):
    a, b = containing(corpus, "维修"), containing(corpus, "培训")
    assert numbers(ix.search("维修 培训", limit=ALL)) == a & b
    assert numbers(ix.search("维修 AND 培训", limit=ALL)) == a & b
    assert numbers(ix.search("维修 OR 培训", limit=ALL)) == a | b
    assert numbers(ix.search("维修 NOT 培训", limit=ALL)) == a - b
    assert numbers(ix.search("维修 -培训", limit=ALL)) == a - b
    assert numbers(ix.search("维修 ANDNOT 培训", limit=ALL)) == a - b
    assert numbers(ix.search("(维修 OR 培训) NOT 顾客", limit=ALL)) == \
        (a | b) - containing(corpus, "顾客")
    # quotes: the words next to each other, spaces and punctuation ignored
    want = {d.number for d in corpus
            if any(re.search(r"服务[\W_]*工程师", s) for s in segments(d))}
    assert want
    assert numbers(ix.search('"服务 工程师"', limit=ALL)) == want
    assert numbers(ix.search('"服务工程师"', limit=ALL)) == containing(corpus, "服务工程师")


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", text,
                     re.IGNORECASE) is not None


def test_mixed_chinese_and_codes(ix, corpus):
    want = {d.number for d in corpus if "型号" in d.text and _has_word(d.text, "XK-200")}
    assert want
    assert numbers(ix.search("型号 XK-200", limit=ALL)) == want
    assert numbers(ix.search("xk-200", limit=ALL)) == \
        {d.number for d in corpus if _has_word(d.text, "XK-200")}
    # parts of a code are words too
    assert numbers(ix.search("XK", limit=ALL)) == \
        {d.number for d in corpus if _has_word(d.text, "XK")}
    assert numbers(ix.search("ZR*", limit=ALL)) == \
        {d.number for d in corpus if re.search(r"(?<![A-Za-z0-9])ZR", d.text)}
    quoted = {d.number for d in corpus if re.search(r"型号[\W_]*XK-200", d.text)}
    assert numbers(ix.search('"型号 XK-200"', limit=ALL)) == quoted


def test_field_queries(ix, corpus):
    assert numbers(ix.search("customer:武汉", limit=ALL)) == \
        {d.number for d in corpus if "武汉" in d.customer}
    assert numbers(ix.search("kind:doc", limit=ALL)) == \
        {d.number for d in corpus if d.kind == "doc"}
    assert numbers(ix.search("status:draft 维修", limit=ALL)) == \
        {d.number for d in corpus if d.status == "draft"} & containing(corpus, "维修")
    assert numbers(ix.search("form:QR-SV-022-05", limit=ALL)) == \
        {d.number for d in corpus if d.form == "QR-SV-022-05"}
    assert numbers(ix.search("title:投诉", limit=ALL)) == \
        {d.number for d in corpus if "投诉" in d.title}
    assert numbers(ix.search("department:服务中心", limit=ALL)) == {d.number for d in corpus}


def test_number_lookup_is_exact(ix, corpus):
    doc = corpus[137]
    hits = ix.search(f"number:{doc.number}")
    assert [h.number for h in hits] == [doc.number]
    assert ix.search(doc.number)[0].number == doc.number
    assert ix.search(doc.number.lower())[0].number == doc.number
    assert ix.search("number:QR-SV-022-01-1999-0001") == []


def test_filters_never_leak(ix, corpus):
    by_number = {d.number: d for d in corpus}
    for q in ["服务", "客户", "修", "XK-200", "维修 OR 培训"]:
        everything = numbers(ix.search(q, limit=ALL))
        hits = ix.search(q, form="QR-SV-022-06", limit=ALL)
        assert all(h.form == "QR-SV-022-06" for h in hits)
        assert numbers(hits) == {n for n in everything
                                 if by_number[n].form == "QR-SV-022-06"}
        lo, hi = datetime.date(2022, 3, 1), datetime.date(2023, 2, 28)
        hits = ix.search(q, date_from=lo, date_to=hi, limit=ALL)
        assert all(lo.isoformat() <= h.date <= hi.isoformat() for h in hits)
        assert numbers(hits) == {n for n in everything if lo <= by_number[n].date <= hi}
        only_from = ix.search(q, date_from=hi, limit=ALL)
        assert numbers(only_from) == {n for n in everything if by_number[n].date >= hi}
        docs = ix.search(q, kind="doc", limit=ALL)
        assert numbers(docs) == {n for n in everything if by_number[n].kind == "doc"}
    assert ix.search("服务", date_from=datetime.date(2030, 1, 1)) == []


def test_nothing_searchable_gives_no_hits(ix):
    for q in ["", "   ", "，。！", "NOT 客户"]:
        assert ix.search(q) == []


@pytest.mark.parametrize("bad", ['"客户投诉', "(维修 OR 培训", "维修 OR", "AND 维修",
                                 "form:", "维修 OR AND 培训", "维修)"])
def test_bad_query_syntax_is_a_clear_error(ix, bad):
    with pytest.raises(QmsError) as err:
        ix.search(bad)
    assert "search query" in str(err.value)


# -- maintenance ---------------------------------------------------------------

def test_numbers_lists_every_document_with_its_status(ix, corpus):
    assert ix.numbers() == {d.number: d.status for d in corpus}


def test_rebuild_from_scratch_gives_the_same_answers(ix, corpus, tmp_path):
    queries = sample_substrings(corpus, 40, seed=5) + ["型号 XK-200", "维修 NOT 培训"]
    before = {q: numbers(ix.search(q, limit=ALL)) for q in queries}
    path = tmp_path / "index"
    fresh = SearchIndex(path)
    fresh.add(corpus[:10])
    fresh.close()
    shutil.rmtree(path)                       # the folder is gone...
    fresh = SearchIndex(path)
    seen = []
    assert fresh.rebuild(reversed(corpus), progress=seen.append) == len(corpus)
    assert seen[-1] == len(corpus)
    assert {q: numbers(fresh.search(q, limit=ALL)) for q in queries} == before
    assert fresh.numbers() == ix.numbers()
    # two worker processes write one segment each: same answers again
    assert fresh.rebuild(iter(corpus), procs=2) == len(corpus)
    assert {q: numbers(fresh.search(q, limit=ALL)) for q in queries} == before
    fresh.close()


def test_a_failed_rebuild_leaves_the_old_index(tmp_path):
    docs = make_corpus(20, seed=5)
    index = SearchIndex(tmp_path / "ix")
    index.rebuild(docs)
    before = index.numbers()
    broken = docs[:5] + [IndexDoc(number=" ", kind="record", title="无编号", text="缺少编号")]
    with pytest.raises(QmsError):
        index.rebuild(broken)
    assert index.numbers() == before
    assert not (tmp_path / "ix.rebuild").exists()
    index.close()


def test_update_replaces_and_delete_removes(tmp_path):
    docs = make_corpus(30, seed=99)
    index = SearchIndex(tmp_path / "ix")
    index.add(docs)
    target = docs[4]
    # a phrase no other document holds, so its absence after the update can only mean it was replaced
    marked = IndexDoc(number=target.number, kind=target.kind, title=target.title,
                      text=target.text + "。旧版标记 ZQX-7731 钛合金", form=target.form, date=target.date)
    index.add([marked])
    assert numbers(index.search("ZQX-7731", limit=ALL)) == {target.number}
    changed = IndexDoc(number=target.number, kind=target.kind, title=target.title,
                       text="压缩机异响，已更换轴承。", form=target.form, date=target.date,
                       status="amended")
    index.add([changed])
    assert numbers(index.search("轴承")) == {target.number}
    assert numbers(index.search("ZQX-7731", limit=ALL)) == set()
    assert index.numbers()[target.number] == "amended"
    assert len(index.numbers()) == 30
    # the same number twice in one batch: the last one wins
    with index.writer() as batch:
        batch.add(IndexDoc(number="R-1", kind="record", title="甲", text="第一版内容"))
        batch.add(IndexDoc(number="R-1", kind="record", title="甲", text="第二版内容"))
        batch.delete(docs[0].number)
    assert numbers(index.search("第二版")) == {"R-1"}
    assert index.search("第一版") == []
    assert docs[0].number not in index.numbers()
    index.delete(["R-1"])
    assert index.search("第二版") == []
    # a failed batch leaves the index as it was
    with pytest.raises(RuntimeError):
        with index.writer() as batch:
            batch.add(IndexDoc(number="R-2", kind="record", title="乙", text="不应出现"))
            raise RuntimeError("boom")
    assert index.search("不应出现") == []
    index.close()


# -- digits, letters and Chinese written together (issue 18) -------------------

def _letters(i: int) -> str:
    out = ""
    for _ in range(3):
        i, r = divmod(i, 26)
        out += chr(ord("a") + r)
    return out


def owner_corpus(n: int = 240, seed: int = 18) -> list[IndexDoc]:
    """A property company's 业主需求登记表: rooms, phones and plates written without spaces."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        room = f"{rng.randint(1, 23)}栋{rng.randint(1, 4)}单元{rng.randint(1, 33):02d}{rng.randint(1, 4):02d}"
        phone = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        plate = "皖" + rng.choice("ABHK") + "".join(rng.choice("0123456789ABCDEFGH") for _ in range(5))
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        need = rng.choice(["停车", "维修", "保洁"])
        text = f"业主{name}，房号{room}，电话{phone}，车牌{plate}。需求：{need}"
        docs.append(IndexDoc(number="WY-" + _letters(i), kind="record", title="业主需求登记表", text=text,
                             form="WY-QR", customer=name, date=datetime.date(2026, 11, 1 + i % 28),
                             fields={"room": [room], "owner": [name], "phone": [phone], "category": [need]}))
    return docs


@pytest.fixture(scope="module")
def owners(tmp_path_factory):
    docs = owner_corpus()
    index = SearchIndex(tmp_path_factory.mktemp("owners") / "index")
    index.add(docs[:120])
    index.add(docs[120:])
    yield index, docs
    index.close()


def test_runs_of_digits_letters_and_chinese_match_as_substrings(owners):
    ix, docs = owners
    rng = random.Random(18)
    queries = set()
    while len(queries) < 200:
        doc = rng.choice(docs)
        run = rng.choice(re.findall(r"[0-9A-Za-z\u4e00-\u9fff]+", doc.text))
        size = rng.randint(1, min(8, len(run)))
        a = rng.randint(0, len(run) - size)
        q = run[a:a + size]
        if re.search(r"[0-9]", q):               # letters alone are words, not substrings
            queries.add(q)
    wrong = []
    for q in sorted(queries) + ["3729", "1栋", "3栋2单元", "皖a1", "9栋9单元"]:
        want = {d.number for d in docs if q.lower() in d.text.lower()}
        got = numbers(ix.search(q, limit=ALL))
        if got != want:
            wrong.append((q, sorted(want - got)[:3], sorted(got - want)[:3]))
    assert not wrong, wrong[:5]


def test_the_rooms_of_the_issue(tmp_path):
    ix = SearchIndex(tmp_path / "index")
    rooms = ["3栋2单元1502", "13栋2单元0801", "8栋2单元2704", "1栋1单元0101"]
    ix.add([IndexDoc(number=f"WY-{_letters(i)}", kind="record", title="业主需求登记表",
                     text=f"房号：{room}　联系电话：13951403729" if i == 0 else f"房号：{room}")
            for i, room in enumerate(rooms)])
    assert numbers(ix.search("3栋2单元", limit=ALL)) == {"WY-aaa", "WY-baa"}
    assert numbers(ix.search("1栋", limit=ALL)) == {"WY-daa"}
    assert numbers(ix.search("3729", limit=ALL)) == {"WY-aaa"}
    assert numbers(ix.search("2单元", limit=ALL)) == {"WY-aaa", "WY-baa", "WY-caa"}
    hit = ix.search("3729")[0]
    assert ("3729", True) in hit.highlight          # marked inside the number
    ix.close()


def test_a_form_field_query_looks_in_that_field_only(owners):
    from qms.search.schema import FieldMap
    ix, docs = owners
    fields = FieldMap((("房号", ("room",)), ("room", ("room",)), ("业主姓名", ("owner",)),
                       ("联系电话", ("phone",)), ("需求类别", ("category",))))
    rng = random.Random(7)
    for doc in rng.sample(docs, 15):
        room = doc.fields["room"][0]
        q = room[-4:]                             # 1502: also found in phones and plates
        want = {d.number for d in docs if q in d.fields["room"][0]}
        assert numbers(ix.search(f"房号：{q}", limit=ALL, fields=fields)) == want
        assert numbers(ix.search(f"room:{q}", limit=ALL, fields=fields)) == want
        assert want <= numbers(ix.search(q, limit=ALL))
        name = doc.fields["owner"][0]
        assert numbers(ix.search(f"业主姓名：{name}", limit=ALL, fields=fields)) == \
            {d.number for d in docs if name in d.fields["owner"][0]}
    assert numbers(ix.search("需求类别:停车 房号：1栋", limit=ALL, fields=fields)) == \
        {d.number for d in docs if d.fields["category"] == ["停车"] and "1栋" in d.fields["room"][0]}
    with pytest.raises(QmsError) as err:
        ix.search("业主：陈", fields=fields)
    assert "业主" in str(err.value) and "房号" in str(err.value)


def test_dates_are_found_as_people_write_them(tmp_path):
    ix = SearchIndex(tmp_path / "index")
    ix.add([IndexDoc(number="R-a", kind="record", title="登记", text="登记日期 2026-11-05"),
            IndexDoc(number="R-b", kind="record", title="登记", text="已于2026年11月5日上门查看"),
            IndexDoc(number="R-c", kind="record", title="登记", text="回访日期：2026/11/05。"),
            IndexDoc(number="R-d", kind="record", title="登记", text="登记日期 2026-11-15，2025年11月05日")])
    for q in ["2026年11月05日", "2026-11-05", "2026/11/5", "2026年11月5日", "2026.11.05"]:
        assert numbers(ix.search(q, limit=ALL)) == {"R-a", "R-b", "R-c"}, q
    assert numbers(ix.search("11月5日", limit=ALL)) == {"R-b"}          # as written, a substring
    hit = ix.search("2026-11-05 上门")[0]
    assert hit.number == "R-b" and ("2026年11月5日", True) in hit.highlight
    ix.close()


def test_a_word_of_letters_stays_whole_inside_a_run(tmp_path):
    ix = SearchIndex(tmp_path / "index")
    ix.add([IndexDoc(number="R-a", kind="record", title="记录", text="使用PLC控制，车牌皖AB123"),
            IndexDoc(number="R-b", kind="record", title="记录", text="PL 型号")])
    assert numbers(ix.search("PLC", limit=ALL)) == {"R-a"}           # a word glued to Chinese
    assert numbers(ix.search("使用plc", limit=ALL)) == {"R-a"}         # case ignored, as written
    assert numbers(ix.search("pl", limit=ALL)) == {"R-b"}             # a word, not the pl in PLC
    assert numbers(ix.search("AB", limit=ALL)) == {"R-a"}             # a part of AB123, as XK of XK200
    assert numbers(ix.search("皖AB1", limit=ALL)) == {"R-a"}
    ix.close()


def test_an_index_of_an_earlier_version_is_rebuilt_where_the_archive_is_at_hand(tmp_path, monkeypatch):
    import qms.search.index as index_module
    docs = owner_corpus(20)
    monkeypatch.setattr(index_module, "INDEX_VERSION", "qms-index-2")      # written by the qms before
    old = SearchIndex(tmp_path / "index")
    old.add(docs)
    old.close()
    monkeypatch.undo()
    with pytest.raises(QmsError) as err:                  # no archive to rebuild from: said so
        SearchIndex(tmp_path / "index").search("栋")
    assert "reindex" in str(err.value)
    again = SearchIndex(tmp_path / "index", rebuild_source=lambda: iter(docs))
    room = docs[3].fields["room"][0]
    assert docs[3].number in numbers(again.search(room, limit=ALL))
    assert again.rebuilt and not again.untrusted          # no problem for verify to report
    again.close()
    assert (tmp_path / "index" / "QMS_INDEX_VERSION").read_text().strip() == index_module.INDEX_VERSION


def test_a_commit_hashes_only_the_files_it_wrote_and_the_list_stays_exact(tmp_path, monkeypatch):
    from qms.search import hashlist
    index = SearchIndex(tmp_path / "ix")
    index.add(make_corpus(300, seed=5))
    before = {p.name: p.stat().st_ctime_ns for p in (tmp_path / "ix").iterdir()}
    hashed = []
    real = hashlist.sha256_file
    monkeypatch.setattr(hashlist, "sha256_file", lambda path: hashed.append(Path(path).name) or real(path))
    index.add(make_corpus(1, seed=6))                      # one filing's commit
    after = {p.name: p.stat().st_ctime_ns for p in (tmp_path / "ix").iterdir()}
    written = {n for n, c in after.items() if before.get(n) != c}
    kept = set(after) - written - {"MAIN_WRITELOCK"}
    assert kept, "the big segment of the first commit stays as it was"
    assert set(hashed) == written - {"MAIN_WRITELOCK"}
    assert hashlist.problem(tmp_path / "ix") is None
    # every digest in the list is the file's real digest, carried over or new
    for line in hashlist.list_path(tmp_path / "ix").read_text(encoding="utf-8").splitlines():
        digest, _, rest = line.partition("  ")
        assert digest == real(str(tmp_path / "ix" / rest.partition("  # ")[0]))


def test_a_kept_page_is_never_older_than_the_index_nor_another_querys(tmp_path):
    docs = make_corpus(60, seed=12)
    index = SearchIndex(tmp_path / "ix")
    index.add(docs)
    first = index.search("维修", limit=ALL)
    assert len(first) == 28
    assert numbers(index.search("维修", limit=ALL)) == numbers(first)        # asked again: the same page
    index.add([IndexDoc(number="R-NEW-1", kind="record", title="新记录", text="维修 新装 检查", date=datetime.date(2030, 1, 1))])
    assert "R-NEW-1" in numbers(index.search("维修", limit=ALL))           # a commit: ranked afresh
    other = SearchIndex(tmp_path / "ix")                                       # another thread's index object
    assert numbers(other.search("维修", limit=ALL)) == numbers(index.search("维修", limit=ALL))
    assert "R-NEW-1" not in numbers(index.search("维修", limit=ALL, date_to=datetime.date(2029, 12, 31)))
    assert numbers(index.search("维修", limit=1)) != numbers(index.search("维修", limit=ALL))
    index.delete(["R-NEW-1"])
    assert "R-NEW-1" not in numbers(index.search("维修", limit=ALL))

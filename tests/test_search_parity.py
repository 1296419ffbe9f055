"""Search on PostgreSQL answers as the embedded search does (issue 26): a generated corpus of
service records indexed into whoosh and into PostgreSQL through the same IndexDocs, then every
query of a list (and of a held-out list in tests/data) gives the same record numbers and the same
totals on both; for a run of Chinese or digits the total is the count of records holding it."""

from __future__ import annotations

import datetime
import json
import random
import warnings

import psycopg
import pytest

from qms.base.errors import QmsError
from qms.search import IndexDoc, SearchIndex, totals
from qms.search._postgres import OldPgIndex, PgIndex
from qms.search.analysis import SEP, normalize
from qms.search.schema import FieldMap
from qms.search.tsterms import tsvector
from qms.store.workspace import open_workspace
from qms.web import create_app

warnings.filterwarnings("ignore", message=".*httpx2.*")
from starlette.testclient import TestClient  # noqa: E402

from click.testing import CliRunner

from qms.cli import cli
from conftest import PASSWORDS, REPO, STAFF, add_staff
from webkit import login  # noqa: E402

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄晓明", "周杰", "吴倩", "欧阳修远"]
CUSTOMERS = ["华东电力有限公司", "苏州精密机械厂", "上海浦江物业", "南京长江水务", "杭州西湖酒店", "无锡华光电子"]
FAULTS = ["客户投诉空调不制冷", "压缩机异响", "更换过滤网", "服务过程规范", "现场检查发现管路泄漏",
          "按质量手册第5章处理", "冰箱门封老化", "排气温度偏高", "电源板烧毁，已更换", "回访客户满意",
          "室外机噪声大", "清洗冷凝器", "补充制冷剂R410A", "使用PLC控制的水泵停机"]
FORMS = {"QR-SV-022": "服务记录单", "QR-SV-031": "维修报告", "QR-QC-007": "检验记录"}
CITIES = ["苏州市", "上海市", "南京市", "杭州市"]
COMMUNITIES = ["金鸡湖花园", "浦江苑", "长江新村", "西湖人家"]
FIELDS = FieldMap(keys=tuple(sorted({
    "地址": ("address",), "address": ("address",), "电话": ("phone",), "phone": ("phone",),
    "工程师": ("engineer",), "engineer": ("engineer",), "设备": ("device",), "device": ("device",),
}.items())))


def corpus(n: int = 400, seed: int = 26) -> list[IndexDoc]:
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        form = rnd.choice(sorted(FORMS))
        day = datetime.date(2026, 1, 1) + datetime.timedelta(days=rnd.randrange(330))
        address = (f"{rnd.choice(CITIES)}{rnd.choice(COMMUNITIES)}{rnd.randint(1, 12)}栋{rnd.randint(1, 6)}单元"
                   f"{rnd.randint(1, 28)}{rnd.randint(1, 4):02d}")
        phone = "1" + rnd.choice(["39", "38", "51", "86"]) + "".join(rnd.choice("0123456789") for _ in range(8))
        device = f"XK-{rnd.randint(100, 300)}"
        ref = f"{form}-{rnd.randint(1, 12):02d}"
        engineer = rnd.choice(NAMES)
        faults = rnd.sample(FAULTS, rnd.randint(1, 3))
        lines = [*faults, f"地址：{address}", f"电话：{phone}", f"设备型号 {device}，参照 {ref}",
                 f"服务日期 {day.year}年{day.month}月{day.day}日", f"工程师 {engineer}"]
        docs.append(IndexDoc(
            number=f"{form}-2026-{i + 1:04d}", kind="record", form=form, title=FORMS[form],
            text="\n".join(lines), customer=rnd.choice(CUSTOMERS), people=sorted({engineer, rnd.choice(NAMES)}),
            date=day, status=rnd.choice(["已归档", "已签署"]),
            fields={"address": [address], "phone": [phone], "engineer": [engineer], "device": [device]}))
    # a long document: the PostgreSQL side cuts its positions into windows (tsterms.py)
    long_text = "。".join(f"第{k}条 质量手册要求定期校准计量器具编号JL-{k:03d}" for k in range(600))
    docs.append(IndexDoc(number="QM-001", kind="doc", title="质量手册", text=long_text + "。末尾的特殊条款冷凝器",
                         department="质量部", people=["陈静"], date=datetime.date(2026, 3, 1), status="现行"))
    return docs


_DOCS = corpus()
# (query, check the total against the substring count): ≥ 40 queries of every kind
QUERIES = [
    # Chinese words, 1–6 characters
    ("修", True), ("空调", True), ("不制冷", True), ("压缩机", True), ("管路泄漏", True), ("服务过程规", True),
    ("客户投诉空调", True), ("华东", True), ("电力", True), ("水务", True), ("精密机械", True), ("冷凝器", True),
    ("特殊条款", True), ("计量器具", True), ("调不", True), ("章", True),
    # addresses, phones, digits
    ("2单元", True), ("3栋2单元", True), ("1502", False), ("139", False), ("金鸡湖花园", True), ("12栋", True),
    # names
    ("张伟", True), ("王芳", True), ("黄晓明", True), ("晓明", True), ("欧阳修远", True),
    # codes in parts
    ("QR-SV-022", False), ("SV-022", False), ("022", False), ("QR-SV-022-04", False), ("XK-200", False),
    ("xk", False), ("qr-qc-007", False), ("JL-599", False), ("R410A", False), ("PLC", False),
    ("2026-0007", False), (_DOCS[99].number, False),
    # field queries, operators, phrases, wildcards, dates
    ("客户：华东电力", False), ("地址：3栋", False), ("电话：139", False), ("工程师：张伟", False),
    ("人员:王芳", False), ("device:XK-2*", False), (f"编号:{_DOCS[2].number}", False), ("表单:QR-QC-007", False),
    ("空调 OR 冰箱", False), ("空调 -异响", False), ("NOT 华东", False), ('"服务 过程"', False),
    ("XK-2*", False), ("qr-??-031", False), ("2026-03-05", False), ("2026年3月5日", False), ("状态:已签署", False),
    ("客户：华", False), ("人员:杰", False), ("地址：栋", False), ("5", False), ("r", False), ("1*", False), ("*单元*", False),
]


def heldout() -> list[tuple[str, bool]]:
    lines = (REPO / "tests" / "data" / "search-parity-heldout.txt").read_text(encoding="utf-8").splitlines()
    return [(line[2:], True) if line.startswith("= ") else (line, False)
            for line in lines if line.strip() and not line.startswith("#")]


def holding(docs: list[IndexDoc], q: str) -> int:
    """How many documents hold q as a substring of what the text field indexes."""
    q = normalize(q)
    return sum(q in normalize(SEP.join([d.title, d.text, d.form, d.number, d.customer, d.department, *d.people]))
               for d in docs)


@pytest.fixture(scope="module")
def engines(tmp_path_factory, pg_cluster):
    docs = _DOCS
    wh = SearchIndex(tmp_path_factory.mktemp("parity") / "index")
    wh.rebuild(docs[:200])
    wh.add(docs[200:])                    # both a rebuild and later additions
    pg = PgIndex(pg_cluster.create_database())
    pg.rebuild(docs[:200])
    pg.add(docs[200:])
    yield wh, pg, docs
    wh.close()
    pg.close()


def _same(wh, pg, docs, q, substring, **filters):
    a = {h.number for h in wh.search(q, limit=2000, fields=FIELDS, **filters)}
    b = {h.number for h in pg.search(q, limit=2000, fields=FIELDS, **filters)}
    assert a == b, f"{q!r}: only whoosh {sorted(a - b)[:5]}, only PostgreSQL {sorted(b - a)[:5]}"
    ta = wh.total(q, fields=FIELDS, cap=1000, **filters)
    tb = pg.total(q, fields=FIELDS, cap=1000, **filters)
    assert ta == tb == totals.Total(len(a), True), q
    if substring:
        assert len(a) == holding(docs, q), q
    return a


@pytest.mark.parametrize("q,substring", QUERIES, ids=[q for q, _ in QUERIES])
def test_the_same_hits_and_totals_as_the_embedded_search(engines, q, substring):
    wh, pg, docs = engines
    _same(wh, pg, docs, q, substring)


@pytest.mark.parametrize("q,substring", heldout())
def test_the_held_out_queries_give_the_same_hits_and_totals(engines, q, substring):
    wh, pg, docs = engines
    assert _same(wh, pg, docs, q, substring)      # every held-out query finds something


def test_the_corpus_finds_something_for_most_queries(engines):
    wh, pg, docs = engines
    assert tsvector(docs[-1])[1] > 1        # the long document spans windows (tsterms.py)
    found = [q for q, _ in QUERIES if pg.total(q, fields=FIELDS).n]
    assert len(found) >= len(QUERIES) - 3, sorted(set(q for q, _ in QUERIES) - set(found))


@pytest.mark.parametrize("filters", [
    dict(date_from=datetime.date(2026, 3, 1), date_to=datetime.date(2026, 5, 31)),
    dict(form="QR-SV-031"), dict(kind="记录"), dict(kind="doc"), dict(status="已归档"),
    dict(form="qr-sv-022", date_to=datetime.date(2026, 2, 1)),
    dict(date_from=datetime.date(2026, 6, 1), date_to=datetime.date(2026, 5, 1)),
])
def test_filters_give_the_same_hits_on_both(engines, filters):
    wh, pg, docs = engines
    for q in ("空调", "冷凝器", "张伟", "QR-SV-022", "NOT 华东"):
        _same(wh, pg, docs, q, False, **filters)


def test_beyond_the_cap_both_say_at_least_the_cap(engines):
    wh, pg, docs = engines
    n = holding(docs, "空调")
    assert n > 30
    assert wh.total("空调", cap=30) == pg.total("空调", cap=30) == totals.Total(30, False)
    assert pg.total("空调", cap=n) == totals.Total(n, True)


def test_a_replaced_and_a_deleted_record_are_the_same_on_both(engines):
    wh, pg, docs = engines
    doc = docs[5]
    changed = IndexDoc(**{**doc.__dict__, "text": doc.text + "\n临时追加的独特词汇", "status": "已作废"})
    for ix in (wh, pg):
        ix.add([changed])
    assert {h.number for h in pg.search("独特词汇")} == {h.number for h in wh.search("独特词汇")} == {doc.number}
    assert pg.numbers()[doc.number] == wh.numbers()[doc.number] == "已作废"
    for ix in (wh, pg):
        ix.delete([doc.number])
    assert pg.search("独特词汇") == wh.search("独特词汇") == []
    assert pg.total("独特词汇") == totals.Total(0, True)            # a new generation: not the cached 1
    assert set(pg.numbers()) == set(wh.numbers()) == {d.number for d in docs} - {doc.number}
    for ix in (wh, pg):
        ix.add([doc])


def test_hits_come_ranked_with_the_typed_number_first_and_a_passage(engines):
    wh, pg, docs = engines
    number = docs[2].number
    hits = pg.search(f"{number} OR 空调", limit=5)
    assert hits[0].number == number and wh.search(f"{number} OR 空调", limit=5)[0].number == number
    assert any(hit for _, hit in pg.search("冷凝器", limit=1)[0].highlight)
    page2 = pg.search("空调", limit=10, offset=10)
    assert len(page2) == 10 and not {h.number for h in page2} & {h.number for h in pg.search("空调", limit=10)}


# --- a workspace configured for PostgreSQL: filing indexes there, qms search/reindex/verify use it --

def test_a_workspace_on_postgresql_files_searches_reindexes_and_verifies_there(tmp_path, pg_database):
    root = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["init", str(root), "--database", pg_database, "--admin", "admin",
                                      "--name", STAFF["admin"][0], "--password-stdin"],
                                input=PASSWORDS["admin"] + "\n")
    assert result.exit_code == 0, result.output
    qms = add_staff(root)          # the catalog, journal and sessions in PostgreSQL too (issue 26)
    qms("record", "file", "QR-SV-022-02", "--data", REPO / "examples/records/QR-SV-022-02.yaml", "--no-pdf")
    number = qms.json("record", "list")["items"][0]["number"]
    ws = open_workspace(qms.root)
    assert not ws.index_dir.exists()                          # nothing in the folder: the rows are in PostgreSQL
    with PgIndex(pg_database) as pg:
        assert set(pg.numbers()) == {number}
    found = qms.json("search", "服务报告")
    assert [h["number"] for h in found["hits"]] == [number] and found["total"] == 1
    assert qms.json("verify")["ok"]
    # the web's search (one index a worker thread) reads there too
    client = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    login(client, "tester")
    api = client.get("/api/search", params={"q": "服务报告"}).json()
    assert [h["number"] for h in api["hits"]] == [number] and api["total"] == 1

    with psycopg.connect(pg_database, autocommit=True) as conn:     # the index loses its row
        conn.execute("DELETE FROM search_docs")
    failed = qms("verify", "--json", ok=False)
    assert failed.exit_code == 3
    assert [p["code"] for p in json.loads(failed.stdout)["issues"]] == ["INDEX_INCOMPLETE"]
    assert "1" in qms("reindex").output
    assert qms.json("verify")["ok"]
    assert qms.json("search", "服务报告")["total"] == 1


def test_an_index_of_another_layout_is_rebuilt_from_the_archive_or_named(pg_database):
    docs = _DOCS[:20]
    with PgIndex(pg_database) as pg:
        pg.rebuild(docs)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("UPDATE search_meta SET version = 'qms-index-1/pg-0'")
        conn.execute("DELETE FROM search_docs WHERE key = %s", (normalize(docs[0].number),))
    with pytest.raises(OldPgIndex, match="qms reindex"):
        PgIndex(pg_database).numbers()
    with PgIndex(pg_database, rebuild_source=lambda: iter(docs)) as pg:
        assert set(pg.numbers()) == {d.number for d in docs} and pg.rebuilt
    with PgIndex(pg_database) as pg:
        assert pg.total("空调") == totals.Total(holding(docs, "空调"), True)


def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path, pg_cluster):
    url = pg_cluster.dsn("no_such_database")
    with pytest.raises(QmsError, match="no_such_database") as e:
        PgIndex(url).search("空调")
    assert "\n" not in str(e.value)


def test_a_text_too_long_for_one_tsvector_keeps_its_start_findable(pg_database):
    words = [f"第{k}节{'甲乙丙丁戊己庚辛'[k % 8]}{k * 7919 % 100000:05d}号条款" for k in range(12000)]
    doc = IndexDoc(number="QM-LONG", kind="doc", title="超长手册", text="，".join(words), status="现行")
    with PgIndex(pg_database) as pg:
        pg.add([doc])                                   # no error: PostgreSQL's 1 MB is not exceeded
        assert pg.total("超长手册").n == pg.total(words[5]).n == 1


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_by_date_both_give_the_same_dates_in_the_same_order(engines, sort):
    wh, pg, docs = engines
    for q in ("空调", "张伟", "NOT 华东"):
        a = wh.search(q, limit=30, sort=sort, fields=FIELDS)
        b = pg.search(q, limit=30, sort=sort, fields=FIELDS)
        assert [h.date for h in a] == [h.date for h in b] and len(b) == 30, q
        assert [h.date for h in b] == sorted((h.date for h in b), reverse=sort == "newest")
        page2 = pg.search(q, limit=30, offset=30, sort=sort, fields=FIELDS)
        assert not {h.number for h in page2} & {h.number for h in b}

"""The auditor's searches through `qms search`, on records filed through qms itself:
a month of phone-log rows (text we did not write for the index), the sample records,
a signed scan with a Chinese text layer, and procedures."""

from __future__ import annotations

import csv
import random
import re
import shutil

import pytest

from qms.adapters.pdf import make_table_pdf
from qms.search import search
from qms.store.workspace import open_workspace

from conftest import copy_workspace, DATA, REPO, Qms, copy_into, example_data, release_procedure, write_data, make_workspace

CJK = re.compile(r"[\u4e00-\u9fff]+")
SCAN_PHRASE = "冷凝水排放阀已更换"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    qms = make_workspace(tmp_path_factory.mktemp("search") / "ws")
    release_procedure(qms, copy_into(qms, REPO / "examples/procedures/service-process-control.yaml"))
    release_procedure(qms, copy_into(qms, DATA / "design-control.yaml"), issued="2026-04-01", effective="2026-04-10")
    qms("record", "import", "QR-SV-022-04", REPO / "examples/records/phone-log-2026-03.csv", "--no-pdf")
    for i in range(1, 9):
        form = f"QR-SV-022-0{i}"
        qms("record", "file", form, "--data", REPO / f"examples/records/{form}.yaml", "--no-pdf")
    # the same report again, a year earlier, for date filters
    qms("record", "file", "QR-SV-022-02", "--data",
        write_data(qms, example_data("QR-SV-022-02", service_date="2025-03-11"), "r2025.yaml"), "--no-pdf")
    scan = make_table_pdf(qms.root / "signed.pdf", "现场服务报告（用户签字）", [f"用户意见：{SCAN_PHRASE}，签字：王海涛"],
                          ["项目", "结果"], [["签字", "王海涛"]])
    qms("record", "sign", "QR-SV-022-02-2026-0001", "--scan", scan, "--signer", "王海涛")
    return qms


def record_values(qms: Qms) -> dict[str, str]:
    """number → every field value of the record joined (what a user typed)."""
    out = {}
    # in the order the list had before it was paged newest first, so the random queries stay the same
    for r in sorted(qms.records(), key=lambda r: (r["form"], r["record_date"], r["number"])):
        data = qms.json("record", "show", r["number"])["data"]
        parts = []
        for v in data.values():
            parts += [str(x) for row in v for x in row.values()] if isinstance(v, list) else [str(v)]
        out[r["number"]] = "\n".join(parts)
    return out


def hits(ws, query: str, **filters) -> set[str]:
    return {h["number"] for h in search(ws, query, limit=10_000, **filters)}


def test_every_short_chinese_query_finds_exactly_the_records_holding_it(corpus):
    ws = open_workspace(corpus.root)
    values = record_values(corpus)
    titles = {r["number"]: r["form"] for r in corpus.records()}
    forms = {f["id"]: f["title"] for f in corpus.json("form", "list")}
    runs = [run for text in values.values() for run in CJK.findall(text)]
    queries = set()
    # two samples: seed 2 once drew a phrase whose positions failed on a segment's last document,
    # which stepped the filtered matcher one past the segment (IndexError, issue 21's merge)
    for seed, size in ((5, 160), (2, 240)):
        rng = random.Random(seed)
        while len(queries) < size:
            run = rng.choice(runs)
            n = rng.randint(1, min(4, len(run)))
            start = rng.randint(0, len(run) - n)
            queries.add(run[start:start + n])
    queries |= {"压缩机", "排气温度", "赵建国", "不存在的词语", "鑫"}
    for q in sorted(queries):
        expected = {n for n, text in values.items() if q in text}
        # precision: a record may also match through its rendered title or the text of its signed scan
        allowed = expected | {n for n in values if q in forms[titles[n]] or q in n} | \
            ({"QR-SV-022-02-2026-0001"} if q in f"现场服务报告（用户签字）用户意见：{SCAN_PHRASE}，签字：王海涛 项目 结果 签字" else set())
        got = hits(ws, q, kind="record")
        assert expected <= got, (q, expected - got)
        assert got <= allowed, (q, got - allowed)


def test_a_phrase_unique_to_one_record_ranks_it_first(corpus):
    values = record_values(corpus)
    number, text = sorted(values.items())[17]
    phrase = max(CJK.findall(text), key=len)[:8]
    assert [n for n, t in values.items() if phrase in t] == [number]
    found = corpus.json("search", phrase)["hits"]
    assert found[0]["number"] == number
    assert phrase in [text for text, is_hit in found[0]["highlight"] if is_hit] and found[0]["kind"] == "record"
    assert set(found[0]) >= {"number", "kind", "form", "title", "date", "status", "score", "highlight"}


def test_a_name_hits_exactly_the_records_that_contain_it(corpus):
    values = record_values(corpus)
    for name in ("赵建国", "周丽", "王海涛"):
        expected = {n for n, t in values.items() if name in t}
        assert expected
        assert {h["number"] for h in corpus.json("search", name, "--kind", "record", "--limit", "500")["hits"]} == expected


def test_a_phrase_only_in_the_signed_scan_finds_that_record(corpus):
    assert SCAN_PHRASE not in "".join(record_values(corpus).values())
    found = corpus.json("search", SCAN_PHRASE)["hits"]
    assert [h["number"] for h in found] == ["QR-SV-022-02-2026-0001"]
    assert found[0]["status"] == "filed"


def test_a_phrase_in_a_procedure_body_finds_the_procedure(corpus):
    found = corpus.json("search", "经主管审查签名后编号归档", "--kind", "doc")["hits"]
    assert [h["number"] for h in found] == ["XX-XX-022"]
    assert found[0]["title"] == "服务过程控制程序" and found[0]["kind"] == "doc"
    assert [h["number"] for h in corpus.json("search", "设计开发计划书")["hits"]] == ["QP-RD-007"]
    assert [h["number"] for h in corpus.json("search", "QP-RD-007")["hits"]][0] == "QP-RD-007"


def test_form_and_date_filters_never_leak(corpus):
    every = corpus.json("search", "空压机", "--limit", "500")["hits"]
    forms = {h["form"] for h in every if h["kind"] == "record"}
    assert len(forms) >= 3
    for form in forms:
        got = corpus.json("search", "空压机", "--form", form, "--limit", "500")["hits"]
        assert got and {h["form"] for h in got} == {form}
        assert {h["number"] for h in got} == {h["number"] for h in every if h["form"] == form}
    march = corpus.json("search", "空压机", "--from", "2026-03-01", "--to", "2026-03-15", "--kind", "record",
                        "--limit", "500")["hits"]
    assert march and all("2026-03-01" <= h["date"] <= "2026-03-15" for h in march)
    assert {h["number"] for h in march} == {h["number"] for h in every if h["kind"] == "record"
                                           and "2026-03-01" <= h["date"] <= "2026-03-15"}
    older = corpus.json("search", "温控阀", "--to", "2025-12-31")["hits"]
    assert [h["number"] for h in older] == ["QR-SV-022-02-2025-0001"]


def test_mixed_chinese_and_model_codes(corpus):
    found = {h["number"] for h in corpus.json("search", "空气压缩机 XK-200", "--limit", "500")["hits"]}
    values = record_values(corpus)
    assert found >= {n for n, t in values.items() if "空气压缩机" in t and "XK-200" in t}
    assert found and all("XK-200" in values[n] for n in found if n in values)


def test_terminal_output_is_a_readable_list(corpus):
    out = corpus("search", "排气温度").output
    assert "QR-SV-022-02-2026-0001" in out and "【排气温度】" in out
    assert "no hits" in corpus("search", "完全不存在的短语").output


def test_deleting_the_index_and_reindexing_gives_the_same_answers(corpus, tmp_path):
    queries = ["压缩机", "赵建国", SCAN_PHRASE, "温控阀 OR 过滤器", "空压机 NOT 华东", "服务"]
    before = {q: corpus.json("search", q, "--limit", "500")["hits"] for q in queries}
    copy = tmp_path / "ws"
    other = copy_workspace(corpus, copy)
    shutil.rmtree(copy / "archive" / "index")
    report = other.json("verify", ok=False)
    assert any("index" in p for p in report["problems"])
    assert "reindexed" in other("reindex").output
    after = {q: other.json("search", q, "--limit", "500")["hits"] for q in queries}
    # the same hits; scores move slightly, as an incrementally updated index still counts
    # replaced entries in its statistics until segments merge
    strip = lambda hs: {h["number"]: (h["status"], h["highlight"]) for h in hs}  # noqa: E731
    assert {q: strip(v) for q, v in after.items()} == {q: strip(v) for q, v in before.items()}
    assert other.json("verify")["ok"] is True


# -- a property company's own form (issue 18) ----------------------------------

OWNER_FORM = """\
# 业主需求登记表 — a property company's own form, written by its 品质管理部 (no code)
id: WY-QR-01
title: 业主需求登记表
date_field: reg_date
retention: {period: 3y, from: year_end}
fields:
  - {name: reg_date, label: 登记日期, type: date, required: true}
  - {name: owner, label: 业主姓名, type: text, required: true}
  - {name: room, label: 房号, type: text, required: true}
  - {name: phone, label: 联系电话, type: text}
  - {name: category, label: 需求类别, type: choice, choices: [停车, 维修, 保洁]}
  - {name: detail, label: 需求内容, type: text}
  - {name: id_card, label: 身份证号, type: text, searchable: false}
"""

OWNERS = [   # (登记日期, 业主姓名, 房号, 联系电话, 需求类别, 需求内容)
    ("2026-11-05", "陈美玲", "3栋2单元1502", "13951403729", "停车", "阳光花园地下车库车位申请"),
    ("2026-11-15", "李伟", "13栋2单元0801", "13800001111", "维修", "阳光花园厨房水管漏水，已于2026年11月5日上门查看"),
    ("2026-11-20", "王强", "8栋2单元2704", "13700002222", "保洁", "楼道保洁，停车场旁，业主陈美玲的邻居"),
    ("2026-11-25", "陈美玲", "1栋1单元0101", "13600003333", "停车", "访客车位"),
]


@pytest.fixture(scope="module")
def owners(tmp_path_factory):
    qms = make_workspace(tmp_path_factory.mktemp("owners") / "ws")
    (qms.root / "schemas" / "WY-QR-01.yaml").write_text(OWNER_FORM, encoding="utf-8")
    qms.apply_config()           # an admin applies the new form (journaled): until then filing waits
    numbers = []
    for i, (day, owner, room, phone, category, detail) in enumerate(OWNERS):
        data = write_data(qms, {"reg_date": day, "owner": owner, "room": room, "phone": phone,
                                "category": category, "detail": detail}, f"owner{i}.yaml")
        numbers.append(qms.json("record", "file", "WY-QR-01", "--data", data, "--no-pdf")["number"])
    return qms, numbers


def found(qms, *args) -> set[str]:
    return {h["number"] for h in qms.json("search", *args, "--limit", "500")["hits"]}


def test_rooms_and_phones_match_exactly_what_was_written(owners):
    qms, n = owners
    assert found(qms, "3栋2单元") == {n[0], n[1]}           # not 8栋2单元2704
    assert found(qms, "1栋") == {n[3]}                      # not 13栋 nor 3栋…1502
    assert found(qms, "3729") == {n[0]}                     # the last digits of 13951403729
    assert "1395140【3729】" in qms("search", "3729").output


def test_every_field_of_her_own_form_can_be_named(owners):
    qms, n = owners
    assert found(qms, "房号：1502") == {n[0]}
    assert found(qms, "房号:0101") == {n[3]} and found(qms, "room:0101") == {n[3]}
    assert found(qms, "陈美玲") == {n[0], n[2], n[3]}         # also in 王强's 需求内容
    assert found(qms, "业主姓名：陈美玲") == {n[0], n[3]}      # only where the owner is she
    assert found(qms, "停车") == {n[0], n[2], n[3]}
    assert found(qms, "需求类别:停车") == {n[0], n[3]}
    assert found(qms, "需求类别：停车", "房号：1栋") == {n[3]}
    assert found(qms, '房号："3栋2单元"') == {n[0], n[1]}     # a quoted value
    assert "房号" in qms.fail("search", "房号：")
    assert "searchable: false" in qms.fail("search", "身份证号：3401")    # kept out of search, said so
    out = qms.fail("search", "业主：x")                       # no form has 业主: said, not "no hits"
    assert "业主" in out and "业主姓名" in out and len(out.strip().splitlines()) == 1


def test_dates_as_people_write_them(owners):
    qms, n = owners
    for q in ("2026年11月05日", "2026-11-05", "2026/11/5"):
        assert found(qms, q) == {n[0], n[1]}, q               # 登记日期 of one, written in the other's text
    assert found(qms, "登记日期：2026年11月05日") == {n[0]}


def test_the_rest_of_the_line_is_the_query(owners):
    qms, n = owners
    assert found(qms, "阳光花园", "NOT", "停车") == {n[1]}     # qms search 阳光花园 NOT 停车, unquoted
    assert found(qms, "阳光花园", "-停车", "--kind", "record") == {n[1]}
    assert found(qms, "--kind", "record", "阳光花园", "OR", "访客") == {n[0], n[1], n[3]}
    assert "【阳光花园】" in qms("search", "阳光花园", "NOT", "停车").output
    typo = qms("search", "阳光花园", "--limt", "1", ok=False)           # a mistyped option is no word
    assert typo.exit_code == 2 and "--limt" in typo.output


def test_a_change_note_finds_its_procedure(qms):
    number = release_procedure(qms, copy_into(qms, REPO / "examples/procedures/service-process-control.yaml"),
                               change="新增业主停车需求的受理时限")
    assert [h["number"] for h in qms.json("search", "停车需求的受理时限")["hits"]] == [number]


def test_search_sorted_by_date_and_paged_only_within_the_cap(qms):
    """--sort newest/oldest; an --offset beyond search.count_cap is one line, exit 1."""
    from qms.search import IndexDoc, SearchIndex
    import datetime
    docs = [IndexDoc(number=f"QR-S-{i:03d}", kind="record", form="QR-S", title="记录", text=f"滤芯更换 {i}",
                     customer="", people=[], status="filed", date=datetime.date(2025, 1, 1) + datetime.timedelta(days=i))
            for i in range(30)]
    SearchIndex(qms.root / "archive" / "index").rebuild(docs)
    dates = [h["date"] for h in qms.json("search", "滤芯", "--sort", "oldest", "--limit", "5")["hits"]]
    assert dates == [f"2025-01-0{d}" for d in range(1, 6)]
    dates = [h["date"] for h in qms.json("search", "滤芯", "--sort", "newest", "--limit", "2")["hits"]]
    assert dates == ["2025-01-30", "2025-01-29"]
    out = qms.fail("search", "滤芯", "--offset", "1000")
    assert "beyond the first 1000 hits" in out

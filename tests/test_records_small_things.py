"""Issue 18, item 10 — what a property company's quality manager hit with her own forms, as she
reads it: one word per state (待业主签字 on her form, in the CLI and on the web), record lists
with her form's title and columns, a workspace started without the machinery forms, imports of
Excel dates as typed (2026/12/1) with every bad row named at once."""

from __future__ import annotations

import re
import warnings

import pytest

from conftest import PASSWORDS, REPO, STAFF, Qms, cli_init, release_procedure, snapshot, write_data

# 业主需求登记表: her own form, written as the README shows — no code
OWNER_FORM = """\
id: QR-WY-001
title: 业主需求登记表
procedure: WY-QP-7.5-01
department: 客服中心
revision: B/1
signer_noun: 业主
date_field: reg_date
signature_required: true
list_columns: [room, 业主姓名, category]
fields:
  - {name: reg_date, label: 登记日期, type: date, required: true}
  - {name: owner, label: 业主姓名, type: text, required: true}
  - {name: room, label: 房号, type: text, required: true}
  - {name: phone, label: 联系电话, type: text}
  - {name: category, label: 需求类别, type: choice, choices: [报修, 投诉, 停车, 咨询], required: true}
  - {name: content, label: 需求内容, type: text, lines: 4}
  - {name: owner_sign, label: 业主签字, type: signature}
"""

# 客户满意度调查表: no list_columns — the list shows its first few searchable fields
SURVEY_FORM = """\
id: QR-WY-002
title: 客户满意度调查表
procedure: WY-QP-7.5-01
date_field: survey_date
fields:
  - {name: survey_date, label: 调查日期, type: date, required: true}
  - {name: room, label: 房号, type: text, required: true}
  - {name: score, label: 满意度, type: choice, choices: [满意, 基本满意, 不满意], required: true}
  - {name: remark, label: 意见, type: text}
  - {name: surveyor, label: 调查人, type: text}
"""


@pytest.fixture
def wy(qms: Qms) -> Qms:
    (qms.root / "schemas" / "QR-WY-001.yaml").write_text(OWNER_FORM, encoding="utf-8")
    (qms.root / "schemas" / "QR-WY-002.yaml").write_text(SURVEY_FORM, encoding="utf-8")
    qms.apply_config()           # an admin applies the new forms (journaled): until then filing waits
    return qms


def _owner(qms: Qms, name: str, room: str, category: str = "报修", day: str = "2026-11-05") -> str:
    data = write_data(qms, {"reg_date": day, "owner": name, "room": room, "phone": "13951403729",
                            "category": category, "content": "卫生间漏水"}, f"{room}.yaml")
    return qms.json("record", "file", "QR-WY-001", "--data", data, "--no-pdf")["number"]


# ------------------------------------------------------------------ one vocabulary

def test_the_signer_noun_of_a_form_is_the_word_everywhere(wy):
    number = _owner(wy, "陈美玲", "3栋2单元1502")
    shown = wy("record", "show", number).output
    assert "状态 待业主签字" in shown and "业主需求登记表" in shown
    listed = wy("record", "list", "--form", "QR-WY-001").output
    assert "待业主签字" in listed and "待用户签字" not in listed
    # a form without signer_noun keeps the default word, the README's 待用户签字
    report = wy.json("record", "file", "QR-SV-022-02", "--data", REPO / "examples/records/QR-SV-022-02.yaml",
                     "--no-pdf")["number"]
    assert "待用户签字" in wy("record", "show", report).output
    # the web: the same words, from the same table (qms.domain.labels)
    page = _web(wy, "auditor").get(f"/records/{number}").text
    assert "待业主签字" in page and "待客户签字" not in page
    assert "待用户签字" in _web(wy, "auditor").get(f"/records/{report}").text


def test_web_and_cli_print_one_word_for_each_document_state():
    from qms.domain.labels import STATUS_ZH, status_label
    from qms.web.filters import STATUS_LABELS
    assert STATUS_LABELS is STATUS_ZH
    assert status_label("effective") == "生效" and status_label("awaiting_signature") == "待用户签字"
    assert status_label("awaiting_signature", signer="业主") == "待业主签字"
    words = list(STATUS_ZH.values())
    assert len(words) == len(set(words))            # never one word for two states
    # and no template of the web spells a state its own way
    templates = (REPO / "src" / "qms" / "web" / "templates")
    for page in templates.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        for stray in ("待客户签字", "现行有效"):
            assert stray not in text, (page.name, stray)


def test_doc_obsolete_says_obsolete_not_withdrew(qms):
    number = release_procedure(qms, REPO / "examples/procedures/service-process-control.yaml")
    out = qms("doc", "obsolete", number, "--reason", "并入新程序").output
    assert "obsolete (作废)" in out and "withdrew" not in out


# ------------------------------------------------------------------ record lists

def test_record_list_shows_the_form_title_and_its_own_columns(wy):
    _owner(wy, "陈美玲", "3栋2单元1502", "报修")
    _owner(wy, "王建国", "13栋2单元0801", "停车")
    out = wy("record", "list", "--form", "QR-WY-001").output
    lines = out.splitlines()
    assert lines[0] == "QR-WY-001  业主需求登记表"
    header = lines[1].split()
    assert header == ["记录编号", "状态", "记录日期", "保存期至", "房号", "业主姓名", "需求类别"]
    assert "用户单位" not in out
    row = next(line for line in lines if "13栋2单元0801" in line).split()
    assert row[-3:] == ["13栋2单元0801", "王建国", "停车"]
    # JSON carries the same: the form's title and the columns with their labels
    item = wy.records("--form", "QR-WY-001")[0]
    assert item["form_title"] == "业主需求登记表"
    assert [c["label"] for c in item["columns"]] == ["房号", "业主姓名", "需求类别"]


def test_a_form_without_list_columns_shows_its_first_searchable_fields_and_mixed_lists_a_summary(wy):
    data = write_data(wy, {"survey_date": "2026-11-06", "room": "8栋2单元2704", "score": "基本满意",
                           "remark": "停车位紧张"}, "s.yaml")
    wy("record", "file", "QR-WY-002", "--data", data, "--no-pdf")
    _owner(wy, "陈美玲", "3栋2单元1502")
    one = wy("record", "list", "--form", "QR-WY-002").output.splitlines()
    assert one[1].split()[-3:] == ["房号", "满意度", "意见"]
    mixed = wy("record", "list").output
    assert "客户满意度调查表" in mixed and "业主需求登记表" in mixed and "QR-WY-002 " not in mixed.splitlines()[2]
    assert "房号：8栋2单元2704；满意度：基本满意；意见：停车位紧张" in mixed
    assert "房号：3栋2单元1502；业主姓名：陈美玲；需求类别：报修" in mixed


def test_web_records_page_takes_its_columns_from_the_form(wy):
    _owner(wy, "陈美玲", "3栋2单元1502")
    c = _web(wy, "auditor")
    page = c.get("/records", params={"form": "QR-WY-001"}).text
    assert "<th>房号</th><th>业主姓名</th><th>需求类别</th>" in page
    table = page[page.index("<table"):page.index("</table>")]
    assert "用户单位" not in table and "业主需求登记表" in table and "陈美玲" in table
    assert "待业主签字" in page


def test_list_columns_naming_no_field_is_refused_in_one_line(qms):
    (qms.root / "schemas" / "QR-WY-001.yaml").write_text(
        OWNER_FORM.replace("list_columns: [room, 业主姓名, category]", "list_columns: [room, 楼栋]"), encoding="utf-8")
    out = qms.fail("form", "show", "QR-WY-001")
    assert "QR-WY-001.yaml" in out and "list_columns" in out and "'楼栋' is not" in out
    (qms.root / "schemas" / "QR-WY-001.yaml").write_text(
        OWNER_FORM.replace("type: date, required: true}", "type: date, required: true, lines: 3}"), encoding="utf-8")
    assert "lines" in qms.fail("form", "show", "QR-WY-001")


# ------------------------------------------------------------------ qms init --no-examples

def test_init_no_examples_starts_without_the_machinery_forms(tmp_path):
    from click.testing import CliRunner
    from qms.cli import cli
    root = tmp_path / "wy"
    result = CliRunner().invoke(cli, ["init", str(root), "--org", "阳光物业服务有限公司", "--no-examples", "--admin",
                                      "admin", "--name", STAFF["admin"][0], "--password-stdin"],
                                input=PASSWORDS["admin"] + "\n")
    assert result.exit_code == 0, result.output
    assert "no example forms" in result.output
    assert list((root / "schemas").iterdir()) == []
    assert sorted(p.name for p in (root / "templates").iterdir()) == ["procedure.docx", "record.docx"]
    q = Qms(root)
    assert q.json("form", "list") == []
    # her own form works at once
    (root / "schemas" / "QR-WY-001.yaml").write_text(OWNER_FORM, encoding="utf-8")
    assert [f["title"] for f in q.json("form", "list")] == ["业主需求登记表"]
    # the default init still ships the examples (the README's tour uses them)
    cli_init(tmp_path / "full")
    assert len(list((tmp_path / "full" / "schemas").glob("*.yaml"))) == 9     # + QR-QM-01 月度质量报告


# ------------------------------------------------------------------ imports

HEADER = "登记日期,业主姓名,房号,联系电话,需求类别,需求内容\n"


def test_import_accepts_dates_as_excel_users_type_them(wy):
    csv = wy.root / "需求.csv"
    csv.write_text(HEADER + "2026/12/1,陈美玲,3栋2单元1502,13951403729,报修,漏水\n"
                   "2026-12-2,王建国,13栋2单元0801,,停车,车位\n"
                   "2026年12月3日,李娜,8栋2单元2704,,咨询,物业费\n", encoding="utf-8")
    filed = wy.json("record", "import", "QR-WY-001", csv, "--no-pdf")
    dates = [wy.json("record", "show", r["number"])["record_date"] for r in filed]
    assert dates == ["2026-12-01", "2026-12-02", "2026-12-03"]


def test_import_reports_every_bad_row_at_once_and_files_nothing(wy):
    _owner(wy, "陈美玲", "3栋2单元1502")
    before = snapshot(wy.archive)
    csv = wy.root / "坏.csv"
    csv.write_text(HEADER + "2026/12/1,陈美玲,3栋2单元1502,,报修,漏水\n"     # good
                   "12/1/2026,王建国,13栋2单元0801,,停车,\n"                  # row 2: date backwards
                   "2026/12/4,李娜,8栋2单元2704,,停车场,\n"                   # row 3: not a choice
                   "2026/2/30,赵敏,1栋1单元0101,,咨询,\n"                     # row 4: no such day
                   "2026/12/5,,1栋1单元0102,,咨询,\n", encoding="utf-8")     # row 5: owner missing
    result = wy("record", "import", "QR-WY-001", csv, "--no-pdf", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if "row " in line]
    assert "4 of 5 rows are not valid; nothing was imported" in result.output
    rows = [line for line in lines if "line " in line]
    assert len(rows) == 4, result.output
    # a field is named as the file's header names it (label or name)
    for line, (n, field, says) in zip(rows, [(2, "登记日期", "expected a date as YYYY-MM-DD"),
                                             (3, "需求类别", "is not one of the choices"),
                                             (4, "登记日期", "not a real calendar date"),
                                             (5, "owner", "missing required field")]):
        assert "坏.csv" in line and f"row {n} (line {n + 1} of the file)" in line, line
        assert f"field '{field}'" in line and says in line, line
    assert snapshot(wy.archive) == before


def _web(qms: Qms, who: str):
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient
    from qms.web import create_app
    from webkit import login
    c = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    login(c, who)
    return c


def test_a_field_with_lines_is_a_box_to_write_in_on_the_web_too(wy):
    page = _web(wy, "tester").get("/file/QR-WY-001").text
    assert re.search(r'<textarea[^>]*name="content"', page)          # 需求内容, lines: 4
    assert not re.search(r'<textarea[^>]*name="owner"', page)        # 业主姓名: one line

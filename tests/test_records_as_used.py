"""Issue 12, records and search: what an engineer, a clerk, a records keeper and an auditor saw.

A partial amendment, table rows kept in their own XLSX sheet, a table field shown as a table,
blank forms offering their choices, one date label on a YAML-only form (领料单), the yearly
volume in Chinese with running page numbers, and searches by code parts, with the full-width
colon, by negation alone, with totals and pages."""

from __future__ import annotations

import re
import shutil

import pytest
from openpyxl import Workbook
from pypdf import PdfReader

from qms.adapters.pdf import pdf_text
from docxtext import docx_text

from conftest import DATA, REPO, Qms, example_data, make_scan, make_workspace, write_data


@pytest.fixture
def ws(tmp_path) -> Qms:
    qms = make_workspace(tmp_path / "ws")
    # the company's name, as `qms init --org` writes it (config.yaml → organisation.name)
    config = qms.root / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("name: XXXXXX有限公司", "name: 华东精密机械有限公司"),
                      encoding="utf-8")
    shutil.copyfile(DATA / "QR-MM-001.yaml", qms.root / "schemas" / "QR-MM-001.yaml")
    qms.apply_config()
    return qms


def test_amend_with_set_changes_only_that_field(ws):
    ws("record", "import", "QR-SV-022-04", REPO / "examples/records/phone-log-2026-03.csv", "--no-pdf")
    number = "QR-SV-022-04-2026-0003"
    before = ws.json("record", "show", number)["data"]
    out = ws("record", "amend", number, "--set", "联系电话=0553-4821399", "--reason",   # a label works too
             "电话号码录入错误", "--no-pdf").output
    assert "version 2" in out
    after = ws.json("record", "show", number)
    assert after["data"]["phone"] == "0553-4821399"
    assert {k: v for k, v in after["data"].items() if k != "phone"} == {k: v for k, v in before.items() if k != "phone"}
    assert after["versions"][0]["data"] == before                        # the original version is kept
    assert "field" in ws.fail("record", "amend", number, "--set", "nosuch=1", "--reason", "x")
    assert "--data" in ws.fail("record", "amend", number, "--reason", "x")
    assert "2026-13-01" in ws.fail("record", "amend", number, "--set", "call_date=2026-13-01", "--reason", "x")
    ws("record", "amend", number, "--set", "result=", "--set", "phone=0553-4821300", "--reason", "清空", "--no-pdf")
    third = ws.json("record", "show", number)["data"]
    assert "result" not in third and third["phone"] == "0553-4821300"      # an empty value clears the field


def _report_workbook(path, sheet_name: str = "更换备件"):
    wb = Workbook()
    main = wb.active
    main.title = "现场服务报告"
    rows = [example_data("QR-SV-022-02", service_date=f"2026-04-0{d}", customer=c) for d, c in
            ((1, "华东电力设备有限公司"), (2, "安徽皖江水泥有限公司"))]
    fields = [k for k in rows[0] if k != "parts"]
    main.append(fields)
    for r in rows:
        main.append([str(r[k]) for k in fields])
    parts = wb.create_sheet(sheet_name)
    parts.append(["行号", "备件名称", "规格型号", "数量"])
    parts.append([2, "温控阀阀芯", "WK-65", 1])                # row 2 = the first report
    parts.append([2, "油过滤器", "LY-200A", 2])
    parts.append([3, "进气阀密封圈", "JQ-90", 4])               # row 3 = the second
    wb.save(path)
    return path


def test_xlsx_table_rows_in_a_sheet_named_after_the_field(ws):
    book = _report_workbook(ws.root / "reports.xlsx")
    filed = ws.json("record", "import", "QR-SV-022-02", book, "--no-pdf")
    first = ws.json("record", "show", filed[0]["number"])
    assert first["data"]["parts"] == [{"part": "温控阀阀芯", "spec": "WK-65", "qty": 1},
                                      {"part": "油过滤器", "spec": "LY-200A", "qty": 2}]
    assert ws.json("record", "show", filed[1]["number"])["data"]["parts"] == [
        {"part": "进气阀密封圈", "spec": "JQ-90", "qty": 4}]
    # shown as a table, not as a Python list
    text = ws("record", "show", filed[0]["number"]).output
    assert "[{" not in text and "更换备件:" in text
    assert re.search(r"备件名称\s+规格型号\s+数量", text) and re.search(r"油过滤器\s+LY-200A\s+2", text)
    # a row number that names no record is an error naming the sheet
    bad = _report_workbook(ws.root / "bad.xlsx")
    from openpyxl import load_workbook
    wb = load_workbook(bad)
    wb["更换备件"].append([9, "x", "y", 1])
    wb.save(bad)
    assert "行号 9" in ws.fail("record", "import", "QR-SV-022-02", bad, "--no-pdf")


def test_blank_forms_offer_their_choices_and_one_date_label(ws):
    blank = ws.root / "领料单.docx"
    ws("form", "blank", "QR-MM-001", "-o", blank)
    text = docx_text(blank)
    assert "□一车间　□二车间　□装配车间" in text
    assert text.count("领料日期") == 1 and "领料日期：" in text     # once, in the title block
    report = ws.root / "report.docx"
    ws("form", "blank", "QR-SV-022-02", "-o", report)
    assert "□安装调试　□维修" in docx_text(report)
    # a filled 领料单: its date once, under its own label; numbered LL-202603-0001
    data = write_data(ws, {"issue_date": "2026-03-05", "workshop": "二车间", "picker": "钱军",
                           "items": [{"code": "M-0101", "name": "轴承6205", "qty": 10}]}, "ll.yaml")
    rec = ws.json("record", "file", "QR-MM-001", "--data", data, "--no-pdf")
    assert rec["number"] == "LL-202603-0001"
    shown = ws.json("record", "show", rec["number"])
    filled = docx_text(ws.root / shown["files"]["docx"])
    assert "领料日期：2026年03月05日" in filled and filled.count("2026年03月05日") == 1


def test_yearly_volume_reads_chinese_with_running_page_numbers(ws):
    for day, customer in (("2026-03-11", "华东电力设备有限公司"), ("2026-04-02", "安徽皖江水泥有限公司")):
        ws("record", "file", "QR-SV-022-02", "--data",
           write_data(ws, example_data("QR-SV-022-02", service_date=day, customer=customer), f"r{day}.yaml"))
    scan = make_scan(ws.root / "scan.pdf", "signed by Wang Haitao", pages=2)
    ws("record", "sign", "QR-SV-022-02-2026-0001", "--scan", scan, "--signer", "王海涛")
    out = ws.root / "2026现场服务报告.pdf"
    ws("compile", "--form", "QR-SV-022-02", "--year", "2026", "-o", out)
    pages = [p.extract_text().replace("\x00", "") for p in PdfReader(out).pages]
    cover = pages[0]
    for english in ("Contents", "filed", "awaiting", "bookmark"):
        assert english not in cover
    assert "现场服务报告" in cover and "2026年度汇编" in cover and "华东精密机械有限公司" in cover
    assert "华东电力设备有限公司" in cover and "安徽皖江水泥有限公司" in cover      # 用户单位 filled
    assert "已归档" in cover and "待用户签字※" in cover and "尚未经用户签字" in cover  # unsigned marked
    total = len(pages)
    for n, text in enumerate(pages, 1):
        assert f"第 {n} 页 共 {total} 页" in text, (n, text[-80:])
    bookmarks = [o.title for o in PdfReader(out).outline if not isinstance(o, list)]
    assert any("（未经用户签字）" in b for b in bookmarks)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    qms = make_workspace(tmp_path_factory.mktemp("s") / "ws")
    qms("record", "import", "QR-SV-022-04", REPO / "examples/records/phone-log-2026-03.csv", "--no-pdf")
    qms("record", "file", "QR-SV-022-02", "--data", REPO / "examples/records/QR-SV-022-02.yaml", "--no-pdf")
    shutil.copyfile(DATA / "QR-MM-001.yaml", qms.root / "schemas" / "QR-MM-001.yaml")
    qms.apply_config()
    qms("record", "file", "QR-MM-001", "--data", write_data(qms, {
        "issue_date": "2026-03-05", "workshop": "二车间", "picker": "钱军"}, "ll.yaml"), "--no-pdf")
    return qms


@pytest.mark.parametrize("code", ["QR-SV-022", "QR-SV-022-02-2026", "2026-0001", "LL-202603", "XK200-2023",
                                  "qr-sv-022-02"])
def test_codes_are_found_whole_or_in_parts(corpus, code):
    hits = [h["number"] for h in corpus.json("search", code, "--limit", "100")["hits"]]
    assert hits, code
    wanted = {"QR-SV-022": "QR-SV-022-04-2026-0001", "QR-SV-022-02-2026": "QR-SV-022-02-2026-0001",
              "2026-0001": "QR-SV-022-02-2026-0001", "LL-202603": "LL-202603-0001",
              "XK200-2023": "QR-SV-022-02-2026-0001", "qr-sv-022-02": "QR-SV-022-02-2026-0001"}[code]
    assert wanted in hits
    if code == "XK200-2023":
        assert hits == ["QR-SV-022-02-2026-0001"]                # a part of XK200-2023-0418 only


def test_full_width_colon_and_negation_alone(corpus):
    half = {h["number"] for h in corpus.json("search", "客户:华东电力", "--limit", "100")["hits"]}
    full = {h["number"] for h in corpus.json("search", "客户：华东电力", "--limit", "100")["hits"]}
    assert full == half and "QR-SV-022-02-2026-0001" in full
    everything = {h["number"] for h in corpus.json("search", "NOT 华东", "--limit", "500")["hits"]}
    huadong = {h["number"] for h in corpus.json("search", "华东", "--limit", "500")["hits"]}
    assert everything and not everything & huadong
    assert len(everything) + len(huadong) == len({h["number"] for h in corpus.json(
        "search", "NOT 不可能出现的词", "--limit", "500")["hits"]})


def test_totals_and_pages(corpus):
    all_hits = [h["number"] for h in corpus.json("search", "QR-SV-022-04", "--limit", "500")["hits"]]
    assert len(all_hits) > 25
    first = corpus("search", "QR-SV-022-04").output
    assert f"20 of {len(all_hits)} hits" in first and "--offset 20" in first
    second = corpus("search", "QR-SV-022-04", "--offset", "20").output
    assert f"21–{len(all_hits)} of {len(all_hits)} hits" in second
    page2 = [h["number"] for h in corpus.json("search", "QR-SV-022-04", "--offset", "20", "--limit", "5")["hits"]]
    assert page2 == all_hits[20:25]


def test_record_lists_read_in_chinese_with_local_times(corpus):
    listing = corpus("record", "list", "--form", "QR-SV-022-02").output
    assert "待用户签字" in listing and "awaiting_signature" not in listing and "记录编号" in listing
    shown = corpus("record", "show", "QR-SV-022-02-2026-0001").output
    filed_at = corpus.json("record", "show", "QR-SV-022-02-2026-0001")["filed_at"]
    import datetime as dt
    from zoneinfo import ZoneInfo
    local = dt.datetime.fromisoformat(filed_at).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"归档 {local}" in shown and "状态 待用户签字" in shown
    log = corpus("log", "--target", "QR-SV-022-02-2026-0001").output
    assert local in log and "+00:00" not in log

"""The service engineer's session: fill a form, file it, get the customer's signature, import a
month of phone calls, amend a record — and every bad input refused without a trace."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest

from qms.base.dates import cn_date
from qms.adapters.pdf import make_table_pdf, pdf_text
from docxtext import docx_text

from conftest import REPO, Qms, example_data, make_scan, snapshot, write_data, nothing_archived, make_workspace

FORM_TITLES = {
    "QR-SV-022-01": "售后服务通知单",
    "QR-SV-022-02": "现场服务报告",
    "QR-SV-022-03": "产品服务信息记录表",
    "QR-SV-022-04": "服务电话记录",
    "QR-SV-022-05": "用户投诉处理记录",
    "QR-SV-022-06": "客户满意度调查表",
    "QR-SV-022-07": "服务日志",
    "QR-SV-022-08": "设备保养记录",
}
PHONE_LOG = REPO / "examples" / "records" / "phone-log-2026-03.csv"
SIGNERS = ["赵建国", "王海涛", "李明", "周静", "陈芳", "钱立新", "吴婷"]


# ------------------------------------------------------------------ data from `form show --json` only

def generate(spec: dict, n: int = 1) -> tuple[dict, list[str]]:
    """Fill every field of a form from its published description, one generator per field type.

    Returns the data and the strings a user expects to read in the rendered form.
    Every date lies in March 2026, so the record date (and the number's year) is 2026.
    """
    data, expected = {}, []
    for i, f in enumerate(spec["fields"]):
        value, shown = GENERATORS[f["type"]](f, i, n)
        data[f["name"]] = value
        expected += shown
    return data, expected


def _text(f, i, n):
    value = f"{f['label']}内容{n}-{i}"
    return value, [value]


def _date(f, i, n):
    day = dt.date(2026, 3, 1) + dt.timedelta(days=i)
    return day.isoformat(), [cn_date(day)]


def _datetime(f, i, n):
    return f"2026-03-{1 + i:02d} 09:{i:02d}", [f"{cn_date(dt.date(2026, 3, 1 + i))} 09:{i:02d}"]


def _number(f, i, n):
    return i + 0.5, [f"{i + 0.5:g}"]


def _choice(f, i, n):
    value = f["choices"][(i + n) % len(f["choices"])]
    return value, [value]


def _signature(f, i, n):
    value = SIGNERS[i % len(SIGNERS)]
    return value, [value]


def _table(f, i, n):
    rows, shown = [], []
    for r in range(2):
        row = {}
        for c in f["columns"]:
            if c["type"] == "number":
                row[c["name"]] = 10 * (r + 1) + i
                shown.append(str(row[c["name"]]))
            elif c["type"] == "date":
                day = dt.date(2026, 3, 20 + r)
                row[c["name"]] = day.isoformat()
                shown.append(cn_date(day))
            else:
                row[c["name"]] = f"{c['label']}{r + 1}"
                shown.append(row[c["name"]])
        rows.append(row)
    return rows, shown


GENERATORS = {"text": _text, "date": _date, "datetime": _datetime, "number": _number, "choice": _choice,
              "signature": _signature, "table": _table}


def stored(data: dict) -> dict:
    """The data as the archive keeps it: date and time joined by T, the rest as given."""
    return {k: v.replace(" ", "T") if isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", v) else v
            for k, v in data.items()}


def file_generated(qms: Qms, form_id: str, n: int = 1, *extra) -> tuple[dict, dict, list[str]]:
    """form show --json → generated data → record file; returns (filed, data, expected texts)."""
    spec = qms.json("form", "show", form_id)
    data, expected = generate(spec, n)
    path = write_data(qms, data, f"{form_id}-{n}.json")
    filed = qms.json("record", "file", form_id, "--data", path, "--no-pdf", *extra)
    return filed, data, expected


def number(form_id: str, year: int, seq: int) -> str:
    return f"{form_id}-{year}-{seq:04d}"


def last_seq(qms: Qms, form_id: str, year: int = 2026) -> int:
    return max((int(r["number"].rsplit("-", 1)[1]) for r in qms.records("--form", form_id,
                                                                      "--year", year)), default=0)


def record_files(qms: Qms, shown: dict, key: str) -> Path:
    path = qms.root / shown["files"][key]
    assert not Path(shown["files"][key]).is_absolute() and path.is_file()
    return path


# ------------------------------------------------------------------ forms

def test_all_eight_forms_are_listed(qms):
    forms = qms.json("form", "list")
    # and QR-QM-01 月度质量报告, the monthly quality report filed as a record (issue 24)
    assert {f["id"]: f["title"] for f in forms} == {**FORM_TITLES, "QR-QM-01": "月度质量报告"}
    forms = [f for f in forms if f["id"] != "QR-QM-01"]
    assert all(f["procedure"] == "XX-XX-022" for f in forms)
    # only the field report is valid once the customer signs it
    assert [f["id"] for f in forms if f["signature_required"]] == ["QR-SV-022-02"]
    retention = {f["id"]: f["retention"] for f in forms}
    assert retention["QR-SV-022-03"] == "5y from filed"       # 产品服务信息记录表 保存期为5年
    assert retention["QR-SV-022-04"] == "5y from year_end"

    spec = qms.json("form", "show", "QR-SV-022-02")
    assert spec["title"] == "现场服务报告" and spec["signature_required"] is True
    assert spec["numbering"] == "{form}-{year}-{seq:04d}"
    assert spec["retention"] == {"period": "5y", "from": "year_end"}
    parts = next(f for f in spec["fields"] if f["name"] == "parts")
    assert parts["type"] == "table" and [c["name"] for c in parts["columns"]] == ["part", "spec", "qty"]
    service_type = next(f for f in spec["fields"] if f["name"] == "service_type")
    assert service_type["required"] and "维修" in service_type["choices"]
    text = qms("form", "show", "QR-SV-022-02").output
    assert "现场服务报告" in text and "service_type" in text and "安装调试" in text
    assert "QR-SV-022-99" in qms.fail("form", "show", "QR-SV-022-99")


@pytest.mark.parametrize("form_id", sorted(FORM_TITLES))
def test_each_form_files_and_renders_from_its_own_description(qms, form_id):
    spec = qms.json("form", "show", form_id)
    filed, data, expected = file_generated(qms, form_id)
    first = spec["numbering"].format(form=form_id, year=2026, month=3, seq=1)
    assert filed == {"number": first,
                     "status": "awaiting_signature" if spec["signature_required"] else "filed"}

    shown = qms.json("record", "show", first)
    assert shown["form"] == form_id and shown["version"] == 1
    assert shown["data"] == stored(data)
    text = docx_text(record_files(qms, shown, "docx"))
    assert first in text and FORM_TITLES[form_id] in text
    missing = [e for e in expected if e not in text]
    assert not missing, f"not in the rendered {form_id}: {missing}"
    assert qms.json("verify")["ok"] is True


def test_a_form_added_as_one_yaml_is_filed_like_the_others(qms):
    # No code: the quality manager drops a schema into schemas/ (a datetime field, an 18-month
    # retention counted from a field of the record).
    (qms.root / "schemas" / "QR-QA-009-01.yaml").write_text(
        "id: QR-QA-009-01\ntitle: 计量器具校准记录\nprocedure: QP-QA-009\ndate_field: calibrated_at\n"
        "retention: {period: 18m, from: 'field:due_date'}\n"
        "fields:\n"
        "  - {name: calibrated_at, label: 校准时间, type: datetime, required: true}\n"
        "  - {name: instrument, label: 器具名称, type: text, required: true}\n"
        "  - {name: due_date, label: 下次校准日期, type: date, required: true}\n"
        "  - {name: error, label: 示值误差, type: number}\n"
        "  - {name: grade, label: 结论, type: choice, choices: [合格, 限用, 停用]}\n"
        "  - name: points\n    label: 校准点\n    type: table\n"
        "    columns: [{name: point, label: 校准点}, {name: reading, label: 读数, type: number}]\n"
        "  - {name: calibrator, label: 校准员, type: signature}\n", encoding="utf-8")
    qms.apply_config()           # an admin applies it (journaled): until then filing is refused
    assert "QR-QA-009-01" in [f["id"] for f in qms.json("form", "list")]
    filed, data, expected = file_generated(qms, "QR-QA-009-01")
    assert filed == {"number": "QR-QA-009-01-2026-0001", "status": "filed"}
    shown = qms.json("record", "show", filed["number"])
    assert shown["data"] == stored(data) and shown["data"]["calibrated_at"] == "2026-03-01T09:00"
    assert shown["record_date"] == "2026-03-01"                       # from the datetime date field
    assert shown["retention_until"] == "2027-09-03"                    # due_date 2026-03-03 + 18 months
    text = docx_text(record_files(qms, shown, "docx"))
    assert "2026年03月01日 09:00" in text and "计量器具校准记录" in text
    assert not [e for e in expected if e not in text]


def test_blank_form_to_docx(qms, tmp_path):
    out = tmp_path / "现场服务报告-空白.docx"
    assert "wrote blank form" in qms("form", "blank", "QR-SV-022-02", "-o", out).output
    text = docx_text(out)
    for label in ("现场服务报告", "用户单位", "故障现象", "更换"):
        assert label in text, label
    assert "本报告须经用户签署姓名或加盖公章后方为有效" in text
    assert "QR-SV-022-02-" not in text                   # no number on a blank form
    assert "docx" in qms.fail("form", "blank", "QR-SV-022-02", "-o", tmp_path / "blank.txt")
    assert "QR-SV-022-99" in qms.fail("form", "blank", "QR-SV-022-99", "-o", tmp_path / "x.docx")
    assert nothing_archived(qms)


@pytest.mark.parametrize("form_id, label", [("QR-SV-022-02", "服务日期"), ("QR-SV-022-01", "通知日期")])
def test_a_form_laid_out_by_hand_prints_its_date_once(qms, tmp_path, form_id, label):
    """The field report and the service notice print their date in their own table: the title
    block above leaves it out, on the blank form and on a filed record alike."""
    blank = tmp_path / "blank.docx"
    qms("form", "blank", form_id, "-o", blank)
    assert docx_text(blank).count(label) == 1
    data = write_data(qms, example_data(form_id), "data.yaml")
    shown = qms.json("record", "show", qms.json("record", "file", form_id, "--data", data, "--no-pdf")["number"])
    text = docx_text(record_files(qms, shown, "docx"))
    assert text.count(label) == 1
    assert text.count(cn_date(shown["record_date"])) == (1 if form_id == "QR-SV-022-02" else 2)   # + 签发日期
    # filed --on another day, the title block shows that record date under 日期, the table the form's own
    on = qms.json("record", "show", qms.json("record", "file", form_id, "--data", data, "--on", "2026-03-20",
                                             "--no-pdf")["number"])
    text = docx_text(record_files(qms, on, "docx"))
    assert text.count(label) == 1 and "日期：2026年03月20日" in text


def test_forms_read_in_the_workspace_language(qms):
    """A zh-CN workspace reads its forms in Chinese: retention rules, field types, yes/no;
    --json keeps the English keys and rule."""
    listed = qms("form", "list").output
    assert "保存期限" in listed
    line = next(x for x in listed.splitlines() if x.startswith("QR-SV-022-03"))
    assert "自记录日期起5年" in line and "from" not in line
    line = next(x for x in listed.splitlines() if x.startswith("QR-SV-022-02"))
    assert "自记录当年年末起5年" in line and line.rstrip().endswith("是")
    shown = qms("form", "show", "QR-SV-022-02").output
    head, fields = shown.split("\n", 2)[:2], shown.splitlines()[2:]
    assert "依据程序文件 XX-XX-022" in head[0]
    assert "保存期限 自记录当年年末起5年" in head[1] and "需用户签字：是" in head[1]
    assert "retention" not in shown and "yes" not in shown and "required" not in shown
    parts = next(x for x in fields if x.startswith("parts "))
    assert "表格" in parts and "备件名称、规格型号、数量" in parts
    assert "日期" in next(x for x in fields if x.startswith("service_date "))
    assert qms.json("form", "show", "QR-SV-022-02")["retention"] == {"period": "5y", "from": "year_end"}


# ------------------------------------------------------------------ numbering

def test_consecutive_numbers_also_around_a_rejected_filing(qms):
    good = write_data(qms, example_data("QR-SV-022-01"), "notice.yaml")
    bad = write_data(qms, example_data("QR-SV-022-01", service_type="喝茶"), "notice-bad.yaml")
    assert qms.json("record", "file", "QR-SV-022-01", "--data", good, "--no-pdf")["number"] == "QR-SV-022-01-2026-0001"
    assert qms.json("record", "file", "QR-SV-022-01", "--data", good, "--no-pdf")["number"] == "QR-SV-022-01-2026-0002"
    before = snapshot(qms.archive)
    msg = qms.fail("record", "file", "QR-SV-022-01", "--data", bad, "--no-pdf")
    assert "notice-bad.yaml" in msg and "service_type" in msg and "喝茶" in msg
    assert snapshot(qms.archive) == before
    assert qms.json("record", "file", "QR-SV-022-01", "--data", good, "--no-pdf")["number"] == "QR-SV-022-01-2026-0003"
    listed = qms.records("--form", "QR-SV-022-01")
    assert [r["number"] for r in listed] == [number("QR-SV-022-01", 2026, s) for s in (3, 2, 1)]   # newest first
    assert [e["target"] for e in qms.log() if e["action"] == "record.file"] == [r["number"] for r in listed][::-1]


def test_on_date_sets_the_record_date_and_the_number_year(qms):
    data = write_data(qms, example_data("QR-SV-022-01"), "notice.yaml")    # notice_date 2026-03-09
    old = qms.json("record", "file", "QR-SV-022-01", "--data", data, "--on", "2025-12-30", "--no-pdf")
    assert old["number"] == "QR-SV-022-01-2025-0001"
    new = qms.json("record", "file", "QR-SV-022-01", "--data", data, "--no-pdf")
    assert new["number"] == "QR-SV-022-01-2026-0001"            # each year numbers from 0001
    shown = qms.json("record", "show", old["number"])
    assert shown["record_date"] == "2025-12-30"
    assert shown["retention_until"] == "2030-12-31"             # 5 years from the end of 2025
    assert "2025年12月30日" in docx_text(record_files(qms, shown, "docx"))
    assert [r["number"] for r in qms.records("--year", "2025")] == [old["number"]]
    # the audit log keeps the real time of entry, not the --on date
    entry = qms.log("--target", old["number"])[0]
    assert entry["data"]["record_date"] == "2025-12-30" and not entry["at"].startswith("2025-12-30")
    assert "2026-02-30" in qms.fail("record", "file", "QR-SV-022-01", "--data", data, "--on", "2026-02-30")


# ------------------------------------------------------------------ signatures

def test_field_report_awaits_the_customer_signature_until_the_scan_is_filed(qms, tmp_path):
    report = write_data(qms, example_data("QR-SV-022-02"), "field-report.yaml")
    filed = qms.json("record", "file", "QR-SV-022-02", "--data", report, "--no-pdf")
    assert filed == {"number": "QR-SV-022-02-2026-0001", "status": "awaiting_signature"}
    todo = qms.records("--status", "awaiting_signature")
    assert [(r["number"], r["customer"]) for r in todo] == [(filed["number"], "华东电力设备有限公司")]
    assert qms.json("record", "show", filed["number"])["signatures"] == []

    # The customer signs the printed report on site; the engineer scans it to PDF.
    scan = make_table_pdf(tmp_path / "扫描件.pdf", "现场服务报告（用户签字）",
                          [f"记录编号 {filed['number']}", "用户签字：王海涛   华东电力设备有限公司（盖章）"])
    given = scan.read_bytes()
    out = qms("record", "sign", filed["number"], "--scan", scan, "--signer", "王海涛", "--signer-role", "用户代表")
    assert "signed" in out.output and "filed" in out.output

    shown = qms.json("record", "show", filed["number"])
    assert shown["status"] == "filed"
    assert [(s["signer"], s["role"]) for s in shown["signatures"]] == [("王海涛", "用户代表")]
    assert shown["signatures"][0]["at"]
    stored = record_files(qms, shown, "scan")
    assert stored.read_bytes() == given                                  # the untouched scan
    assert shown["signatures"][0]["sha256"] == hashlib.sha256(given).hexdigest()
    assert qms.records("--status", "awaiting_signature") == []
    assert [r["number"] for r in qms.records("--status", "filed")] == [filed["number"]]
    sign_entry = [e for e in qms.log("--target", filed["number"]) if e["action"] == "record.sign"]
    assert len(sign_entry) == 1 and sign_entry[0]["data"]["signer"] == "王海涛"
    assert qms.json("verify")["ok"] is True


def test_signed_scan_text_is_searchable(qms, tmp_path):
    pytest.importorskip("qms.search.index")
    report = write_data(qms, example_data("QR-SV-022-02"), "field-report.yaml")
    rec = qms.json("record", "file", "QR-SV-022-02", "--data", report, "--no-pdf")["number"]
    assert [h["number"] for h in qms.json("search", "油冷却器翅片积尘")["hits"]] == [rec]       # a field's text
    scan = make_table_pdf(tmp_path / "scan.pdf", "用户意见", ["同意验收，设备运转平稳无异响"])
    qms("record", "sign", rec, "--scan", scan, "--signer", "王海涛")
    assert [h["number"] for h in qms.json("search", "设备运转平稳无异响")["hits"]] == [rec]    # the scan's text


# ------------------------------------------------------------------ batch import

PHONE_FIELDS = ["call_date", "call_time", "caller", "customer", "phone", "product", "content", "handling",
                "result", "handler"]


def phone_rows(count: int) -> list[dict]:
    """`count` calls, cycling through the shipped March log, each made distinct."""
    with PHONE_LOG.open(encoding="utf-8") as f:
        sample = list(csv.DictReader(f))
    rows = []
    for i in range(count):
        row = dict(sample[i % len(sample)])
        row["caller"] = f"来电人{i + 1:03d}"
        rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict], header=PHONE_FIELDS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return path


def test_importing_300_rows_files_exactly_300_consecutive_records(qms):
    rows = phone_rows(300)
    path = write_csv(qms.root / "calls.csv", rows)
    out = qms("record", "import", "QR-SV-022-04", path, "--no-pdf")
    assert "imported 300 records" in out.output
    listed = qms.records("--form", "QR-SV-022-04")
    assert sorted(r["number"] for r in listed) == [number("QR-SV-022-04", 2026, s) for s in range(1, 301)]
    row150 = qms.json("record", "show", "QR-SV-022-04-2026-0150")
    assert row150["data"]["caller"] == "来电人150" and row150["data"]["customer"] == rows[149]["customer"]
    assert row150["record_date"] == rows[149]["call_date"]
    assert "来电人150" in docx_text(record_files(qms, row150, "docx"))
    files = [e for e in qms.log() if e["action"] == "record.file"]
    assert len(files) == 300 and len({e["data"]["batch"] for e in files}) == 1
    # the next import continues the sequence
    again = qms.json("record", "import", "QR-SV-022-04", write_csv(qms.root / "more.csv", phone_rows(2)), "--no-pdf")
    assert [r["number"] for r in again] == ["QR-SV-022-04-2026-0301", "QR-SV-022-04-2026-0302"]


def test_a_bad_row_150_files_none_and_is_named(qms):
    rows = phone_rows(300)
    rows[149]["call_date"] = "2026-03-32"
    path = write_csv(qms.root / "calls.csv", rows)
    msg = qms.fail("record", "import", "QR-SV-022-04", path, "--no-pdf")
    assert "calls.csv" in msg and "row 150" in msg and "call_date" in msg and "2026-03-32" in msg
    assert len(msg.strip().splitlines()) == 1
    assert qms.records() == []
    assert nothing_archived(qms)                        # no record folder, staged or placed
    rows[149]["call_date"] = "2026-03-31"
    write_csv(path, rows[:3])
    assert [r["number"] for r in qms.json("record", "import", "QR-SV-022-04", path, "--no-pdf")] == \
        [number("QR-SV-022-04", 2026, s) for s in (1, 2, 3)]           # no number was consumed


def test_xlsx_import_with_real_date_cells(qms):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(["来电日期", "来电时间", "来电人", "用户单位", "联系电话", "来电内容/用户需求", "接听人"])   # labels work too
    ws.append([dt.datetime(2026, 4, 1), "09:10", "陈光辉", "安徽皖江水泥有限公司", "0553-4821307", "空压机无法加载", "周丽"])
    ws.append([dt.date(2026, 4, 2), "14:20", "李红梅", "广州南粤制药有限公司", 2082216645, "询问保养周期", "吴婷"])
    ws.append([None] * 7)                                                  # an empty row is skipped
    ws.append(["2026-04-03", None, None, "江苏远航船舶重工有限公司", None, "订购滤芯", "周丽"])
    wb.save(qms.root / "calls.xlsx")
    filed = qms.json("record", "import", "QR-SV-022-04", qms.root / "calls.xlsx", "--no-pdf")
    assert [r["number"] for r in filed] == [number("QR-SV-022-04", 2026, s) for s in (1, 2, 3)]
    shown = [qms.json("record", "show", r["number"]) for r in filed]
    assert [s["record_date"] for s in shown] == ["2026-04-01", "2026-04-02", "2026-04-03"]
    assert shown[1]["data"]["phone"] == "2082216645" and shown[0]["data"]["customer"] == "安徽皖江水泥有限公司"
    assert "caller" not in shown[2]["data"]

    # a bad cell in a workbook is named by its sheet row
    ws.append(["2026-04-31", "10:00", "张伟", "某公司", "", "咨询", "郑凯"])
    wb.save(qms.root / "bad.xlsx")
    before = snapshot(qms.archive)
    msg = qms.fail("record", "import", "QR-SV-022-04", qms.root / "bad.xlsx", "--no-pdf")
    # the column is named as the workbook heads it
    assert "bad.xlsx" in msg and "row 4" in msg and "line 6" in msg and "来电日期" in msg
    assert snapshot(qms.archive) == before


def test_csv_cell_spanning_lines_keeps_its_line_breaks(qms):
    rows = phone_rows(3)
    rows[0]["handling"] = "1. 电话指导检查电源电压；\n2. 如仍无法启动再安排上门。"
    path = write_csv(qms.root / "calls.csv", rows)
    filed = qms.json("record", "import", "QR-SV-022-04", path, "--no-pdf")
    assert qms.json("record", "show", filed[0]["number"])["data"]["handling"] == rows[0]["handling"]
    # and an error after such a row names the line the row starts on
    rows[2]["handler"] = ""
    msg = qms.fail("record", "import", "QR-SV-022-04", write_csv(qms.root / "bad.csv", rows), "--no-pdf")
    assert "row 3 (line 5 of the file)" in msg and "handler" in msg


def test_a_time_typed_unquoted_in_yaml_stays_text(qms):
    path = qms.root / "call.yaml"
    path.write_text("call_date: 2026-03-02\ncall_time: 10:15\ncustomer: 某公司\ncontent: 咨询\nhandler: 周丽\n",
                    encoding="utf-8")
    rec = qms.json("record", "file", "QR-SV-022-04", "--data", path, "--no-pdf")["number"]
    assert qms.json("record", "show", rec)["data"]["call_time"] == "10:15"


# ------------------------------------------------------------------ amendments

def test_amendment_keeps_the_original_beside_the_new_version(qms):
    data = example_data("QR-SV-022-07")
    rec = qms.json("record", "file", "QR-SV-022-07", "--data", write_data(qms, data, "log.yaml"), "--no-pdf")["number"]
    v1 = qms.json("record", "show", rec)
    v1_folder = qms.root / v1["versions"][0]["folder"]
    v1_files = snapshot(v1_folder)

    fixed = write_data(qms, {**data, "hours": 8, "remarks": "工时更正为8小时（含往返）"}, "log-fixed.yaml")
    out = qms("record", "amend", rec, "--data", fixed, "--reason", "工时填写错误", "--no-pdf")
    assert "version 2" in out.output
    shown = qms.json("record", "show", rec)
    assert shown["version"] == 2 and shown["number"] == rec and shown["status"] == "filed"
    assert shown["data"]["hours"] == 8 and shown["data"]["remarks"] == "工时更正为8小时（含往返）"
    assert [(v["version"], v["reason"]) for v in shown["versions"]] == [(1, ""), (2, "工时填写错误")]
    assert shown["versions"][0]["data"]["hours"] == 7.5 and shown["versions"][1]["data"]["hours"] == 8
    assert shown["versions"][1]["filed_by"] == "tester 测试员"

    assert snapshot(v1_folder) == v1_files                                 # the original is untouched
    assert "钱立新同行" in docx_text(v1_folder / f"{rec}.docx")
    assert "工时更正为8小时" in docx_text(record_files(qms, shown, "docx"))
    text = qms("record", "show", rec).output
    assert "工时填写错误" in text and "原始版本" in text
    assert [e["action"] for e in qms.log("--target", rec)] == ["record.file", "record.amend"]
    assert qms.json("verify")["ok"] is True
    assert "reason" in qms.fail("record", "amend", rec, "--data", fixed, "--reason", " ")


# ------------------------------------------------------------------ one filing with a real PDF

def test_a_single_filing_converts_to_pdf_at_once(qms):
    data = write_data(qms, example_data("QR-SV-022-07"), "log.yaml")
    rec = qms.json("record", "file", "QR-SV-022-07", "--data", data)["number"]
    shown = qms.json("record", "show", rec)
    assert set(shown["files"]) == {"docx", "pdf"}
    pdf = record_files(qms, shown, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    text = pdf_text(pdf)
    assert rec in text and "赵建国" in text
    manifest = json.loads((pdf.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"][pdf.name]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert qms("record", "pdf").output.startswith("converted 0 records")    # nothing left pending
    assert qms.json("verify")["ok"] is True


# ------------------------------------------------------------------ bad input

@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Qms:
    """A clerk's workspace: one notice filed, one field report signed, one awaiting signature."""
    root = tmp_path_factory.mktemp("desk")
    qms = make_workspace(root / "ws")
    write_data(qms, example_data("QR-SV-022-01"), "notice.yaml")
    write_data(qms, example_data("QR-SV-022-02"), "report.yaml")
    write_data(qms, example_data("QR-SV-022-07"), "log.yaml")
    make_scan(qms.root / "scan.pdf", "Signed: Wang Haitao")
    qms("record", "file", "QR-SV-022-01", "--data", qms.root / "notice.yaml", "--no-pdf")
    qms("record", "file", "QR-SV-022-02", "--data", qms.root / "report.yaml", "--no-pdf")      # -0001, signed
    qms("record", "file", "QR-SV-022-02", "--data", qms.root / "report.yaml", "--no-pdf")      # -0002, waits
    qms("record", "sign", "QR-SV-022-02-2026-0001", "--scan", qms.root / "scan.pdf", "--signer", "王海涛")
    # bad data files, each with one mistake
    notice = example_data("QR-SV-022-01")
    write_data(qms, {k: v for k, v in notice.items() if k != "customer"}, "no-customer.yaml")
    write_data(qms, {**example_data("QR-SV-022-07"), "hours": "七个半小时"}, "hours-words.yaml")
    write_data(qms, {**example_data("QR-SV-022-07"), "hours": "inf"}, "hours-inf.json")
    write_data(qms, {**notice, "notice_date": "2026-02-30"}, "feb-30.json")
    write_data(qms, {**notice, "service_type": "喝茶"}, "tea.yaml")
    write_data(qms, {**notice, "colour": "红"}, "colour.yaml")
    parts = example_data("QR-SV-022-02")
    parts["parts"] = [{"part": "温控阀阀芯", "qty": "一个"}]
    write_data(qms, parts, "parts-qty.yaml")
    (qms.root / "broken.yaml").write_text("customer: [华东电力\nproduct: 空压机\n", encoding="utf-8")
    (qms.root / "not-a-scan.pdf").write_text("这不是PDF", encoding="utf-8")
    (qms.root / "scan.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    header = PHONE_FIELDS[:-1] + ["接电话的人"]
    write_csv(qms.root / "wrong-header.csv", [dict(zip(header, r.values())) for r in phone_rows(2)], header)
    write_csv(qms.root / "no-customer-column.csv",
              [{k: v for k, v in r.items() if k != "customer"} for r in phone_rows(2)],
              [h for h in PHONE_FIELDS if h != "customer"])
    (qms.root / "calls.txt").write_text("call_date\n2026-03-01\n", encoding="utf-8")
    return qms


BAD = {
    # case: (command, words the message must hold, form whose next number is checked)
    "unknown form": (["record", "file", "QR-XX-999-01", "--data", "notice.yaml"], ["QR-XX-999-01", "unknown form"],
                     "QR-SV-022-01"),
    "missing required field": (["record", "file", "QR-SV-022-01", "--data", "no-customer.yaml"],
                               ["no-customer.yaml", "customer", "missing"], "QR-SV-022-01"),
    "wrong type": (["record", "file", "QR-SV-022-07", "--data", "hours-words.yaml"],
                   ["hours-words.yaml", "hours", "number", "line"], "QR-SV-022-07"),
    "number that is not finite": (["record", "file", "QR-SV-022-07", "--data", "hours-inf.json"],
                                  ["hours-inf.json", "hours", "number"], "QR-SV-022-07"),
    "wrong type in a table": (["record", "file", "QR-SV-022-02", "--data", "parts-qty.yaml"],
                              ["parts-qty.yaml", "parts.0.qty", "number"], "QR-SV-022-02"),
    "impossible date": (["record", "file", "QR-SV-022-01", "--data", "feb-30.json"],
                        ["feb-30.json", "notice_date", "2026-02-30"], "QR-SV-022-01"),
    "choice not in choices": (["record", "file", "QR-SV-022-01", "--data", "tea.yaml"],
                              ["tea.yaml", "service_type", "喝茶", "维修"], "QR-SV-022-01"),
    "unknown field": (["record", "file", "QR-SV-022-01", "--data", "colour.yaml"], ["colour.yaml", "colour"],
                      "QR-SV-022-01"),
    "malformed yaml": (["record", "file", "QR-SV-022-01", "--data", "broken.yaml"], ["broken.yaml", "line"],
                       "QR-SV-022-01"),
    "missing data file": (["record", "file", "QR-SV-022-01", "--data", "nowhere.yaml"], ["nowhere.yaml", "not found"],
                          "QR-SV-022-01"),
    "missing attachment": (["record", "file", "QR-SV-022-01", "--data", "notice.yaml", "--attach", "photo.jpg"],
                           ["photo.jpg", "attach"], "QR-SV-022-01"),
    "impossible --on": (["record", "file", "QR-SV-022-01", "--data", "notice.yaml", "--on", "2026-13-01"],
                        ["on", "2026-13-01"], "QR-SV-022-01"),
    "scan not a PDF": (["record", "sign", "QR-SV-022-02-2026-0002", "--scan", "not-a-scan.pdf", "--signer", "王海涛"],
                       ["not-a-scan.pdf", "scan", "PDF"], "QR-SV-022-02"),
    "scan is a JPEG": (["record", "sign", "QR-SV-022-02-2026-0002", "--scan", "scan.jpg", "--signer", "王海涛"],
                       ["scan.jpg", "PDF"], "QR-SV-022-02"),
    "sign what needs no signature": (["record", "sign", "QR-SV-022-01-2026-0001", "--scan", "scan.pdf",
                                      "--signer", "王海涛"], ["QR-SV-022-01-2026-0001", "no customer signature"],
                                     "QR-SV-022-01"),
    "sign twice": (["record", "sign", "QR-SV-022-02-2026-0001", "--scan", "scan.pdf", "--signer", "王海涛"],
                   ["QR-SV-022-02-2026-0001", "already signed"], "QR-SV-022-02"),
    "sign an unknown record": (["record", "sign", "QR-SV-022-02-2026-0999", "--scan", "scan.pdf", "--signer", "王"],
                               ["QR-SV-022-02-2026-0999", "unknown record"], "QR-SV-022-02"),
    "csv with a wrong header": (["record", "import", "QR-SV-022-04", "wrong-header.csv"],
                                ["wrong-header.csv", "row 1", "接电话的人"], "QR-SV-022-04"),
    "csv without a required column": (["record", "import", "QR-SV-022-04", "no-customer-column.csv"],
                                      ["no-customer-column.csv", "row 1", "header", "customer"], "QR-SV-022-04"),
    "import a text file": (["record", "import", "QR-SV-022-04", "calls.txt"], ["calls.txt", ".csv"], "QR-SV-022-04"),
    "amend an unknown record": (["record", "amend", "QR-SV-022-07-2026-0999", "--data", "log.yaml", "--reason", "x"],
                                ["QR-SV-022-07-2026-0999"], "QR-SV-022-07"),
    "show an unknown record": (["record", "show", "QR-SV-022-07-2026-0999"], ["QR-SV-022-07-2026-0999"],
                               "QR-SV-022-07"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_and_consumes_no_number(desk, case):
    args, words, form_id = BAD[case]
    args = [str(desk.root / a) if a.endswith((".yaml", ".json", ".pdf", ".jpg", ".csv", ".txt")) else a
            for a in args]
    before = snapshot(desk.archive)
    seq = last_seq(desk, form_id)
    msg = desk.fail(*args)
    for word in words:
        assert word in msg, (word, msg)
    assert len(msg.strip().splitlines()) == 1
    assert snapshot(desk.archive) == before
    # the next good filing gets the next number
    good = {"QR-SV-022-01": "notice.yaml", "QR-SV-022-02": "report.yaml", "QR-SV-022-07": "log.yaml"}
    if form_id == "QR-SV-022-04":
        filed = desk.json("record", "import", form_id, write_csv(desk.root / "one.csv", phone_rows(1)), "--no-pdf", "--again")[0]
    else:
        filed = desk.json("record", "file", form_id, "--data", desk.root / good[form_id], "--no-pdf")
    assert filed["number"] == number(form_id, 2026, seq + 1)

"""The monthly quality report (issue 24): PDF/A with each KPI's table and chart, Chinese labels,
targets and 达标/未达标; the records that missed; filed as a record with --file; and .xlsx."""

from __future__ import annotations

import subprocess

from openpyxl import load_workbook

from test_kpi import generate, write_csvs


def test_monthly_report_pdf_xlsx_and_filed(qms, tmp_path):
    notices, reports = generate()
    a, b = write_csvs(qms.root, notices, reports)
    qms("record", "import", "QR-SV-022-01", a, "--no-pdf")
    qms("record", "import", "QR-SV-022-02", b, "--no-pdf")
    out = tmp_path / "2026年3月质量报告.pdf"
    res = qms.json("report", "monthly", "--month", "2026-03", "-o", out, "--file")
    meta = subprocess.run(["pdfinfo", "-meta", str(out)], capture_output=True, text=True).stdout
    assert "<pdfaid:part>2</pdfaid:part>" in meta
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
    flat = text.replace(" ", "")
    for words in ("2026年3月质量报告", "1指标汇总", "平均响应时间", "一次修复率", "≤24.0小时", "≥90.0%",
                  "未达目标的记录", "纠正预防措施", "到期的文件评审"):
        assert words in flat, words
    assert "达标" in flat and "未达标" in flat
    march = [r for r in reports if r["day"].isoformat()[:7] == "2026-03" and r["type"] == "维修"]
    missed = [r for r in march if r["first_fix"] != "是"]     # 否 and the empty ones behind the miss
    summary = {row[0]: row for row in res["summary"]}
    assert summary["一次修复率"][3] == ("未达标" if missed else "达标")
    # filed like a record: numbered, journaled, the report attached byte for byte
    number = res["record"]
    assert number.startswith("QR-QM-01-2026-")
    shown = qms.json("record", "show", number)
    assert shown["data"]["month"] == "2026-03" and "一次修复率" in shown["data"]["summary"]
    (attached,) = shown["files"]["attachments"]
    assert attached.endswith("2026年3月质量报告.pdf")
    assert (qms.root / attached).read_bytes() == out.read_bytes()
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(out), str(tmp_path / "report")], check=True)
    # the workbook: a summary, a sheet per KPI with its chart, the missed records
    xlsx = tmp_path / "2026年3月质量报告.xlsx"
    qms("report", "monthly", "--month", "2026-03", "-o", xlsx)
    wb = load_workbook(xlsx)
    assert wb.sheetnames[0] == "汇总" and "一次修复率" in wb.sheetnames and "未达标记录" in wb.sheetnames
    assert wb["一次修复率"]._images
    assert qms.fail("report", "monthly", "--month", "2026-13", "-o", xlsx).count("\n") == 1

"""Auditors and shop floors read PDFs: PDF/A at release, stamped copies, withdrawal, master list.

One workspace for the module keeps LibreOffice starts to a handful.
"""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from qms.adapters.pdf import pdf_text, pdfa_part

from conftest import DATA, REPO, copy_into, release_procedure, snapshot, make_workspace


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """Two procedures released with PDF/A; the test-only one gets a controlled copy and a revision."""
    qms = make_workspace(tmp_path_factory.mktemp("pdfws") / "ws")
    held_out = copy_into(qms, DATA / "design-control.yaml")
    release_procedure(qms, held_out, pdf=True)
    release_procedure(qms, copy_into(qms, REPO / "examples/procedures/customer-service.yaml"), pdf=True,
                      issued="2026-02-01", effective="2026-02-10")
    return qms, held_out


def test_released_pdf_is_pdfa_with_title_number_and_approver(released):
    qms, _ = released
    shown = qms.json("doc", "show", "QP-RD-007", "--revision", "A/0")
    pdf = qms.root / shown["files"]["pdf"]
    assert pdfa_part(pdf) == "2B"
    text = pdf_text(pdf).replace(" ", "")   # text extraction puts spaces between CJK and digits
    for expected in ("设计和开发控制程序", "QP-RD-007", "赵国庆", "2026年03月13日", "输入应完整"):
        assert expected in text, expected
    manifest = (pdf.parent / "manifest.json").read_text(encoding="utf-8")
    assert pdf.name in manifest


def test_draft_preview_pdf_says_draft_on_every_page(released, tmp_path):
    qms, held_out = released
    before = snapshot(qms.archive)
    out = tmp_path / "preview.pdf"
    qms("doc", "render", held_out, "-o", out)
    reader = PdfReader(out)
    assert len(reader.pages) >= 2
    for page in reader.pages:
        text = page.extract_text().replace("\x00", "")
        assert "草稿" in text or "DRAFT" in text
    assert snapshot(qms.archive) == before


def test_controlled_copies_issue_list_recall_and_superseded_recall(released, tmp_path):
    qms, held_out = released
    first = qms.json("doc", "issue-copy", "QP-RD-007", "--holder", "生产部")
    second = qms.json("doc", "issue-copy", "QP-RD-007", "--holder", "质量部")
    assert (first["copy_no"], second["copy_no"]) == (1, 2)
    assert first["revision"] == "A/0" and first["holder"] == "生产部"
    text = pdf_text(qms.root / first["file"])
    assert "受控" in text and "1" in text
    assert "受控副本" in pdf_text(qms.root / second["file"]) and "2" in pdf_text(qms.root / second["file"])

    listed = qms.json("doc", "copies", "QP-RD-007")
    assert [(c["copy_no"], c["holder"], c["revision"], c["recalled"]) for c in listed] == \
        [(1, "生产部", "A/0", False), (2, "质量部", "A/0", False)]
    assert all(c["issued_at"] for c in listed)
    qms("doc", "recall", "QP-RD-007", "--copy", "2")
    assert [c["copy_no"] for c in qms.json("doc", "copies", "QP-RD-007", "--outstanding")] == [1]
    assert "already recalled" in qms.fail("doc", "recall", "QP-RD-007", "--copy", "2")
    assert "No.9" in qms.fail("doc", "recall", "QP-RD-007", "--copy", "9")

    # A new revision becomes effective: the old copy is outstanding for recall.
    held_out.write_text(held_out.read_text(encoding="utf-8").replace("技术负责人批准", "总工程师批准"),
                        encoding="utf-8")
    release_procedure(qms, held_out, issued="2026-05-25", effective="2026-06-01", change="批准人调整",
                      signers=[("编制", "张建华"), ("会签", "李明"), ("审定", "王立新"), ("批准", "赵国庆")],
                      pdf=True)
    outstanding = qms.json("doc", "copies", "QP-RD-007", "--outstanding")
    assert [(c["copy_no"], c["revision"], c["to_recall"]) for c in outstanding] == [(1, "A/0", True)]
    item = next(d for d in qms.documents() if d["number"] == "QP-RD-007")
    assert (item["revision"], item["copies_outstanding"]) == ("A/1", 1)
    assert qms.json("verify")["ok"] is True


def test_master_list_as_xlsx_csv_and_table(released, tmp_path):
    qms, _ = released
    out = tmp_path / "受控文件清单.xlsx"
    qms("doc", "list", "--format", "xlsx", "-o", out)
    sheet = load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    # title rows as on paper: company, 受控文件清单, the date; then the heading row
    assert rows[0][0] == "XXXXXX有限公司" and rows[1][0] == "受控文件清单" and rows[2][0].startswith("截至日期：")
    assert rows[3][:4] == ("文件编号", "文件名称", "版本", "状态")
    by_number = {r[0]: r for r in rows[4:]}
    assert by_number["QP-RD-007"][3] == "生效"                                   # Chinese status
    assert isinstance(by_number["QP-RD-007"][4], dt.datetime)                    # a real date cell
    assert sheet.cell(5, 5).number_format == "yyyy-mm-dd"
    numbers = {r[0] for r in rows[4:]}
    assert numbers == {d["number"] for d in qms.documents()} >= {"QP-RD-007", "QP-SC-015"}
    csv_text = qms("doc", "list", "--format", "csv").output
    assert "QP-SC-015,客户服务过程控制程序" in csv_text
    table = qms("doc", "list").output
    assert "QP-RD-007" in table and "设计和开发控制程序" in table


def test_obsolete_document_reads_obsolete_and_reading_copy_is_stamped(released):
    qms, _ = released
    qms("doc", "obsolete", "QP-SC-015", "--reason", "并入QP-SC-016", "--on", "2026-10-01")
    shown = qms.json("doc", "show", "QP-SC-015")
    assert shown["status"] == "obsolete" and shown["obsolete_reason"] == "并入QP-SC-016"
    assert qms.json("doc", "show", "QP-SC-015", "--as-of", "2026-09-30")["status"] == "effective"
    stamped = qms.root / shown["files"]["obsolete_pdf"]
    assert "作废" in pdf_text(stamped)
    original = qms.root / shown["files"]["pdf"]
    assert "作废" not in pdf_text(original)
    assert "already withdrawn" in qms.fail("doc", "obsolete", "QP-SC-015", "--reason", "again")
    assert qms.documents("--status", "obsolete")[0]["number"] == "QP-SC-015"
    assert qms.json("verify")["ok"] is True

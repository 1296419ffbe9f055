"""A quality engineer edits a form's template in LibreOffice, checks it, and files a record with it;
a template that reaches outside the sandbox or names a field its form lacks is refused, by name."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import example_data, write_data
from docxtext import docx_text


def _edit_xml(docx: Path, out: Path, old: str, new: str) -> Path:
    """`out`: `docx` with one text of word/document.xml replaced (as a person would in Word)."""
    with zipfile.ZipFile(docx) as z:
        parts = [(i, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info, raw in parts:
            if info.filename == "word/document.xml":
                text = raw.decode("utf-8")
                assert old in text
                raw = text.replace(old, new, 1).encode("utf-8")
            z.writestr(info, raw)
    return out


@pytest.mark.parametrize("placeholder, said", [
    ("{{ ''.__class__ }}", "private attribute"),
    ("{{ data.no_such_field }}", "not a field of QR-SV-022-01"),
    ("{{ secret_key }}", "does not have"),
])
def test_a_template_reaching_outside_its_model_is_refused_naming_file_and_placeholder(qms, placeholder, said):
    template = qms.root / "templates" / "service-notice.docx"
    before = template.read_bytes()
    _edit_xml(template, template, "<w:t>{{ data.customer }}</w:t>", f"<w:t>{placeholder}</w:t>")
    msg = qms.fail("template", "check")
    assert "service-notice.docx" in msg and placeholder.replace("{{ ", "").split(" ")[0].rstrip("}") in msg
    assert said in msg
    assert placeholder in msg
    template.write_bytes(before)
    assert qms.json("template", "check")


def test_a_theme_font_and_an_external_image_are_refused(qms, tmp_path):
    template = qms.root / "templates" / "record.docx"
    _edit_xml(template, template, "w:eastAsia=", 'w:eastAsiaTheme="minorEastAsia" w:eastAsia=')
    msg = qms.fail("template", "check", template)
    assert "record.docx" in msg and "theme font (minorEastAsia)" in msg


def test_a_new_template_starts_from_the_schema_and_passes(qms, tmp_path):
    out = tmp_path / "calls.docx"
    qms("template", "new", "--form", "QR-SV-022-04", "-o", out)
    text = docx_text(out)
    assert "{{ data.caller }}" in text and "来电人" in text
    assert qms.json("template", "check", out)[0]["ok"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_a_label_changed_and_saved_by_libreoffice_passes_and_prints_in_a_filed_record(qms, tmp_path):
    template = qms.root / "templates" / "service-notice.docx"
    edited = _edit_xml(template, tmp_path / "service-notice.docx", "<w:t>用户单位</w:t>", "<w:t>客户单位名称</w:t>")
    saved = tmp_path / "saved"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo'}",
                    "--convert-to", "docx", "--outdir", str(saved), str(edited)],
                   check=True, capture_output=True, timeout=180)
    shutil.copyfile(saved / "service-notice.docx", template)
    rows = qms.json("template", "check")
    assert all(r["ok"] for r in rows)
    with zipfile.ZipFile(template) as z:          # the check normalised what LibreOffice stamped
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    qms.apply_config()           # the edited template applied by an admin (journaled): then filing goes on
    data = write_data(qms, example_data("QR-SV-022-01"), "notice.yaml")
    number = qms.json("record", "file", "QR-SV-022-01", "--data", data, "--no-pdf")["number"]
    docx = next((qms.archive / "records").rglob(f"{number}.docx"))
    assert "客户单位名称" in docx_text(docx)

"""The resident converter (issue 21): LibreOffice kept running, supervised, PDF/A-2b as before; a
converter killed or hung during a filing leaves the record filed with its PDF pending, and the next
filing starts a new one."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, example_data, write_data
from qms.adapters import convert, resident
from qms.adapters.convert import soffice_available, soffice_path, to_pdf
from qms.adapters.pdf import pdfa_part, read_pdf

needs_uno = pytest.mark.skipif(
    not soffice_available() or subprocess.run([resident.PYTHON, "-c", "import uno"],
                                              capture_output=True).returncode != 0,
    reason="LibreOffice or Debian's python3-uno not installed")

pytestmark = needs_uno

# What the worker relies on from Debian's python3-uno (run by /usr/bin/python3, not this venv).
PIN = r"""
import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.lang import DisposedException
assert uno.systemPathToFileUrl("/tmp/a b/服务.docx") == "file:///tmp/a%20b/%E6%9C%8D%E5%8A%A1.docx"
ctx = uno.getComponentContext()
resolver = ctx.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", ctx)
assert resolver is not None
p = PropertyValue(); p.Name = "SelectPdfVersion"; p.Value = 2
any_ = uno.Any("[]com.sun.star.beans.PropertyValue", (p,))
assert any_.type.typeName == "[]com.sun.star.beans.PropertyValue" and callable(uno.invoke)
print("ok")
"""


def test_uno_gives_the_worker_what_it_uses():
    res = subprocess.run([resident.PYTHON, "-c", PIN], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "ok", res.stderr
    # soffice.bin is run directly (the worker's own child, which PR_SET_PDEATHSIG reaches)
    assert Path(resident._office_binary(soffice_path())).name == "soffice.bin"


@pytest.fixture
def on():
    before = (resident.settings.mode, resident.settings.keep)
    resident.stop()           # one left by an earlier test file in this worker process: start from none
    resident.configure("on")
    yield
    resident.stop()
    resident.configure(before[0], keep=before[1])


def test_a_warm_resident_conversion_is_pdfa_2b_and_keeps_the_chinese(tmp_path, on):
    docx = tmp_path / "服务报告.docx"
    docx.write_bytes((REPO / "templates" / "record.docx").read_bytes())
    started = resident.starts
    first = to_pdf([docx], [tmp_path / "a.pdf"])[0]
    t0 = time.perf_counter()
    second = to_pdf([docx], [tmp_path / "b.pdf"])[0]
    warm = time.perf_counter() - t0
    assert resident.starts == started + 1                 # one converter served both
    assert resident.running() and resident.settings.mode == "on"
    for pdf in (first, second):
        assert pdfa_part(pdf) == "2B"                     # XMP pdfaid: part 2, conformance B
    text = "".join(page.extract_text() for page in read_pdf(second).pages)
    assert "签" in text or "日期" in text, text[:200]
    assert warm < 5.0                                     # no LibreOffice start (loaded machines: generous)
    # a bad file is named, the converter keeps running
    bad = tmp_path / "broken.docx"
    bad.write_bytes(b"PK\x03\x04 not really a word file")
    with pytest.raises(Exception) as err:
        to_pdf([bad], [tmp_path / "c.pdf"])
    assert "broken.docx" in str(getattr(err.value, "file", "")) or "broken.docx" in str(err.value)
    assert not (tmp_path / "c.pdf").exists()


def test_a_hung_converter_is_stopped_at_its_time_out_and_replaced(tmp_path, on):
    docx = tmp_path / "r.docx"
    docx.write_bytes((REPO / "templates" / "record.docx").read_bytes())
    to_pdf([docx], [tmp_path / "a.pdf"])
    office = resident.office_pid()
    os.kill(office, signal.SIGSTOP)                       # LibreOffice hangs
    with pytest.raises(resident.ConverterLost, match="within 2 s"):
        to_pdf([docx], [tmp_path / "b.pdf"], timeout=2, fallback=False)
    assert not (tmp_path / "b.pdf").exists() and not _alive(office)
    started = resident.starts
    assert pdfa_part(to_pdf([docx], [tmp_path / "c.pdf"])[0]) == "2B"
    assert resident.starts == started + 1 and resident.office_pid() != office


def test_without_python3_uno_it_falls_back_to_soffice(tmp_path, on, monkeypatch):
    monkeypatch.setattr(resident, "PYTHON", str(tmp_path / "no-python3"))
    monkeypatch.setattr(resident, "_failed_at", 0.0)
    docx = tmp_path / "r.docx"
    docx.write_bytes((REPO / "templates" / "record.docx").read_bytes())
    started = resident.starts
    assert pdfa_part(to_pdf([docx], [tmp_path / "a.pdf"])[0]) == "2B"
    assert resident.starts == started and not resident.running()


@pytest.mark.parametrize("victim", ["libreoffice", "worker"])
def test_kill_9_of_the_converter_during_a_filing_loses_nothing(qms, monkeypatch, victim, on):
    cfg = qms.root / "config.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("resident: auto", "resident: on"), encoding="utf-8")
    qms.apply_config()
    data = write_data(qms, example_data("QR-SV-022-02"), "report.yaml")
    first = qms.json("record", "file", "QR-SV-022-02", "--data", data)["number"]
    assert resident.running() and resident.settings.mode == "on"
    assert "pdf" in qms.json("record", "show", first)["files"]

    killed = []

    def kill_during_conversion(name):                 # the request is sent: LibreOffice is at work
        pid = resident.office_pid() if victim == "libreoffice" else resident.worker_pid()
        killed.append(pid)
        os.kill(pid, signal.SIGKILL)
    monkeypatch.setattr(resident, "crashpoint", kill_during_conversion)
    out = qms("record", "file", "QR-SV-022-02", "--data", data).output
    monkeypatch.undo()
    second = _newest(qms)
    assert killed and "PDF is pending" in out and "qms record pdf --pending" in out, out
    shown = qms.json("record", "show", second)
    assert shown["pdf_pending"] and "pdf" not in shown["files"]
    assert qms.json("verify")["pdf_pending"] == [second]
    for _ in range(50):                                 # LibreOffice goes with its worker (PDEATHSIG)
        if not any(_alive(p) for p in killed):
            break
        time.sleep(0.1)
    assert not any(_alive(p) for p in killed)

    started = resident.starts
    third = qms.json("record", "file", "QR-SV-022-02", "--data", data)["number"]
    assert resident.starts == started + 1                # the next filing restarted it
    assert "pdf" in qms.json("record", "show", third)["files"]
    qms("record", "pdf", "--pending")                    # made later
    assert qms.json("verify")["pdf_pending"] == []
    pdf = qms.root / qms.json("record", "show", second)["files"]["pdf"]
    assert pdfa_part(pdf) == "2B"


def test_an_import_stamps_each_converted_part_while_libreoffice_converts_the_next(qms, monkeypatch, on):
    # An import's PDFs: LibreOffice converts a part while a thread stamps the QRs of the part before
    # (records/pdfs.py). The stamp of part 1 waits here until part 2's conversion has begun: one after
    # the other, it would wait in vain.
    import threading

    import pypdfium2 as pdfium

    import qms.records.pdfs as pdfs
    from qms.scan._zxing import read_qr
    cfg = qms.root / "config.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("resident: auto", "resident: on"), encoding="utf-8")
    qms.apply_config()
    monkeypatch.setattr(convert, "PART", 2)
    real_convert, real_stamp = pdfs.to_pdf, pdfs.stamp_records
    second_part_converting = threading.Event()
    seen, overlapped = [], []

    def converting(sources, targets):
        seen.append(("convert", len(sources)))
        if len(seen) > 1:
            second_part_converting.set()
        return real_convert(sources, targets)

    def stamping(ws, items):
        seen.append(("stamp", len(items), threading.current_thread() is threading.main_thread()))
        if len(overlapped) == 0:
            overlapped.append(second_part_converting.wait(60))
        return real_stamp(ws, items)
    monkeypatch.setattr(pdfs, "to_pdf", converting)
    monkeypatch.setattr(pdfs, "stamp_records", stamping)
    rows = (REPO / "examples" / "records" / "phone-log-2026-03.csv").read_text(encoding="utf-8").splitlines()
    (qms.root / "five.csv").write_text("\n".join(rows[:6]) + "\n", encoding="utf-8")
    filed = qms.json("record", "import", "QR-SV-022-04", qms.root / "five.csv")
    assert overlapped == [True]
    assert [s for s in seen if s[0] == "convert"] == [("convert", 2), ("convert", 2), ("convert", 1)]
    assert [s for s in seen if s[0] == "stamp"] == [("stamp", 2, False), ("stamp", 2, False), ("stamp", 1, False)]
    for rec in filed:                                    # each its own PDF/A, its own QR on page 1
        pdf = qms.root / qms.json("record", "show", rec["number"])["files"]["pdf"]
        assert pdfa_part(pdf) == "2B"
        (text,) = read_qr(pdfium.PdfDocument(str(pdf))[0].render(scale=150 / 72).to_pil())
        assert text.split(":")[3] == rec["number"]

    # a stamp that fails in the second part: the chunk's PDFs all stay pending, made later
    def failing(ws, items):
        from qms.base.errors import QmsError
        if len([s for s in seen if s[0] == "stamp"]) >= 4:
            raise QmsError("the QR could not be placed")
        seen.append(("stamp", len(items), False))
        return real_stamp(ws, items)
    monkeypatch.setattr(pdfs, "stamp_records", failing)
    (qms.root / "three.csv").write_text("\n".join([rows[0]] + rows[6:9]) + "\n", encoding="utf-8")
    result = qms("record", "import", "QR-SV-022-04", qms.root / "three.csv", ok=False)
    assert result.exit_code == 3 and "PDFs pending for 3" in result.output, result.output
    assert len(qms.json("verify")["pdf_pending"]) == 3
    assert not list((qms.root / "archive").glob(".staging/*"))             # nothing half-promised
    monkeypatch.setattr(pdfs, "stamp_records", real_stamp)
    assert "converted 3 records" in qms("record", "pdf", "--pending").output
    assert qms.json("verify")["pdf_pending"] == []


def _newest(qms) -> str:
    rows = qms.json("record", "list")
    rows = rows["items"] if isinstance(rows, dict) else rows
    return max(r["number"] for r in rows)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_convert_resident_in_config_yaml_is_auto_on_or_off(tmp_path):
    from qms.base.errors import QmsError
    from qms.store.workspace import load_config
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    assert load_config(REPO / "config.yaml").convert_resident == "auto"
    for said, mode in (("off", "off"), ("on", "on"), ("auto", "auto")):     # YAML reads bare on/off as booleans
        (tmp_path / "config.yaml").write_text(text.replace("resident: auto", f"resident: {said}"), encoding="utf-8")
        assert load_config(tmp_path / "config.yaml").convert_resident == mode
    (tmp_path / "config.yaml").write_text(text.replace("resident: auto", "resident: sometimes"), encoding="utf-8")
    with pytest.raises(QmsError, match="auto, on, off") as err:
        load_config(tmp_path / "config.yaml")
    assert "resident" in err.value.format()

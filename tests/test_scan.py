"""The scan inbox (issue 22): a QR on every printed record, signed paper filing itself, a review
queue for the rest, OCR in the background, and bad input never losing a page."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conftest import example_data, write_data
from scanpages import as_scanned, page, pdf_of, sign_on

FORM = "QR-SV-022-02"      # 现场服务报告: valid once the customer signs it


def _ws(qms):
    from qms.store.workspace import open_workspace
    return open_workspace(qms.root)


def code(qms, number: str, version: int = 1) -> str:
    from qms.papercode import record_text
    return record_text(_ws(qms), number, version)


def file_reports(qms, n: int, **changes) -> list[str]:
    out = []
    for i in range(n):
        data = write_data(qms, example_data(FORM, **changes), f"r{i}.yaml")
        out.append(qms.json("record", "file", FORM, "--data", data, "--no-pdf")["number"])
    return out


def inbox(qms) -> Path:
    cfg = qms.root / "config.yaml"
    if "\nscan:" not in cfg.read_text(encoding="utf-8"):       # the shipped config.yaml has it
        with open(cfg, "a", encoding="utf-8") as fh:
            fh.write("\nscan:\n  inbox: inbox\n")
        qms.apply_config()
    box = qms.root / "inbox"
    box.mkdir(exist_ok=True)
    return box


def actions(qms) -> dict:
    """How many journal entries of each action (parsed: a config.applied entry names permissions too)."""
    from collections import Counter
    lines = (qms.archive / "audit.log").read_text(encoding="utf-8").splitlines()
    return Counter(json.loads(x)["action"] for x in lines if x.strip())


def files_of(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "catalog.sqlite" not in p.name
            and p.parts[-2:-1] != ("index",) and "index" not in p.relative_to(folder).parts}


# ------------------------------------------------------------------ the one-page report, as people do it

def test_a_printed_report_signed_and_scanned_files_itself(qms):
    """The record's own PDF (QR stamped in the PDF stage), rasterised at 200 dpi, signed with a pen,
    turned 3° on the glass, JPEG q60, dropped into the inbox: signed after one poll."""
    import pypdfium2 as pdfium
    data = write_data(qms, example_data(FORM), "r.yaml")
    number = qms.json("record", "file", FORM, "--data", data)["number"]
    pdf = next(qms.archive.rglob(f"{number}.pdf"))
    doc = pdfium.PdfDocument(str(pdf))
    first = doc[0].render(scale=200 / 72).to_pil()
    box = inbox(qms)
    (box / "IMG_0412.jpg").write_bytes(as_scanned(sign_on(first)))
    out = qms("scan", "consume").output
    assert number in out
    shown = qms.json("record", "show", number)
    assert shown["status"] == "filed"
    assert "王海涛" in json.dumps(shown, ensure_ascii=False)
    assert "signed-scan.pdf" in json.dumps(shown, ensure_ascii=False)
    assert not list(box.iterdir())                      # taken in: the original is in the archive now
    originals = list(qms.archive.glob("scans/*/*/original.jpg"))
    assert len(originals) == 1
    assert qms.json("scan", "list") == []
    assert qms.json("verify")["ok"]


# ------------------------------------------------------------------ a bundle

def test_a_bundle_of_twenty_reports_splits_at_each_qr(qms, tmp_path):
    numbers = file_reports(qms, 20)
    pages = [page(None, "no QR here, a cover sheet"), page(None, "another stray page")]
    for n in numbers:
        pages += [sign_on(page(code(qms, n), f"report {n} page 1")), page(None, f"{n} page 2"),
                  page(None, f"{n} page 3")]
    assert len(pages) == 62
    box = inbox(qms)
    bundle = pdf_of(pages, tmp_path / "bundle.pdf")
    original = bundle.read_bytes()
    (box / "bundle.pdf").write_bytes(original)
    qms("scan", "consume")
    for n in numbers:
        shown = qms.json("record", "show", n)
        assert shown["status"] == "filed", n
        scan = next(qms.archive.rglob(f"{n}/v1/signed-scan.pdf"))
        from pypdf import PdfReader
        assert len(PdfReader(scan).pages) == 3, n
    queued = qms.json("scan", "list")
    assert sorted(p for q in queued for p in q["pages"]) == [1, 2]
    kept = next(qms.archive.glob("scans/*/*/original.pdf"))
    assert kept.read_bytes() == original                 # byte-identical, with its SHA-256 journaled
    receive = [json.loads(x) for x in (qms.archive / "audit.log").read_text().splitlines()
               if '"scan.receive"' in x][-1]
    assert receive["data"]["sha256"] == hashlib.sha256(original).hexdigest()
    # the same file again: nothing changes
    before = files_of(qms.archive)
    (box / "bundle-again.pdf").write_bytes(original)
    assert "未作任何更改" in qms("scan", "consume").output
    assert files_of(qms.archive) == before
    assert qms.json("verify")["ok"]


# ------------------------------------------------------------------ the queue

def test_untrusted_qrs_and_bad_pages_wait_in_the_queue(qms, tmp_path):
    number, other = file_reports(qms, 2)
    good = code(qms, number)
    other_ws = good.replace(good.split(":")[2], "DEADBEEF")
    wrong_check = good[:-12] + "0" * 12
    box = inbox(qms)
    (box / "other.jpg").write_bytes(as_scanned(page(other_ws, "from another workspace")))
    (box / "forged.jpg").write_bytes(as_scanned(page(wrong_check, "typed by hand")))
    (box / "passwd.png").write_bytes(_png(page("../../etc/passwd")))
    (box / "long.png").write_bytes(_png(page("QMS1:" + "x" * 1000, qr_px=700)))
    (box / "two.png").write_bytes(_png(page(good, qr2=code(qms, other))))
    (box / "empty.pdf").write_bytes(b"")
    (box / "broken.pdf").write_bytes(b"%PDF-1.4\n%broken\n1 0 obj <<")
    out = qms("scan", "consume")
    assert "Traceback" not in out.output
    queued = {q["file"]: q for q in qms.json("scan", "list")}
    assert set(queued) == {"other.jpg", "forged.jpg", "passwd.png", "long.png", "two.png", "empty.pdf", "broken.pdf"}
    assert "another workspace" in queued["other.jpg"]["reason"]
    assert "check" in queued["forged.jpg"]["reason"]
    assert "not printed by qms" in queued["passwd.png"]["reason"]
    assert "empty" in queued["empty.pdf"]["reason"]
    assert "two records" in queued["two.png"]["reason"]
    assert qms.json("record", "show", other)["status"] == "awaiting_signature"
    assert qms.json("record", "show", number)["status"] == "awaiting_signature"
    # a person decides: the forged-looking page is the report after all; the empty file is nothing
    item = queued["forged.jpg"]["id"]
    assert qms.json("scan", "show", item)["file"] == "forged.jpg"
    qms("scan", "assign", item, number, "--signer", "王海涛:用户代表", "--signed-on", "2026-03-12")
    assert qms.json("record", "show", number)["status"] == "filed"
    assert "--reason" in qms.fail("scan", "discard", queued["empty.pdf"]["id"], "--reason", " ")
    qms("scan", "discard", queued["empty.pdf"]["id"], "--reason", "扫描仪空文件")
    left = {q["file"] for q in qms.json("scan", "list")}
    assert "forged.jpg" not in left and "empty.pdf" not in left
    log = (qms.archive / "audit.log").read_text(encoding="utf-8")
    assert '"scan.discard"' in log and "扫描仪空文件" in log
    queue_before, jobs_before = qms.json("scan", "list", "--all"), qms.json("jobs")
    qms("rebuild")                                    # the queue and the jobs are projections of the journal
    assert qms.json("scan", "list", "--all") == queue_before and qms.json("jobs") == jobs_before
    assert qms.json("verify")["ok"]


def _png(im) -> bytes:
    import io
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_oversized_and_bomb_images_are_refused_in_one_line(qms, tmp_path):
    from PIL import Image
    box = inbox(qms)
    big = Image.new("1", (20000, 20000), 1)          # 400 megapixels, tiny as a 1-bit PNG
    big.save(box / "huge.png", optimize=True)
    out = qms("scan", "consume").output
    assert "Traceback" not in out
    (item,) = qms.json("scan", "list")
    assert "megapixels" in item["reason"] or "bomb" in item["reason"]
    assert next(qms.archive.glob("scans/*/*/original.png")).stat().st_size > 0


def test_a_blank_forms_qr_goes_to_the_queue(qms, tmp_path):
    """The printed blank form carries the form id and revision; scanned unfilled, it waits for a person."""
    import pypdfium2 as pdfium
    qms("form", "blank", FORM, "-o", tmp_path / "blank.pdf")
    im = pdfium.PdfDocument(str(tmp_path / "blank.pdf"))[0].render(scale=200 / 72).to_pil()
    box = inbox(qms)
    (box / "blank.jpg").write_bytes(as_scanned(im))
    qms("scan", "consume")
    (item,) = qms.json("scan", "list")
    assert "blank form" in item["reason"] and FORM in item["reason"]


# ------------------------------------------------------------------ crashes

@pytest.mark.parametrize("point", ["logged:1", "logged:2", "placed:3"])
def test_a_kill_during_consume_loses_and_doubles_nothing(qms, tmp_path, point):
    import os
    import subprocess
    import sys
    numbers = file_reports(qms, 2)
    box = inbox(qms)
    pdf_of([page(code(qms, n), n) for n in numbers], box / "two.pdf")
    env = {**os.environ, "QMS_CRASH_AT": point, "QMS_CONFIG_HOME": str(qms.config_home),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run([sys.executable, "-m", "qms", "-w", str(qms.root), "scan", "consume"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == -9
    qms("scan", "consume")                   # the next command finishes what was promised
    for n in numbers:
        assert qms.json("record", "show", n)["status"] == "filed"
    acts = actions(qms)
    assert acts["record.sign"] == 2 and acts["scan.receive"] == 1 and acts["scan.filed"] == 2
    assert qms.json("verify")["ok"]


# ------------------------------------------------------------------ OCR in the background

def test_ocr_makes_an_image_only_scan_searchable_even_after_a_kill(qms):
    """The Chinese sentence is only pixels; after the OCR job (killed once after recognising, before
    committing) `qms search` finds it and the hit says OCR; nothing doubled, verify passes."""
    import os
    import subprocess
    import sys

    from scanpages import chinese_page
    (number,) = file_reports(qms, 1)
    box = inbox(qms)
    (box / "scan.jpg").write_bytes(as_scanned(chinese_page(code(qms, number), "机房通风良好没有异味"),
                                              angle=0, quality=85))
    qms("scan", "consume")
    assert qms.json("record", "show", number)["status"] == "filed"      # filing did not wait for OCR
    (job,) = qms.json("jobs")
    assert job["kind"] == "ocr" and job["state"] == "queued"
    env = {**os.environ, "QMS_CRASH_AT": "ocr-done", "QMS_CONFIG_HOME": str(qms.config_home),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run([sys.executable, "-m", "qms", "-w", str(qms.root), "jobs", "run"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == -9
    assert qms.json("jobs")[0]["state"] == "queued"
    qms("jobs", "run", "--wait")
    (job,) = qms.json("jobs")
    assert job["state"] == "done"
    hits = qms.json("search", "机房通风")
    assert [h["number"] for h in hits["hits"] if "OCR" in json.dumps(h, ensure_ascii=False)] == [number]
    folder = next(qms.archive.rglob(f"{number}/v1"))
    assert (folder / "signed-scan.ocr.pdf").is_file() and (folder / "signed-scan.ocr.txt").is_file()
    log = (qms.archive / "audit.log").read_text(encoding="utf-8")
    assert actions(qms)["scan.ocr"] == 1 and actions(qms)["job.done"] == 1
    qms("jobs", "run")                                   # again: nothing to do, nothing changes
    assert (qms.archive / "audit.log").read_text(encoding="utf-8") == log
    assert qms.json("verify")["ok"]


# ------------------------------------------------------------------ the web page

def test_the_queue_on_the_web_with_page_images_assign_and_the_record_page(qms):
    import warnings
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient

    from qms.web import create_app
    from webkit import login
    (number,) = file_reports(qms, 1)
    box = inbox(qms)
    (box / "photo.png").write_bytes(_png(sign_on(page(None, "signed, but the QR was torn off"))))
    qms("scan", "consume")
    (item,) = qms.json("scan", "list")
    c = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    csrf = login(c, "tester")
    r = c.get("/scans")
    assert r.status_code == 200 and item["id"] in r.text and "扫描件待审" in r.text
    img = c.get(f"/scans/{item['id']}/page/1.png")
    assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
    r = c.post(f"/scans/{item['id']}/assign", data={"csrf_token": csrf, "number": number, "signer": "王海涛",
                                                    "signer_role": "用户代表", "signed_on": "2026-03-12"},
               follow_redirects=False)
    assert r.status_code == 303
    assert qms.json("scan", "list") == []
    page_html = c.get(f"/records/{number}").text
    assert "王海涛" in page_html and "signed-scan.pdf" in page_html
    r = c.post(f"/scans/{item['id']}/discard", data={"csrf_token": csrf, "reason": "x"})
    assert r.status_code == 400                          # decided already: one line, nothing changed


def test_the_watched_inbox_files_a_scan_while_serving_and_waits_for_a_file_being_written(qms):
    import time

    from qms.scan import watch
    (number,) = file_reports(qms, 1)
    box = inbox(qms)
    ws = _ws(qms)
    running = watch.start(ws, jobs_every=3600)
    try:
        data = as_scanned(sign_on(page(code(qms, number))))
        target = box / "scan.jpg.part"
        target.write_bytes(data[: len(data) // 2])          # the scanner is still writing
        time.sleep(1.5)
        assert qms.json("record", "show", number)["status"] == "awaiting_signature"
        with open(target, "ab") as fh:
            fh.write(data[len(data) // 2:])
        target.rename(box / "scan.jpg")
        for _ in range(60):
            if qms.json("record", "show", number)["status"] == "filed":
                break
            time.sleep(0.5)
        assert qms.json("record", "show", number)["status"] == "filed"
    finally:
        running.stop()
    assert qms.json("verify")["ok"]


def test_an_encrypted_pdf_and_a_300_page_scan_wait_in_the_queue_in_one_line(qms, tmp_path):
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter
    box = inbox(qms)
    pdf = FPDF()
    for _ in range(300):
        pdf.add_page()
    (box / "huge.pdf").write_bytes(bytes(pdf.output()))
    w = PdfWriter(clone_from=PdfReader(box / "huge.pdf"))
    w.encrypt("secret")
    buf = tmp_path / "locked.pdf"
    with open(buf, "wb") as fh:
        w.write(fh)
    (box / "locked.pdf").write_bytes(buf.read_bytes())
    out = qms("scan", "consume").output
    assert "Traceback" not in out and len(out.strip().splitlines()) == 2
    queued = {q["file"]: q["reason"] for q in qms.json("scan", "list")}
    assert "encrypted" in queued["locked.pdf"]
    assert "300 pages" in queued["huge.pdf"]
    assert len(list(qms.archive.glob("scans/*/*/original.pdf"))) == 2        # kept, not lost
    assert qms.json("verify")["ok"]


def test_the_qr_names_workspace_number_version_and_a_check_and_fits_version_3():
    import segno

    from qms.papercode import codes
    text = "QMS1:R:ABCD1234:QR-SV-022-02-2026-0001:1:0123456789AB"
    assert segno.make_qr(text, error="m", boost_error=False).version == 3     # big modules on paper
    assert codes.is_ours(text) and not codes.is_ours("../../etc/passwd")


def test_a_chunk_of_pdfs_stamped_together_each_carries_its_own_qr(tmp_path):
    # An import stamps a chunk's PDFs from one overlay document (add_qrs): each first page still gets
    # its own QR and number, in its own corner (A4, A4 landscape, a page shown turned by /Rotate).
    import pypdfium2 as pdfium
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    from qms.papercode.qrstamp import add_qrs
    from qms.scan._zxing import read_qr
    items = []
    for i, (fmt, rotate) in enumerate([("A4", 0), ("A4", 90), ((842, 595), 0)]):
        doc = FPDF(unit="pt", format=fmt)
        doc.add_page()
        doc.add_page()
        path = tmp_path / f"r{i}.pdf"
        path.write_bytes(bytes(doc.output()))
        if rotate:
            w = PdfWriter(clone_from=PdfReader(path))
            w.pages[0].rotate(rotate)
            w.write(path)
        items.append((path, f"QMS1:R:ABCD1234:QR-SV-022-04-2026-{i:04d}:1:0123456789AB", f"QR-SV-022-04-2026-{i:04d}"))
    add_qrs(items)
    for path, text, label in items:
        page = pdfium.PdfDocument(str(path))[0]
        image = page.render(scale=200 / 72).to_pil()
        assert read_qr(image) == [text], path.name
        w, h = image.size
        assert read_qr(image.crop((w // 2, 0, w, h // 3))) == [text], path.name        # top-right
        assert label in PdfReader(path).pages[0].extract_text().replace("\x00", "")
        assert len(PdfReader(path).pages) == 2 and read_qr(pdfium.PdfDocument(str(path))[1]
                                                          .render(scale=100 / 72).to_pil()) == []


def test_a_clerk_confirms_each_scan_when_the_configuration_asks(qms):
    (number,) = file_reports(qms, 1)
    box = inbox(qms)
    cfg = qms.root / "config.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("confirm: false", "confirm: true"), encoding="utf-8")
    qms.apply_config()                                  # an edit of what governs the archive is applied (journaled)
    (box / "scan.jpg").write_bytes(as_scanned(sign_on(page(code(qms, number)))))
    qms("scan", "consume")
    (item,) = qms.json("scan", "list")
    assert item["number"] == number and "confirm" in item["reason"]
    assert qms.json("record", "show", number)["status"] == "awaiting_signature"
    out = qms("scan", "assign", item["id"], number, "--signer", "王海涛:用户代表").output
    assert number in out
    assert qms.json("record", "show", number)["status"] == "filed"
    assert "不在待审" in qms.fail("scan", "assign", item["id"], number, "--signer", "王海涛")


def test_a_failing_job_is_retried_up_to_its_limit_and_never_blocks_filing(qms, monkeypatch):
    from qms.jobs import list_jobs, run_pending
    from qms.adapters import ocr as _ocrmypdf
    (number,) = file_reports(qms, 1)
    box = inbox(qms)
    (box / "scan.jpg").write_bytes(as_scanned(sign_on(page(code(qms, number)))))
    qms("scan", "consume")
    assert qms.json("record", "show", number)["status"] == "filed"

    def broken(*a, **k):
        raise _ocrmypdf.OcrFailed("tesseract crashed")
    monkeypatch.setattr(_ocrmypdf, "ocr_pdf", broken)
    results = run_pending(_ws(qms), actor="test", wait=True)
    assert [r.outcome for r in results] == ["failed", "failed", "gave_up"]
    (job,) = list_jobs(_ws(qms))
    assert job["state"] == "failed" and job["attempts"] == 3 and "tesseract crashed" in job["last_error"]
    assert run_pending(_ws(qms), actor="test", wait=True) == []           # given up: not tried again
    assert "failed" in qms("jobs").output
    assert qms.json("verify")["ok"]


def test_two_runners_on_one_inbox_file_each_page_once(qms):
    """The watcher in qms serve and a cron `qms scan consume` at the same moment: one receive, each
    record signed once, nothing queued."""
    import os
    import subprocess
    import sys
    numbers = file_reports(qms, 3)
    box = inbox(qms)
    pdf_of([page(code(qms, n), n) for n in numbers], box / "three.pdf")
    env = {**os.environ, "QMS_CONFIG_HOME": str(qms.config_home),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    runs = [subprocess.Popen([sys.executable, "-m", "qms", "-w", str(qms.root), "scan", "consume"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [r.communicate(timeout=300) for r in runs]
    assert all("Traceback" not in o + e for o, e in outs) and [r.returncode for r in runs] == [0, 0], outs
    acts = actions(qms)
    assert acts["scan.receive"] == 1 and acts["record.sign"] == 3 and acts["scan.filed"] == 3
    assert qms.json("scan", "list") == []
    assert qms.json("verify")["ok"]


def test_a_second_scan_of_a_signed_record_and_an_unknown_number_wait_in_the_queue(qms):
    (number,) = file_reports(qms, 1)
    box = inbox(qms)
    (box / "first.jpg").write_bytes(as_scanned(sign_on(page(code(qms, number)))))
    qms("scan", "consume")
    (box / "again.jpg").write_bytes(as_scanned(sign_on(page(code(qms, number), "a second copy"), box=(300, 1700))))
    (box / "unknown.jpg").write_bytes(as_scanned(page(code(qms, "QR-SV-022-02-2026-9999"))))
    qms("scan", "consume")
    queued = {q["file"]: q["reason"] for q in qms.json("scan", "list")}
    assert "not awaiting a signature" in queued["again.jpg"]
    assert "unknown record" in queued["unknown.jpg"]
    assert len(qms.json("record", "show", number)["signatures"]) == 1


def test_a_photo_signed_by_hand_in_the_cli_is_queued_for_ocr_once(qms, tmp_path):
    (number,) = file_reports(qms, 1)
    photo = tmp_path / "IMG_2001.jpg"
    photo.write_bytes(as_scanned(sign_on(page(None, "no QR: attached by hand")), angle=0))
    qms("record", "sign", number, "--scan", photo, "--signer", "王海涛:用户代表")
    (job,) = qms.json("jobs")
    assert job["kind"] == "ocr" and job["target"] == number and job["state"] == "queued"
    assert actions(qms)["job.queue"] == 1

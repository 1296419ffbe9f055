"""Signatures a person can see, each covering the version it was given for (issue 18, items 2, 3, 8):
an amended signed record waits for the customer again with the old signature shown for v1; the
filer's electronic signature in `record show`, the web page and the printed form; a phone photo as
the scan; the customer's own date; a filer field naming someone else."""

from __future__ import annotations

import hashlib
import io

import pytest
from docxtext import docx_text
from pypdf import PdfReader

from qms.adapters.pdf import pdf_text

from conftest import PASSWORDS, example_data, make_scan, write_data


def photo(path, size=(600, 800)):
    """A phone photo of the signed form (JPEG)."""
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def file_signed_report(qms, *extra) -> str:
    """A field report filed by the tester with their e-signature, signed on paper on 2026-11-05."""
    data = write_data(qms, example_data("QR-SV-022-02", engineer=""), "report.yaml")
    number = qms.json("record", "file", "QR-SV-022-02", "--data", data, "--sign", "--password-stdin", *extra,
                      input=PASSWORDS["tester"] + "\n")["number"]
    qms("record", "sign", number, "--scan", make_scan(qms.root / "v1-signed.pdf", "signed v1"),
        "--signer", "王海涛:用户代表", "--signed-on", "2026-11-05")
    return number


def test_amending_a_signed_record_waits_for_the_customer_with_the_signature_shown_for_v1(qms):
    number = file_signed_report(qms, "--no-pdf")
    assert qms.json("record", "show", number)["status"] == "filed"
    out = qms("record", "amend", number, "--set", "customer_opinion=请补充油冷却器清洗说明", "--reason", "用户来电补充意见",
              "--no-pdf").output
    assert "待用户签字" in out and "covers version 1 only" in out
    shown = qms.json("record", "show", number)
    assert (shown["status"], shown["version"], shown["signed_version"]) == ("awaiting_signature", 2, 1)
    paper = [s for s in shown["signatures"] if s["kind"] == "scan"]
    assert [(s["name"], s["role"], s["signed_on"], s["version"]) for s in paper] == [("王海涛", "用户代表", "2026-11-05", 1)]
    assert number in [r["number"] for r in qms.records("--status", "awaiting_signature")]
    text = qms("record", "show", number).output
    assert "用户签字 王海涛 用户代表  签字日期 2026-11-05  第1版" in text
    assert "用户签字签于第1版；现行第2版待用户签字" in text
    # the amended version's form says which version the signatures cover and that it waits
    v2 = docx_text(qms.root / shown["files"]["docx"])
    assert "第1版的签字：" in v2 and "王海涛（用户代表）签字 2026年11月05日" in v2 and "第2版须经用户重新签字后方为有效" in v2
    assert "服务工程师 测试员 电子签名" in v2
    # signing again (a phone photo) attaches the new scan to version 2; version 1's stays as it was
    v1_scan = qms.root / shown["files"]["scan"]
    v1_bytes = v1_scan.read_bytes()
    assert "/v1/" in shown["files"]["scan"]
    out = qms("record", "sign", number, "--scan", photo(qms.root / "IMG_0002.jpg"), "--signer", "王海涛:用户代表",
              "--signed-on", "2026-12-01").output
    assert "version 2" in out
    shown = qms.json("record", "show", number)
    assert (shown["status"], shown["signed_version"]) == ("filed", 2)
    assert [(s["version"], s["signed_on"]) for s in shown["signatures"] if s["kind"] == "scan"] == [
        (1, "2026-11-05"), (2, "2026-12-01")]
    assert "/v2/" in shown["files"]["scan"] and v1_scan.read_bytes() == v1_bytes
    assert (qms.root / shown["files"]["scan"]).read_bytes().startswith(b"%PDF")
    assert "用户签字签于" not in qms("record", "show", number).output
    assert qms.json("verify", "--deep")["ok"] is True        # the replayed catalog agrees


def test_amending_an_unsigned_form_keeps_it_filed(qms):
    data = write_data(qms, example_data("QR-SV-022-07"), "log.yaml")
    number = qms.json("record", "file", "QR-SV-022-07", "--data", data, "--no-pdf")["number"]
    out = qms("record", "amend", number, "--set", "工作内容=更换滤芯", "--reason", "笔误", "--no-pdf").output
    assert "待用户签字" not in out
    assert qms.json("record", "show", number)["status"] == "filed"


def test_the_filers_e_signature_is_listed_and_printed_on_the_form(qms):
    # 设备保养记录 (the generic layout): 保养人 is the filer's signature field
    data = write_data(qms, example_data("QR-SV-022-08", engineer=""), "maint.yaml")
    number = qms.json("record", "file", "QR-SV-022-08", "--data", data, "--sign", "--password-stdin",
                      input=PASSWORDS["tester"] + "\n")["number"]
    shown = qms.json("record", "show", number)
    (sig,) = shown["signatures"]
    assert (sig["kind"], sig["name"], sig["login"], sig["role"], sig["version"]) == (
        "electronic", "测试员", "tester", "保养人", 1)
    assert sig["meaning"] == "作为保养人签署本记录（填表人本人电子签名）"
    assert sig["at"].endswith("+08:00") and sig["signed_on"] == sig["at"][:10]
    hhmm = sig["at"][11:16]
    assert f"电子签名 保养人 测试员（tester）  {sig['at'][:10]} {hhmm}  第1版" in qms("record", "show", number).output
    when = f"{sig['at'][:4]}年{sig['at'][5:7]}月{sig['at'][8:10]}日 {hhmm}"
    text = pdf_text(qms.root / shown["files"]["pdf"]).replace(" ", "").replace("\n", "")
    # the generic form's own cells: 姓名 the printed name, 签字 the e-signature, 日期 its day
    assert f"保养人姓名：测试员签字：测试员（电子签名）日期：{when[:11]}" in text, text[-300:]


def test_the_field_reports_engineer_cell_shows_the_e_signature(qms):
    data = write_data(qms, example_data("QR-SV-022-02", engineer=""), "report.yaml")
    number = qms.json("record", "file", "QR-SV-022-02", "--data", data, "--no-pdf", "--sign", "--password-stdin",
                      input=PASSWORDS["tester"] + "\n")["number"]
    shown = qms.json("record", "show", number)
    assert [s["kind"] for s in shown["signatures"]] == ["electronic"]
    assert "测试员（电子签名）" in docx_text(qms.root / shown["files"]["docx"])


def test_a_filer_field_naming_someone_else_warns_and_is_journaled(qms):
    data = write_data(qms, example_data("QR-SV-022-02", engineer="赵建国"), "report.yaml")
    result = qms("record", "file", "QR-SV-022-02", "--data", data, "--no-pdf")
    assert "warning: 服务工程师（engineer）是填表人的签字栏，填的是 赵建国，而归档人是 测试员（tester）" in result.stderr
    assert "warning" not in result.stdout
    number = result.stdout.split()[1]
    entry = [e for e in qms.log("--target", number) if e["action"] == "record.file"][0]
    assert "赵建国" in entry["data"]["warnings"][0]
    # the filer's own name: nothing to say
    mine = write_data(qms, example_data("QR-SV-022-02", engineer="测试员"), "mine.yaml")
    assert "warning" not in qms("record", "file", "QR-SV-022-02", "--data", mine, "--no-pdf").stderr


def test_a_phone_photo_is_accepted_as_the_scan_by_the_cli(qms):
    data = write_data(qms, example_data("QR-SV-022-02"), "report.yaml")
    number = qms.json("record", "file", "QR-SV-022-02", "--data", data, "--no-pdf")["number"]
    png = qms.root / "IMG_0007.png"
    from PIL import Image
    Image.new("RGB", (1200, 900), "white").save(png, "PNG")          # a landscape photo, PNG
    out = qms.json("record", "sign", number, "--scan", png, "--signer", "王海涛", "--signed-on", "2026-11-05")
    assert out["status"] == "filed" and out["signed_on"] == "2026-11-05"
    shown = qms.json("record", "show", number)
    scan = qms.root / shown["files"]["scan"]
    assert len(PdfReader(scan).pages) == 1
    sign = [e for e in qms.log("--target", number) if e["action"] == "record.sign"][0]
    assert sign["data"]["scan_name"] == "IMG_0007.png"
    assert sign["data"]["sha256"] == hashlib.sha256(scan.read_bytes()).hexdigest()


@pytest.mark.filterwarnings("ignore:.*httpx2")        # starlette's TestClient, as in test_web.py
def test_the_web_record_page_shows_both_signatures_their_versions_and_the_customers_date(qms):
    from starlette.testclient import TestClient
    from webkit import login
    from qms.web import create_app
    number = file_signed_report(qms, "--no-pdf")
    c = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    login(c, "tester")
    page = c.get(f"/records/{number}").text
    assert "电子签名" in page and "测试员（tester）" in page
    assert "2026年11月05日" in page                      # the date the customer wrote, not the upload time
    qms("record", "amend", number, "--set", "customer_opinion=补充", "--reason", "补充意见", "--no-pdf")
    page = c.get(f"/records/{number}").text
    assert "用户签字签于第 1 版；现行第 2 版" in page     # then the state, in the web's words
    assert f"/files/{number}/signed-scan.pdf?v=v1" in page
    assert c.get(f"/files/{number}/signed-scan.pdf?v=v1").content.startswith(b"%PDF")
    # filed and e-signed on the web (the engineer's password): the page shows the e-signature too
    import json
    data = json.loads(json.dumps(example_data("QR-SV-022-08"), default=str))
    data.pop("engineer")
    csrf = login(c, "tester")
    web = c.post("/api/records", json={"form": "QR-SV-022-08", "data": data, "pdf": False,
                                       "password": PASSWORDS["tester"]}, headers={"x-csrf-token": csrf}).json()
    page = c.get(f"/records/{web['number']}").text
    assert "测试员（tester）" in page and "保养人" in page and "电子签名" in page and "第 1 版" in page
    (sig,) = c.get(f"/api/records/{web['number']}").json()["signatures"]
    assert (sig["name"], sig["login"], sig["kind"]) == ("测试员", "tester", "electronic")


def test_the_yearly_volume_says_which_version_the_scan_signed(qms):
    number = file_signed_report(qms, "--no-pdf")
    qms("record", "amend", number, "--set", "customer_opinion=补充", "--reason", "补充意见", "--no-pdf")
    out = qms.root / "volume.pdf"
    qms("compile", "--form", "QR-SV-022-02", "--year", "2026", "-o", out)
    cover = PdfReader(out).pages[0].extract_text().replace("\x00", "").replace(" ", "").replace("\n", "")
    assert f"{number}：现行第2版尚未经用户签字；所附签字扫描件签于第1版" in cover, cover
    titles = [o.title for o in PdfReader(out).outline if not isinstance(o, list)]
    assert any("第2版未经用户签字，用户签字签于第1版" in t for t in titles), titles
    inner = [o.title for o in PdfReader(out).outline if isinstance(o, list) for o in o]
    assert f"{number} 签字扫描件（第1版，2026年11月05日签字）" in inner, inner

"""Issue 12, documents: two procedures written from the seeds (examples/procedures) go through
qms as a quality manager would use them, and the released files read as such a person expects:
real numbers (WY-QP-7.5-01, HX/QP-05), untitled clauses on one line, 术语 after 范围, a flow
chart with its caption, three 会签 each with the date they signed on, controlled copies with their
发放编号, the superseded master stamped, lifecycle holes closed.

Each signer signs in their own session with their password; an electronic signature carries the
moment it is made, so the days between signatures are the clock's (`signing_on`), not an option."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import zipfile

import pytest
import time_machine
from pypdf import PdfReader

from qms.adapters.pdf import pdf_text
from docxtext import docx_text

from conftest import LOGIN_OF, PASSWORDS, REPO, Qms, add_staff, cli_init, make_workspace

PROCEDURES = REPO / "examples" / "procedures"
SIGNERS = [("编制", "张建华", "2026-03-02"), ("会签", "李明", "2026-03-03"), ("会签", "周静", "2026-03-04"),
           ("会签", "孙立强", "2026-03-05"), ("审定", "王立新", "2026-03-06"), ("标审", "陈芳", "2026-03-09"),
           ("批准", "赵国庆", "2026-03-10")]


@contextlib.contextmanager
def signing_on(day: str):
    """The signer's clock reads `day`, 09:30 in Shanghai (they sign that morning): the one clock moved."""
    with time_machine.travel(dt.datetime.fromisoformat(f"{day}T09:30:00+08:00"), tick=False):
        yield


def sign_all(q: Qms, number: str, signers=SIGNERS) -> None:
    """Each person signs in their own session, typing their password, on their day."""
    for role, name, on in signers:
        with signing_on(on):
            login = LOGIN_OF[name]                      # that morning they log in, then sign
            q.as_(login)("login", login, "--password-stdin", input=PASSWORDS[login] + "\n")
            q.sign(number, role, name)


def staffed(root, org=None) -> Qms:
    """`qms init ROOT --org ORG --admin …`, then the admin adds the people; the tester's session."""
    cli_init(root, org)
    return add_staff(root)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """Both example procedures released with PDFs, WY-QP-7.5-01 with one controlled copy."""
    qms = staffed(tmp_path_factory.mktemp("procs") / "ws", org="华东精密机械有限公司")
    shutil.copytree(PROCEDURES, qms.root / "procedures")
    out = {}
    for name in ("technical-service", "delivery-service"):
        source = qms.root / "procedures" / f"{name}.yaml"
        res = qms("doc", "submit", source, "--json")
        number = __import__("json").loads(res.stdout)["number"]
        out[name] = (number, res.stderr)
        sign_all(qms, number)
        qms("doc", "release", number, "--issued", "2026-03-13", "--effective", "2026-03-20")
    qms("doc", "issue-copy", "WY-QP-7.5-01", "--holder", "生产部")
    return qms, out


def lines_of(path) -> list[str]:
    return [line.strip() for line in docx_text(path).splitlines() if line.strip()]


def test_numbers_with_clause_numbers_and_slashes(released):
    qms, out = released
    assert [n for n, _ in out.values()] == ["WY-QP-7.5-01", "HX/QP-05"]
    shown = qms.json("doc", "show", "HX/QP-05")
    assert shown["status"] == "effective"
    # the slash never becomes a folder: HX／QP-05 (full-width solidus) holds the revision
    folder = qms.archive / "documents" / "HX\uff0fQP-05" / "A-0"
    assert folder.is_dir() and not (qms.archive / "documents" / "HX").exists()
    assert (folder / "HX\uff0fQP-05_A-0.pdf").is_file()
    assert "文件编号：HX/QP-05" in docx_text(folder / "HX\uff0fQP-05_A-0.docx")
    assert qms.json("verify")["ok"] is True
    assert "does not match" in qms.fail("doc", "check", _variant(qms, "number: HX/QP-05", "number: HX//QP-05"))


def _variant(qms: Qms, old: str, new: str, name: str = "variant.yaml"):
    src = qms.root / "procedures" / "delivery-service.yaml"
    path = qms.root / "procedures" / name
    path.write_text(src.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return path


def test_untitled_clauses_terms_and_the_figure_read_as_in_a_procedure(released):
    qms, _ = released
    shown = qms.json("doc", "show", "HX/QP-05")
    lines = lines_of(qms.root / shown["files"]["docx"])
    # 3 术语 after 2 适用范围, then 4 职责 whose untitled clauses read "4.1 营销部负责…" on one line
    assert lines.index("2 适用范围") < lines.index("3 术语") < lines.index("4 职责")
    assert "交付后活动：产品交付后为顾客提供的培训、安装调试、技术咨询、维修及质保期外的有偿服务等活动。" in lines
    assert "4.1 营销部负责服务过程的归口管理，包括交付、交付后活动的监督。" in lines
    assert "4.1" not in lines                                  # never a number alone on its line
    # the figure: a picture in the docx, its caption below, inside clause 5.1.3
    assert lines.index("5.1.3 交付流程见图1。") < lines.index("图1 交付流程图") < lines.index("5.2 交付后的活动")
    docx = qms.root / shown["files"]["docx"]
    with zipfile.ZipFile(docx) as z:
        assert "word/media/qms-figure-1.png" in z.namelist()
        assert "<wp:inline" in z.read("word/document.xml").decode()
        image = z.read("word/media/qms-figure-1.png")
    # archived with the revision, under the path the source names, byte for byte
    archived = qms.root / "archive/documents/HX\uff0fQP-05/A-0/figures/delivery-flow.png"
    assert archived.read_bytes() == image == (PROCEDURES / "figures/delivery-flow.png").read_bytes()
    assert "figures/delivery-flow.png" in __import__("json").loads(
        (archived.parent.parent / "manifest.json").read_text())["files"]
    # the PDF shows it: page with the caption has an image
    pdf = PdfReader(qms.root / shown["files"]["pdf"])
    page = next(p for p in pdf.pages if "图1 交付流程图" in p.extract_text())
    assert list(page.images)


def test_each_countersigner_has_a_date_and_the_cover_keeps_its_dates(released):
    qms, _ = released
    shown = qms.json("doc", "show", "WY-QP-7.5-01")
    text = docx_text(qms.root / shown["files"]["docx"])
    assert "会签\n李明\n周静\n孙立强\n2026年03月03日\n2026年03月04日\n2026年03月05日" in text
    assert [a["signed_on"] for a in shown["approvals"] if a["role"] == "countersigned"] == [
        "2026-03-03", "2026-03-04", "2026-03-05"]
    # three 会签 rows still leave 发布/实施 on the cover page
    cover = PdfReader(qms.root / shown["files"]["pdf"]).pages[0].extract_text()
    assert "2026年03月13日发布" in cover.replace(" ", "") and "孙立强" in cover


def test_unknown_forms_and_documents_are_warnings(released, tmp_path):
    qms, out = released
    # submitted before HX/QP-05 existed: its reference was flagged, and the document still went in
    assert "HX/QP-05 is not in this workspace" in out["technical-service"][1]
    bad = _variant(qms, "records: [QR-SV-022-01, QR-SV-022-02]", "records: [QR-SV-022-01, QR-XX-404]", "bad.yaml")
    res = qms("doc", "check", bad)
    assert "QR-XX-404" in res.stderr and "does not exist" in res.stderr
    assert "WY-QP-7.5-01" not in res.stderr                    # released now: known


def test_controlled_copy_has_its_number_on_the_cover_and_a_stamp_clear_of_the_header(released):
    qms, _ = released
    (copy,) = qms.json("doc", "copies", "WY-QP-7.5-01")
    pdf = PdfReader(qms.root / copy["file"])
    first = pdf.pages[0].extract_text().replace("\x00", "")
    assert "发放编号" in first and "001" in first                 # 发放编号 filled on the copy's cover
    placed: list[tuple[str, float]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            placed.append((text.replace("\x00", ""), tm[5] * cm[3] + cm[5] if cm[3] else tm[5]))
    pdf.pages[1].extract_text(visitor_text=visit)
    height = float(pdf.pages[1].mediabox.height)
    stamp = [y for t, y in placed if "受控副本" in t]
    header = [y for t, y in placed if "文件编号" in t]
    assert stamp and header
    assert max(stamp) < height / 4 < min(header)                # stamp at the foot, header at the top
    assert any("发放日期" in t for t, _ in placed)               # the stamp carries the issue date
    listing = qms("doc", "copies", "WY-QP-7.5-01").output
    assert "发放编号" in listing and "持有部门" in listing and "生产部" in listing
    # the master stays as released
    master = qms.json("doc", "show", "WY-QP-7.5-01")["files"]["pdf"]
    assert "发放编号" in pdf_text(qms.root / master) and "受控副本" not in pdf_text(qms.root / master)


def test_lifecycle_holes_are_closed(tmp_path):
    qms = make_workspace(tmp_path / "ws")
    shutil.copytree(PROCEDURES, qms.root / "procedures")
    source = qms.root / "procedures" / "technical-service.yaml"
    qms("doc", "submit", source)
    sign_all(qms, "WY-QP-7.5-01", SIGNERS[:1] + [("会签", "李明", "2026-03-20")] + SIGNERS[4:])
    # 发布 before a signature's real date is the quality manager's call, but said plainly: a warning
    # naming the signer and the day, kept in the release event an auditor reads
    res = qms("doc", "release", "WY-QP-7.5-01", "--issued", "2026-03-13", "--effective", "2026-03-20",
              "--no-pdf")
    assert "李明" in res.stderr and "2026-03-20" in res.stderr and "发布" in res.stderr
    assert "张建华" not in res.stderr                           # signed 2026-03-02: not flagged
    release = qms.log("--target", "WY-QP-7.5-01")[-1]
    assert release["action"] == "doc.release"
    assert any("李明" in w and "2026-03-20" in w for w in release["data"]["warnings"])
    # the next revision: byte-identical is refused; a real change opens A/1
    assert "the same as WY-QP-7.5-01 A/0" in qms.fail("doc", "submit", source, "--change", "无变化")
    source.write_text(source.read_text(encoding="utf-8").replace("24小时待机服务", "24小时待机值守服务"),
                      encoding="utf-8")
    qms("doc", "submit", source, "--change", "5.4.1 值守要求")
    # withdrawing while A/1 is an open draft is refused (it could then be released and read 作废)
    assert "open draft" in qms.fail("doc", "obsolete", "WY-QP-7.5-01", "--reason", "合并")
    sign_all(qms, "WY-QP-7.5-01", [(r, n, "2026-05-20") for r, n, _ in SIGNERS])
    qms("doc", "release", "WY-QP-7.5-01", "--issued", "2026-06-01", "--effective", "2026-06-08", "--no-pdf")
    qms("doc", "obsolete", "WY-QP-7.5-01", "--reason", "合并入WY-QP-7.5-02", "--on", "2026-10-01")
    shown = qms.json("doc", "show", "WY-QP-7.5-01", "--as-of", "2026-07-01")
    assert (shown["revision"], shown["status"]) == ("A/1", "effective")


def test_superseded_master_is_stamped(tmp_path):
    qms = make_workspace(tmp_path / "ws")
    shutil.copytree(PROCEDURES, qms.root / "procedures")
    source = qms.root / "procedures" / "delivery-service.yaml"
    qms("doc", "submit", source)
    sign_all(qms, "HX/QP-05")
    qms("doc", "release", "HX/QP-05", "--issued", "2026-03-13", "--effective", "2026-03-20")
    source.write_text(source.read_text(encoding="utf-8").replace("仔细核对产品和箱数", "仔细核对产品、箱数和随机文件"),
                      encoding="utf-8")
    qms("doc", "submit", source, "--change", "5.1.2 核对随机文件")
    sign_all(qms, "HX/QP-05", [(r, n, "2026-05-20") for r, n, _ in SIGNERS])
    qms("doc", "release", "HX/QP-05", "--issued", "2026-06-01", "--effective", "2026-06-08")
    old = qms.json("doc", "show", "HX/QP-05", "--revision", "A/0")
    stamped = qms.root / old["files"]["superseded_pdf"]
    text = pdf_text(stamped).replace("\x00", "")
    assert "已替代" in text and "2026年06月08日起" in text
    assert "已替代" not in pdf_text(qms.root / old["files"]["pdf"])   # the released master is untouched
    assert qms.json("verify")["ok"] is True
    release = qms.log("--target", "HX/QP-05")[-1]      # the stamp is part of the release event
    assert release["action"] == "doc.release" and release["data"]["superseded"]["revision"] == "A/0"


def test_init_sets_the_company_and_statuses_read_in_chinese(tmp_path):
    res = cli_init(tmp_path / "ws", org="杭州西湖物业管理有限公司")
    assert "杭州西湖物业管理有限公司" in res.output
    qms = add_staff(tmp_path / "ws")
    shutil.copytree(PROCEDURES, qms.root / "procedures")
    qms("doc", "submit", qms.root / "procedures" / "technical-service.yaml")
    sign_all(qms, "WY-QP-7.5-01")
    qms("doc", "release", "WY-QP-7.5-01", "--issued", "2026-03-13", "--effective", "2026-03-20", "--no-pdf")
    docx = qms.root / qms.json("doc", "show", "WY-QP-7.5-01")["files"]["docx"]
    assert "杭州西湖物业管理有限公司" in docx_text(docx) and "XXXXXX" not in docx_text(docx)
    assert "生效" in qms("doc", "list").output
    shown = qms("doc", "show", "WY-QP-7.5-01", "--as-of", "2026-03-15").output
    assert "状态 已发布（未实施）" in shown and "released" not in shown

"""The quality manager edits a procedure's source in the browser (checked as typed, errors with
their line, submitted as `qms doc submit`), and the approver reads the change note and the
redline beside the draft's PDF before signing."""

from __future__ import annotations

import shutil
import socket
import threading
import time
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")

from starlette.testclient import TestClient  # noqa: E402

from conftest import PASSWORDS, REPO, make_workspace, release_procedure  # noqa: E402
from webkit import login  # noqa: E402

NUMBER = "XX-XX-022"
SENTENCE = "投诉应在2个工作日内答复。"


def _released(tmp_path):
    q = make_workspace(tmp_path / "ws")
    src = q.root / "spc.yaml"
    shutil.copyfile(REPO / "examples" / "procedures" / "service-process-control.yaml", src)
    release_procedure(q, src)
    return q


def _broken(text: str) -> tuple[str, int]:
    """The source with a second colon in the title line (not YAML); returns (text, that line's number)."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("title:"))
    lines[i] = "title: 服务过程: 控制程序"
    return "\n".join(lines) + "\n", i + 1


def _edited(text: str) -> str:
    return text.replace("质量部定期检查用户投诉处理情况。", "质量部定期检查用户投诉处理情况。" + SENTENCE)


def test_editing_in_the_browser_checks_with_lines_and_submits_the_next_revision(tmp_path):
    from qms.web import create_app
    q = _released(tmp_path)
    c = TestClient(create_app(q.root), base_url="http://127.0.0.1")
    csrf = login(c, "tester")
    page = c.get(f"/drafts/{NUMBER}/edit")
    assert page.status_code == 200 and "服务过程控制程序" in page.text and 'id="source-text"' in page.text
    from qms.documents.editing import newest
    from qms.store.workspace import open_workspace
    text = newest(open_workspace(q.root), NUMBER)["text"]

    bad, line = _broken(text)
    r = c.post(f"/api/drafts/{NUMBER}/check", json={"text": bad}, headers={"x-csrf-token": csrf})
    res = r.json()
    assert r.status_code == 200 and res["ok"] is False and res["errors"][0]["line"] == line, res
    assert c.post(f"/api/drafts/{NUMBER}/check", json={"text": bad}).status_code == 403        # CSRF

    r = c.post(f"/drafts/{NUMBER}/submit", data={"csrf_token": csrf, "text": bad, "change": "5.6 增加答复时限"})
    assert r.status_code == 400 and f"第 {line} 行" in r.text and "服务过程: 控制程序" in r.text
    assert [x["revision"] for x in q.json("doc", "show", NUMBER)["revisions"]] == ["A/0"]

    good = _edited(text)
    res = c.post(f"/api/drafts/{NUMBER}/check", json={"text": good}, headers={"x-csrf-token": csrf}).json()
    assert res["ok"] is True and NUMBER in res["summary"]
    r = c.post(f"/drafts/{NUMBER}/submit", data={"csrf_token": csrf, "text": good, "change": "5.6 增加答复时限"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/manage")
    shown = q.json("doc", "show", NUMBER, "--revision", "A/1")
    assert shown["status"] == "draft" and shown["change"] == "5.6 增加答复时限"
    event = [e for e in q.log("--target", NUMBER) if e["action"] == "doc.submit"][-1]
    assert event["actor"].startswith("tester ") and event["data"]["revision"] == "A/1"
    assert SENTENCE in (q.root / shown["files"]["source"]).read_text(encoding="utf-8")

    # the approver (编制 signs first) sees the change note and the redline before signing
    a = TestClient(create_app(q.root), base_url="http://127.0.0.1")
    login(a, "zhangjh")
    inbox = a.get("/inbox").text
    assert "修订说明：5.6 增加答复时限" in inbox and f"<ins>{SENTENCE}</ins>" in inbox
    review = a.get(f"/review/{NUMBER}").text
    assert f"<ins>{SENTENCE}</ins>" in review and f'src="/preview/{NUMBER}"' in review and "签署" in review
    pdf = a.get(f"/redline/{NUMBER}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and f'href="/redline/{NUMBER}"' in review
    assert TestClient(create_app(q.root)).get(f"/drafts/{NUMBER}/edit", follow_redirects=False).status_code in (303, 401)


def test_an_approver_cannot_edit_and_a_changed_number_is_refused(tmp_path):
    from qms.web import create_app
    q = _released(tmp_path)
    a = TestClient(create_app(q.root), base_url="http://127.0.0.1")
    login(a, "zhangjh")
    assert a.get(f"/drafts/{NUMBER}/edit").status_code == 403
    c = TestClient(create_app(q.root), base_url="http://127.0.0.1")
    csrf = login(c, "tester")
    from qms.documents.editing import newest
    from qms.store.workspace import open_workspace
    text = newest(open_workspace(q.root), NUMBER)["text"].replace(f"number: {NUMBER}", "number: XX-XX-099")
    res = c.post(f"/api/drafts/{NUMBER}/check", json={"text": text}, headers={"x-csrf-token": csrf}).json()
    assert res["ok"] is False and "XX-XX-099" in res["errors"][0]["message"] and res["errors"][0]["line"]


# ------------------------------------------------------------------ one journey in a real browser

CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_in_a_real_browser_the_error_line_shows_as_typed_and_the_fix_submits(tmp_path):
    import uvicorn
    from playwright.sync_api import expect, sync_playwright
    from qms.web import create_app
    q = _released(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(q.root), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                  "--disable-dev-shm-usage"])
            page = b.new_page(locale="zh-CN")
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(url + "/login")
            page.fill("input[name=login]", "tester")
            page.fill("input[name=password]", PASSWORDS["tester"])
            page.click("button[type=submit]")
            page.wait_for_url(lambda u: "/login" not in u)
            page.goto(f"{url}/drafts/{NUMBER}/edit")
            expect(page.locator("#check-result")).to_contain_text("校验通过")
            text = page.input_value("#source-text")
            bad, line = _broken(text)
            page.fill("#source-text", bad)
            page.locator("#source-text").press("End")          # an input event, as typing gives
            expect(page.locator("#check-result")).to_contain_text(f"第 {line} 行")
            page.fill("#source-text", _edited(text))
            page.locator("#source-text").press("End")
            expect(page.locator("#check-result")).to_contain_text("校验通过")
            page.fill("input[name=change]", "5.6 增加答复时限")
            page.click("#submit-edit")
            page.wait_for_url(lambda u: "/manage" in u)
            expect(page.locator(".flash")).to_contain_text(NUMBER)
            from pathlib import Path
            out = Path(__file__).parent / "output"
            out.mkdir(exist_ok=True)
            page.goto(f"{url}/drafts/{NUMBER}/edit")
            page.screenshot(path=str(out / "editor.png"), full_page=False)
            assert not errors, errors
            b.close()
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
    assert q.json("doc", "show", NUMBER, "--revision", "A/1")["change"] == "5.6 增加答复时限"


def test_the_upload_takes_a_word_procedure(tmp_path):
    import io
    import docx
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    d = docx.Document()
    for line in ("文件编号：QP-PR-003", "编制部门：采购部", "采购控制程序", "1 目的", "对采购过程进行控制。",
                 "2 职责", "2.1 采购部负责供方的选择和评价。"):
        d.add_paragraph(line)
    buf = io.BytesIO()
    d.save(buf)
    c = TestClient(create_app(q.root), base_url="http://127.0.0.1")
    csrf = login(c, "tester")
    mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    r = c.post("/manage/upload", data={"csrf_token": csrf, "action": "check"},
               files={"source": ("采购控制程序.docx", buf.getvalue(), mime)})
    assert r.status_code == 200 and "校验通过" in r.text and "QP-PR-003" in r.text, r.text[-2000:]
    r = c.post("/manage/upload", data={"csrf_token": csrf, "action": "submit"},
               files={"source": ("采购控制程序.docx", buf.getvalue(), mime)}, follow_redirects=False)
    assert r.status_code == 303
    assert q.json("doc", "show", "QP-PR-003", "--revision", "A/0")["status"] == "draft"
    r = c.post("/manage/upload", data={"csrf_token": csrf, "action": "check"},
               files={"source": ("macro.docm", buf.getvalue(), mime)})
    assert r.status_code == 400 and "macro.docm" in r.text and ".docm" in r.text


def test_a_refused_word_upload_reads_in_chinese(tmp_path):
    import io
    import docx
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    d = docx.Document()
    for line in ("1 目的", "正文。", "2 程序", "2.1 甲", "正文。", "2.3 丙"):
        d.add_paragraph(line)
    buf = io.BytesIO()
    d.save(buf)
    c = TestClient(create_app(q.root), base_url="http://127.0.0.1")
    csrf = login(c, "tester")
    r = c.post("/manage/upload", data={"csrf_token": csrf, "action": "check"},
               files={"source": ("jump.docx", buf.getvalue(), "application/octet-stream")})
    err = r.text.split('id="manage-error">')[1].split("</p>")[0]
    from conftest import nothing_archived
    assert nothing_archived(q)
    assert r.status_code == 400 and "jump.docx" in err and "条款 2.3 接在 2.1 之后，应为 2.1.1, 2.2, 3 之一（编号跳号）" in err, err


def test_the_editor_routes_need_a_session_the_permission_and_the_csrf_token(tmp_path):
    from qms.web import create_app
    q = _released(tmp_path)
    app = create_app(q.root)
    routes = [("POST", f"/drafts/{NUMBER}/submit"), ("POST", f"/drafts/{NUMBER}/preview"),
              ("POST", f"/api/drafts/{NUMBER}/check"), ("GET", f"/drafts/{NUMBER}/edit")]
    anon = TestClient(app, base_url="http://127.0.0.1")
    for method, url in routes:
        assert anon.request(method, url, follow_redirects=False).status_code in (401, 303), url
    for who in ("auditor", "zhangjh"):
        c = TestClient(app, base_url="http://127.0.0.1")
        csrf = login(c, who)
        for method, url in routes:
            r = c.request(method, url, headers={"x-csrf-token": csrf}, follow_redirects=False,
                          **({"json": {"text": ""}} if "/api/" in url else {"data": {"csrf_token": csrf}}))
            assert r.status_code == 403, (who, url, r.status_code)
    c = TestClient(app, base_url="http://127.0.0.1")
    login(c, "tester")
    for method, url in routes[:3]:
        r = c.request(method, url, follow_redirects=False,
                      **({"json": {"text": ""}} if "/api/" in url else {"data": {"text": ""}}))
        assert r.status_code == 403 and "CSRF" in r.text, url
    assert q.json("doc", "show", NUMBER)["revisions"][-1]["revision"] == "A/0"


def test_an_edit_keeps_the_figures_of_the_revision(tmp_path):
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    for name in ("procedure.yaml", "flow.png"):
        shutil.copyfile(REPO / "examples" / "tour" / name, q.root / name)
    number = release_procedure(q, q.root / "procedure.yaml")
    c = TestClient(create_app(q.root), base_url="http://127.0.0.1")
    csrf = login(c, "tester")
    from qms.documents.editing import newest
    from qms.store.workspace import open_workspace
    text = newest(open_workspace(q.root), number)["text"].replace("定期进行客户满意度调查", "每季度进行客户满意度调查")
    r = c.post(f"/drafts/{number}/submit", data={"csrf_token": csrf, "text": text, "change": "2.4 每季度调查"},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    files = q.json("doc", "show", number, "--revision", "A/1")["files"]
    folder = (q.root / files["source"]).parent
    assert (folder / "flow.png").read_bytes() == (REPO / "examples" / "tour" / "flow.png").read_bytes()
    assert "[+每季度+]" in q("doc", "diff", number).output


def test_the_edited_text_previews_as_a_draft_pdf_and_nothing_is_archived(tmp_path):
    import subprocess
    from conftest import snapshot
    from qms.web import create_app
    q = _released(tmp_path)
    c = TestClient(create_app(q.root), base_url="http://127.0.0.1")
    csrf = login(c, "tester")
    from qms.documents.editing import newest
    from qms.store.workspace import open_workspace
    text = _edited(newest(open_workspace(q.root), NUMBER)["text"])
    before = snapshot(q.archive)
    r = c.post(f"/drafts/{NUMBER}/preview", data={"csrf_token": csrf, "text": text})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    (tmp_path / "p.pdf").write_bytes(r.content)
    pdf_text = subprocess.run(["pdftotext", str(tmp_path / "p.pdf"), "-"], capture_output=True, text=True).stdout
    flat = "".join(pdf_text.split())              # pdftotext spaces digits from Chinese: 2 个工作日
    assert "投诉应在2个工作日内答复" in flat and "DRAFT" in pdf_text
    assert snapshot(q.archive) == before


def test_a_missing_figure_is_named_as_the_author_wrote_it(tmp_path):
    from qms.documents.editing import check_text, newest
    from qms.store.workspace import open_workspace
    q = _released(tmp_path)
    ws = open_workspace(q.root)
    text = newest(ws, NUMBER)["text"].replace("        body: 技术服务流程见图1。",
                                              "        body: 技术服务流程见图1。\n        figure: {image: figures/flow.png}")
    res = check_text(ws, NUMBER, text)
    assert not res.ok and res.errors[0]["message"] == "image not found: figures/flow.png", res.errors
    assert res.errors[0]["line"]

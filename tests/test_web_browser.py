"""End-to-end in a real browser: Debian's chromium driven by playwright, against a real uvicorn
server on 127.0.0.1. The three journeys of the issue, plus screenshots of the main pages in
tests/output/ (look at them)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import PASSWORDS
from webkit import build_site

OUT = Path(__file__).parent / "output"
CHROMIUM = shutil.which("chromium")
XSS = "<script>alert('xss')</script><img src=x onerror=alert('img')>"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    import uvicorn
    from qms.web import create_app
    site = build_site(tmp_path_factory.mktemp("browser") / "ws", xss=XSS)
    port = _free_port()
    config = uvicorn.Config(create_app(site["root"]), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield {**site, "url": f"http://127.0.0.1:{port}"}
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
            "--disable-extensions", "--no-first-run", "--disable-component-update"])
        yield b
        b.close()


@pytest.fixture
def page_for(browser, server):
    contexts = []

    def make(login: str, *, phone: bool = False):
        ctx = browser.new_context(viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 900},
                                  locale="zh-CN", accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(server["url"] + "/login")
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", PASSWORDS[login])
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: "/login" not in u)
        page.errors = errors
        return page
    yield make
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> None:
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def test_login_page_rejects_a_wrong_password(browser, server):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(server["url"] + "/search")
    assert "/login" in page.url
    page.fill("input[name=login]", "auditor")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "登录名或密码错误" in page.inner_text("#login-error")
    shot(page, "01-login")
    ctx.close()


def test_approver_logs_in_and_signs_a_draft(page_for, server):
    page = page_for("liming")
    page.goto(server["url"] + "/inbox")
    number = server["document"]
    assert number in page.inner_text("main")
    shot(page, "02-inbox")
    card = page.locator("section.card", has_text=number)
    card.locator("form[action$='/sign'] input[name=password]").fill(PASSWORDS["liming"])
    card.locator("form[action$='/sign'] button").click()
    page.wait_for_url("**/inbox?done=*")
    assert "已签署" in page.inner_text(".flash")
    page.goto(f"{server['url']}/documents/{number}?revision=A/1")
    assert "李明" in page.inner_text("main")
    assert not page.errors, page.errors


def test_engineer_files_a_field_report_with_two_parts_and_uploads_a_scan(page_for, server, tmp_path):
    page = page_for("tester", phone=True)
    page.goto(server["url"] + "/file/QR-SV-022-02")
    page.fill("input[name=service_date]", "2026-03-18")
    page.fill("input[name=customer]", "江南精密机械厂")
    page.fill("input[name=product]", "冷干机")
    page.select_option("select[name=service_type]", "维修")      # six choices: a select
    page.check("input[name=evaluation][value=满意]")              # three: radio buttons
    page.fill("textarea[name=fault]", "冷干机露点偏高，蒸发器结霜")
    page.fill("textarea[name=work_done]", "更换膨胀阀并补充冷媒，试运行正常")
    page.fill("input[name=sign_password]", PASSWORDS["tester"])   # 服务工程师: signed as the filer
    rows = page.locator("#table-parts tbody tr")
    rows.nth(0).locator("input[name='parts.part']").fill("膨胀阀")
    rows.nth(0).locator("input[name='parts.qty']").fill("1")
    page.click("#add-parts")
    page.click("#add-parts")
    assert rows.count() == 3
    rows.nth(2).locator("button[data-remove-row]").click()       # one row too many: removed
    assert rows.count() == 2
    rows.nth(1).locator("input[name='parts.part']").fill("R134a 冷媒")
    rows.nth(1).locator("input[name='parts.qty']").fill("2")
    shot(page, "03-file-form-phone")
    page.click("form.stack > button[type=submit]")
    page.wait_for_url("**/records/QR-SV-022-02-2026-*", timeout=60_000)
    number = page.url.rsplit("/", 1)[1].split("?")[0]
    assert page.inner_text(".flash").startswith(f"已归档 {number}")      # the result, in Chinese
    text = page.inner_text("main")
    assert "膨胀阀" in text and "R134a 冷媒" in text and "待用户签字" in text
    from conftest import make_scan
    scan = make_scan(tmp_path / "scan.pdf", "Customer signature")
    page.set_input_files("input[name=scan]", str(scan))
    page.fill("input[name=signer]", "钱经理")
    page.click("form[action$='/scan'] button")
    page.wait_for_url(f"**/records/{number}?done=*")
    assert "签字扫描件" in page.inner_text(".flash")
    assert "已归档" in page.inner_text("main") and "钱经理" in page.inner_text("main")
    shot(page, "04-record-phone")
    server["filed"] = number
    assert not page.errors, page.errors


def test_auditor_finds_it_by_a_two_character_word_and_opens_its_pdf(page_for, server):
    number = server.get("filed")
    assert number, "runs after the engineer's journey"
    page = page_for("auditor")
    page.goto(server["url"] + "/search")
    page.fill("input[name=q]", "冷媒")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/search?q=*")
    assert int(page.inner_text("#total")) >= 1
    assert page.locator("mark", has_text="冷媒").count() >= 1
    shot(page, "05-search")
    page.click(f"a.hit-title:has-text('{number}')")
    page.wait_for_url(f"**/records/{number}")
    shot(page, "06-record")
    link = page.locator("a.button", has_text="查看 PDF")
    href = link.get_attribute("href")
    r = page.request.get(server["url"] + href)
    assert r.status == 200 and r.body().startswith(b"%PDF") and r.headers["content-type"] == "application/pdf"
    from pypdf import PdfReader
    import io
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.body())).pages)
    assert "冷媒" in text.replace("\x00", "") and number in text
    assert not page.errors, page.errors


def test_screenshots_of_the_main_pages(page_for, server):
    page = page_for("auditor")
    for name, path in (("07-documents", "/documents"), ("08-document", f"/documents/{server['document']}"),
                       ("09-log", "/log"), ("10-verify", "/verify?run=1"), ("11-records", "/records")):
        page.goto(server["url"] + path)
        shot(page, name)
    assert "校验通过" in page.inner_text("main") if path.startswith("/verify") else True
    assert not page.errors, page.errors
    page = page_for("tester")          # author, clerk and keeper
    for name, path in (("12-manage", "/manage"), ("13-keeper", "/keeper?as_of=2040-01-01"),
                       ("14-mine", "/mine"), ("15-forms", "/file")):
        page.goto(server["url"] + path)
        shot(page, name)
    assert not page.errors, page.errors


def test_an_xss_payload_in_every_field_stays_text_in_the_browser(page_for, server):
    page = page_for("auditor")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{server['url']}/records/{server['xss']}")
    assert page.inner_text("main").count("<script>alert('xss')</script>") >= 5
    page.goto(f"{server['url']}/search?q=xss")
    assert "<script>alert('xss')</script>" in page.inner_text("main")
    page.wait_for_timeout(300)
    assert dialogs == [] and page.locator("main img").count() == 0
    shot(page, "16-xss-search")


def test_phone_pages_never_scroll_sideways_and_keep_line_breaks(page_for, server):
    """At 390 px (a phone) the document, record, search and log pages fit the screen: wide tables
    scroll inside themselves, hashes are cut short. Screenshots of the log, record and search landing
    pages at desktop and phone width in tests/output/ (look at them)."""
    pages = {"document": f"/documents/{server['document']}", "record": f"/records/{server['report']}",
             "search-landing": "/search", "search": "/search?q=压缩机", "log": "/log",
             "xss-record": f"/records/{server['xss']}", "documents": "/documents", "records": "/records"}
    for phone in (False, True):
        page = page_for("auditor", phone=phone)
        for name, path in pages.items():
            page.goto(server["url"] + path)
            if phone:
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, (path, width)
            if name in ("record", "search-landing", "log"):
                shot(page, f"20-{name}-{'phone' if phone else 'desktop'}")
        page.goto(server["url"] + pages["record"])
        work = page.locator("dl.data .lines", has_text="拆下油冷却器").inner_text()
        assert "；\n2. 更换温控阀阀芯" in work, work       # the line breaks typed in the form are kept
        assert not page.errors, page.errors

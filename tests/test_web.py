"""The web application through Starlette's TestClient: sessions, security headers, the auditor's
pages, the API against the CLI's --json, downloads, and the role × route matrix."""

from __future__ import annotations

import json
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")

from starlette.testclient import TestClient  # noqa: E402

from conftest import PASSWORDS  # noqa: E402
from webkit import USERS, build_site, login  # noqa: E402

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>\"'&"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("web") / "ws", xss=XSS)


@pytest.fixture(scope="module")
def app(site):
    from qms.web import create_app
    return create_app(site["root"])


def client_for(app, who: str | None):
    c = TestClient(app, base_url="http://127.0.0.1")
    csrf = login(c, who) if who else ""
    return c, csrf


def test_no_session_is_401_or_a_redirect_to_login(app):
    c = TestClient(app)
    r = c.get("/search", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert c.get("/api/records").status_code == 401
    assert c.get("/files/XX-XX-022/source.yaml", follow_redirects=False).status_code in (303, 401)
    assert c.post("/api/records", json={"form": "QR-SV-022-01", "data": {}}).status_code == 401


def login_token(c) -> str:
    """The login form's CSRF token (its cookie is kept by the client)."""
    import re
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)


def test_login_sets_a_strict_httponly_cookie_and_failures_are_journaled(app, site):
    c = TestClient(app)
    token = login_token(c)
    r = c.post("/login", data={"login": "auditor", "password": "wrong-password", "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 401 and "登录名或密码错误" in r.text
    r = c.post("/login", data={"login": "auditor", "password": PASSWORDS["auditor"], "next": "//evil.example/",
                               "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
    log = site["qms"].log("--target", "auditor")
    assert any(e["action"] == "login.failed" for e in log)


def test_security_headers_on_pages_api_and_errors(app):
    c, _ = client_for(app, "auditor")
    for url in ("/search", "/api/documents", "/nonexistent", "/static/app.css"):
        h = c.get(url).headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors" in csp
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "SAMEORIGIN"


def test_no_inline_script_or_style_in_any_page(app, site):
    c, _ = client_for(app, "tester")
    for url in ("/search?q=压缩机", "/documents", f"/documents/{site['document']}", "/records",
                f"/records/{site['report']}", "/log", "/disposals", "/verify", "/inbox", "/login"):
        html = c.get(url).text
        assert "<script>" not in html and " style=" not in html and "onerror=" not in html.replace(
            "onerror=alert", ""), url


def test_search_page_total_paging_filters_and_highlight(app, site):
    c, _ = client_for(app, "auditor")
    r = c.get("/search", params={"q": "压缩机"})
    assert r.status_code == 200
    assert site["report"] in r.text and "<mark>压缩机</mark>" in r.text
    r = c.get("/search", params={"q": "压缩机", "kind": "doc"})
    assert site["report"] not in r.text
    r = c.get("/search", params={"q": "压缩机", "form": "QR-SV-022-01"})
    assert site["notice"] in r.text and site["report"] not in r.text
    r = c.get("/search", params={"q": "压缩机", "from": "2030-01-01"})
    assert 'id="total">0<' in r.text
    assert c.get("/search", params={"q": "压缩机", "from": "not-a-date"}).status_code == 400


def test_api_shapes_equal_the_cli_json(app, site):
    q = site["qms"]
    c, _ = client_for(app, "auditor")
    cli = q.json("search", "压缩机", "--limit", "5")
    api = c.get("/api/search", params={"q": "压缩机", "limit": 5}).json()
    assert api == cli and api["total"] >= len(cli["hits"])
    page2 = c.get("/api/search", params={"q": "压缩机", "limit": 1, "offset": 1}).json()
    assert page2 == {"total": cli["total"], "hits": cli["hits"][1:2]}
    assert c.get("/api/documents").json() == q.json("doc", "list")
    number = site["document"]
    assert c.get(f"/api/documents/{number}", params={"as_of": "2026-03-25"}).json() == \
        q.json("doc", "show", number, "--as-of", "2026-03-25")
    assert c.get("/api/records", params={"form": "QR-SV-022-02", "year": 2026}).json() == \
        q.json("record", "list", "--form", "QR-SV-022-02", "--year", "2026")
    assert c.get("/api/records", params={"status": "filed"}).json() == q.json("record", "list", "--status", "filed")
    assert c.get(f"/api/records/{site['report']}").json() == q.json("record", "show", site["report"])
    assert c.get("/api/log", params={"target": number}).json() == q.json("log", "--target", number)


def test_document_page_as_of_approvals_history_copies(app, site):
    c, _ = client_for(app, "auditor")
    number = site["document"]
    r = c.get(f"/documents/{number}", params={"as_of": "2026-03-25"})
    assert "生效" in r.text and "2026年03月20日" in r.text and "赵国庆" in r.text and "修订记录" in r.text
    assert "5.2 增加培训要求" in r.text
    r = c.get(f"/documents/{number}", params={"as_of": "2026-03-15"})
    assert "已发布" in r.text


def test_record_page_data_files_hashes_retention(app, site):
    c, _ = client_for(app, "auditor")
    r = c.get(f"/records/{site['report']}")
    rec = site["qms"].json("record", "show", site["report"])
    assert "华东电力设备有限公司" in r.text and "温控阀阀芯" in r.text and "王海涛" in r.text
    assert rec["signatures"][0]["sha256"] in r.text and "signed-scan.pdf" in r.text
    assert "2031年12月31日" in r.text     # 5 years from the end of 2026


def test_xss_payload_in_every_text_field_renders_inert(app, site):
    c, _ = client_for(app, "auditor")
    for url in (f"/records/{site['xss']}", "/search?q=script", "/records", f"/log?target={site['xss']}"):
        html = c.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html, url
        if url.startswith("/log"):
            assert site["xss"] in html, url           # the trail names the record; its fields are not shown there
        else:
            assert "&lt;" in html and "&lt;img" in html, url    # the payload is shown, escaped


def test_downloads_only_of_manifest_files(app, site):
    c, _ = client_for(app, "auditor")
    r = c.get(f"/files/{site['report']}/signed-scan.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF") and r.headers["content-type"] == "application/pdf"
    for bad in ("../../../config.yaml", "..%2F..%2Fconfig.yaml", "manifest.json.bak", "/etc/passwd",
                "data.yaml/../../../../config.yaml"):
        assert c.get(f"/files/{site['report']}/{bad}").status_code == 404, bad
    assert c.get("/files/NOPE-1/data.yaml").status_code == 404
    assert c.get(f"/files/{site['document']}/source.yaml").status_code == 200


def test_master_list_xlsx_and_verify_page(app):
    c, _ = client_for(app, "auditor")
    r = c.get("/documents.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = c.get("/verify", params={"run": 1})
    assert "校验通过" in r.text


def test_csrf_required_on_every_post(app, site):
    c, csrf = client_for(app, "tester")
    r = c.post("/api/records", json={"form": "QR-SV-022-01", "data": {}})
    assert r.status_code == 403
    r = c.post("/logout", data={}, follow_redirects=False)
    assert r.status_code == 403


# ------------------------------------------------------------------ the role × route matrix

WRITE_ROUTES = [
    ("POST", "/inbox/{document}/sign", "doc.sign"),
    ("POST", "/inbox/{document}/reject", "doc.sign"),
    ("POST", "/api/documents/{document}/sign", "doc.sign"),
    ("POST", "/file/QR-SV-022-01", "record.file"),
    ("POST", "/api/records", "record.file"),
    ("POST", "/records/{notice}/scan", "record.sign"),
    ("POST", "/manage/upload", "doc.submit"),
    ("POST", "/manage/{document}/release", "doc.release"),
    ("POST", "/manage/{document}/issue-copy", "doc.copy"),
    ("POST", "/manage/{document}/recall", "doc.copy"),
    ("POST", "/manage/{document}/obsolete", "doc.obsolete"),
    ("POST", "/manage/{document}/withdraw", "doc.withdraw"),
    ("POST", "/keeper/hold", "records.hold"),
    ("POST", "/keeper/release-hold", "records.hold"),
    ("POST", "/keeper/purge", "records.purge"),
    ("POST", "/keeper/approve", "records.dispose.approve"),
    ("POST", "/keeper/reject", "records.dispose.approve"),
    ("POST", "/keeper/volume", "records.compile"),
]


@pytest.mark.parametrize("who", [None, *USERS])
def test_role_route_matrix(app, site, who):
    """Every state-changing route: 401 without a session, 403 for a role without the permission.
    (Requests carry a valid CSRF token, so a refusal is the permission check, not CSRF.)"""
    from qms.domain.policy import load_policy
    from qms.store.workspace import open_workspace
    perms = load_policy(open_workspace(site["root"])).permissions(USERS[who][1].split(",")) if who else frozenset()
    c, csrf = client_for(app, who)
    for method, path, perm in WRITE_ROUTES:
        url = path.format(**site)
        allowed = any(p == perm or p.startswith(perm + ".") for p in perms)
        r = c.request(method, url, headers={"x-csrf-token": csrf}, data={"csrf_token": csrf} if
                      not url.startswith("/api/") else None, json={} if url.startswith("/api/") else None,
                      follow_redirects=False)
        if who is None:
            assert r.status_code in (401, 403), (url, r.status_code)
        elif not allowed:
            assert r.status_code == 403, (who, url, r.status_code)
        else:
            assert r.status_code != 403 or "CSRF" not in r.text, (who, url)
            assert r.status_code != 401 and r.status_code < 500, (who, url, r.status_code)


def test_a_file_of_an_older_revision_downloads_that_revision(app, site):
    c, _ = client_for(app, "auditor")
    number = site["document"]
    html = c.get(f"/documents/{number}").text
    assert f"/files/{number}/source.yaml?v=A/0" in html.replace("%2F", "/")
    old = c.get(f"/files/{number}/source.yaml", params={"v": "A/0"})
    assert old.status_code == 200 and old.headers["x-content-sha256"] in html
    assert c.get(f"/files/{number}/source.yaml", params={"v": "Z/9"}).status_code == 404


# ------------------------------------------------------------------ quality manager, keeper

def test_quality_manager_uploads_checks_and_sees_errors_with_file_field_line(app, site):
    c, csrf = client_for(app, "tester")
    bad = b"number: QP-SC-099\ntitle: \xe6\xb5\x8b\xe8\xaf\x95\nkind: procedure\ndepartment: QA\nsections: 12\n"
    r = c.post("/manage/upload", data={"csrf_token": csrf, "action": "check"},
               files={"source": ("../../evil name.yaml", bad, "application/x-yaml")})
    assert r.status_code == 400
    err = r.text.split('id="manage-error">')[1].split("</p>")[0]
    assert "evil_name.yaml" in err and "第 5 行" in err and "sections" in err and "/" not in err.split("，")[0]
    assert "章节" in err                                  # in the workspace's language
    from conftest import REPO
    good = (REPO / "examples" / "procedures" / "customer-service.yaml").read_bytes()
    r = c.post("/manage/upload", data={"csrf_token": csrf, "action": "check"},
               files={"source": ("customer-service.yaml", good, "application/x-yaml")})
    assert r.status_code == 200 and "校验通过" in r.text


def test_keeper_proposes_what_is_due_and_a_manager_approves_with_password(tmp_path):
    import datetime as dt
    import time_machine
    from conftest import PASSWORDS, example_data, make_workspace, snapshot, write_data
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    # migrated paper records of 2019 (kept until 2024-12-31) and one of 2026 (kept until 2031-12-31)
    numbers = [q.json("record", "file", "QR-SV-022-01", "--data", write_data(q, example_data("QR-SV-022-01"),
                      f"n{i}.yaml"), "--on", on, "--no-pdf")["number"] for i, on in enumerate(["2019-03-01", "2019-04-01"])]
    young = q.json("record", "file", "QR-SV-022-01", "--data", write_data(q, example_data("QR-SV-022-01"), "y.yaml"),
                   "--on", "2026-11-02", "--no-pdf")["number"]
    with time_machine.travel(dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.timezone.utc), tick=False):
        c, csrf = client_for(create_app(q.root), "tester")
        r = c.post("/keeper/volume", data={"csrf_token": csrf, "form": "QR-SV-022-01", "year": "2019"})
        assert r.status_code == 200 and r.content.startswith(b"%PDF")        # 每年汇编成册
        # a look ahead lists what will be due, and offers no disposal; a forged post is refused
        r = c.get("/keeper", params={"as_of": "2040-01-01"})
        assert 'id="disposable">3<' in r.text and young in r.text and 'id="look-ahead"' in r.text
        assert 'action="/keeper/purge"' not in r.text
        before = snapshot(q.archive)
        r = c.post("/keeper/purge", data={"csrf_token": csrf, "as_of": "2040-01-01", "expected": "3", "confirm": "yes",
                                          "opinion": "到期", "method": "删除"})
        assert r.status_code == 400 and "2040-01-01" in r.text
        assert snapshot(q.archive) == before
        r = c.post("/keeper/hold", data={"csrf_token": csrf, "number": numbers[0], "reason": "诉讼保全"},
                   follow_redirects=False)
        assert r.status_code == 303
        r = c.get("/keeper")
        assert 'id="disposable">1<' in r.text and "保全中" in r.text and 'action="/keeper/purge"' in r.text
        # no confirmation, or a confirmation of a count that is no longer true: nothing proposed
        today = "2026-12-03"
        form = {"csrf_token": csrf, "as_of": today, "opinion": "保存期满，无保存价值", "method": "删除电子档案",
                "witness": "赵国庆"}
        r = c.post("/keeper/purge", data=form | {"expected": "1"})
        assert r.status_code == 400 and q.json("disposal", "proposals") == []
        r = c.post("/keeper/purge", data=form | {"expected": "2", "confirm": "yes"})
        assert r.status_code == 400 and "已变化" in r.text
        r = c.post("/keeper/purge", data=form | {"expected": "1", "confirm": "yes"})
        assert r.status_code == 200 and "DR-2026-0001" in r.text
        assert q.json("record", "show", numbers[1])["status"] != "disposed"      # proposed, not destroyed
        assert "等待另一位" in r.text and 'action="/keeper/approve"' not in r.text   # not by the proposer

        m, mcsrf = client_for(create_app(q.root), "liujun")
        page = m.get("/keeper").text
        assert "DR-2026-0001" in page and 'action="/keeper/approve"' in page and "保存期满，无保存价值" in page
        r = m.post("/keeper/approve", data={"csrf_token": mcsrf, "proposal": "DR-2026-0001", "password": "wrong"})
        assert r.status_code == 400 and q.json("record", "show", numbers[1])["status"] != "disposed"
        r = m.post("/keeper/approve", data={"csrf_token": mcsrf, "proposal": "DR-2026-0001",
                                            "password": PASSWORDS["liujun"]})
        assert r.status_code == 200 and "销毁证明 DC-2026-0001" in r.text
        assert q.json("record", "show", numbers[1])["status"] == "disposed"
        assert q.json("record", "show", numbers[0])["status"] != "disposed"
        (cert,) = q.json("disposal", "list")["items"]
        assert (cert["proposed_by"], cert["actor"]) == ("tester 测试员", "liujun 刘军")
        assert c.get(f"/files/{cert['certificate']}/certificate.json").status_code == 200
        listing = c.get("/disposals").text
        assert cert["certificate"] in listing and "刘军" in listing and "测试员" in listing
        a, _ = client_for(create_app(q.root), "auditor")
        assert a.get("/keeper").status_code == 403


def test_a_procedure_from_upload_to_withdrawal_in_the_browser_forms(tmp_path):
    """Upload and submit, every role signs through the API (password again), release with dates,
    issue and recall a controlled copy, withdraw — each step in the journal as its own person."""
    from conftest import REPO, STAFF, make_workspace
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    app = create_app(q.root)
    c, csrf = client_for(app, "tester")
    source = (REPO / "examples" / "procedures" / "customer-service.yaml").read_bytes()
    r = c.post("/manage/upload", data={"csrf_token": csrf, "action": "submit"},
               files={"source": ("customer-service.yaml", source, "application/x-yaml")}, follow_redirects=False)
    assert r.status_code == 303
    number = q.documents()[0]["number"]
    signed = None
    for login, role in (("zhangjh", "编制"), ("liming", "会签"), ("wanglx", "审定"), ("zhaogq", "批准")):
        s, s_csrf = client_for(app, login)
        wrong = s.post(f"/api/documents/{number}/sign", json={"role": role, "password": "nope-nope"},
                       headers={"x-csrf-token": s_csrf})
        assert wrong.status_code in (400, 401) and "password" in wrong.json()["error"]
        r = s.post(f"/api/documents/{number}/sign", json={"role": role, "password": PASSWORDS[login]},
                   headers={"x-csrf-token": s_csrf})
        assert r.status_code == 200, r.text
        signed = r.json()
    assert signed["name"] == STAFF["zhaogq"][0]
    r = c.post(f"/manage/{number}/release", data={"csrf_token": csrf, "issued": "2026-03-13",
                                                   "effective": "2026-03-20"})
    flash = r.text.split('<p class="flash">')[1].split("</p>")[0]
    assert r.status_code == 200 and flash == f"已发布 {number} A/0：发布日期 2026-03-13，实施日期 2026-03-20", flash
    r = c.post(f"/manage/{number}/issue-copy", data={"csrf_token": csrf, "holder": "生产部"})
    assert "No.1" in r.text and "生产部" in r.text and f"已向 生产部 发放 {number} A/0 受控副本 No.1" in r.text
    assert c.get(f"/files/{number}/copies/{number}_A-0_copy-001.pdf", params={"v": "A/0"}).status_code == 200
    r = c.post(f"/manage/{number}/recall", data={"csrf_token": csrf, "copy_no": "1"})
    assert r.status_code == 200 and q.json("doc", "copies", number)[0]["recalled"]
    r = c.post(f"/manage/{number}/obsolete", data={"csrf_token": csrf, "reason": "并入XX-XX-022"})
    assert r.status_code == 200
    assert q.json("doc", "show", number)["status"] == "obsolete"
    actors = {e["action"]: e["actor"] for e in q.log("--target", number)}
    assert actors["doc.sign"].startswith("zhaogq ") and actors["doc.obsolete"].startswith("tester ")


# ------------------------------------------------------------------ sessions: lockout, idle timeout, logout

def test_lockout_after_repeated_wrong_passwords_and_it_is_journaled(tmp_path):
    from conftest import make_workspace
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    c = TestClient(create_app(q.root))
    token = login_token(c)
    for _ in range(5):
        r = c.post("/login", data={"login": "auditor", "password": "wrong-password", "csrf_token": token})
        assert r.status_code == 401
    r = c.post("/login", data={"login": "auditor", "password": PASSWORDS["auditor"], "csrf_token": token})
    assert r.status_code == 401 and "锁定" in r.text
    actions = [e["action"] for e in q.log("--target", "auditor")]
    assert actions.count("login.failed") >= 5 and "login.locked" in actions


def test_idle_session_ends_and_logout_ends_the_session(tmp_path):
    import datetime as dt
    import time_machine
    from conftest import make_workspace
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    app = create_app(q.root)
    c, csrf = client_for(app, "auditor")
    assert c.get("/api/records").status_code == 200
    # 31 minutes without a request (the clock moves: an edited session row is refused, issue 19)
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=31), tick=False):
        assert c.get("/api/records").status_code == 401
        r = c.get("/records", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    c, csrf = client_for(app, "auditor")
    assert c.get("/api/records").status_code == 200
    token = c.cookies.get("qms_session")
    r = c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    c.cookies.clear()
    c.cookies.set("qms_session", token)          # the old cookie, replayed: the session is gone
    assert c.get("/api/records").status_code == 401


def test_api_files_records_as_the_cli_does_and_signs_as_the_filer(app, site):
    from conftest import STAFF, example_data, write_data
    q = site["qms"]
    c, csrf = client_for(app, "tester")
    data = json.loads(json.dumps(example_data("QR-SV-022-01"), default=str))
    r = c.post("/api/records", json={"form": "QR-SV-022-01", "data": data, "pdf": False},
               headers={"x-csrf-token": csrf})
    assert r.status_code == 200, r.text
    cli = q.json("record", "file", "QR-SV-022-01", "--data", write_data(q, example_data("QR-SV-022-01"), "c.yaml"),
                 "--no-pdf")
    assert set(r.json()) == set(cli) == {"number", "status"} and r.json()["status"] == cli["status"]
    report = json.loads(json.dumps(example_data("QR-SV-022-02"), default=str))
    report.pop("engineer")
    bad = c.post("/api/records", json={"form": "QR-SV-022-02", "data": report, "pdf": False, "password": "nope"},
                 headers={"x-csrf-token": csrf})
    assert bad.status_code in (400, 401) and "password" in bad.json()["error"]
    r = c.post("/api/records", json={"form": "QR-SV-022-02", "data": report, "pdf": False,
                                     "password": PASSWORDS["tester"]}, headers={"x-csrf-token": csrf})
    assert r.status_code == 200, r.text
    shown = c.get(f"/api/records/{r.json()['number']}").json()
    assert shown["data"]["engineer"] == STAFF["tester"][0]
    bad = c.post("/api/records", json={"form": "QR-SV-022-01", "data": {"customer": "x"}},
                 headers={"x-csrf-token": csrf})
    assert bad.status_code == 400 and "field" in bad.json()["error"]


def test_a_phone_photo_of_the_signed_form_is_kept_as_a_pdf_scan(app, site):
    import io
    from PIL import Image
    from conftest import example_data
    c, csrf = client_for(app, "tester")
    data = json.loads(json.dumps(example_data("QR-SV-022-02"), default=str))
    data.pop("engineer")
    number = c.post("/api/records", json={"form": "QR-SV-022-02", "data": data, "pdf": False,
                                          "password": PASSWORDS["tester"]}, headers={"x-csrf-token": csrf}).json()["number"]
    photo = io.BytesIO()
    Image.new("RGB", (600, 800), "white").save(photo, "JPEG")
    r = c.post(f"/records/{number}/scan", data={"csrf_token": csrf, "signer": "王海涛", "signer_role": "用户代表"},
               files={"scan": ("IMG_0001.jpg", photo.getvalue(), "image/jpeg")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    shown = c.get(f"/api/records/{number}").json()
    assert shown["status"] == "filed" and shown["signatures"][0]["signer"] == "王海涛"
    assert c.get(f"/files/{number}/signed-scan.pdf").content.startswith(b"%PDF")
    r = c.post(f"/records/{site['notice']}/scan", data={"csrf_token": csrf, "signer": "x"},
               files={"scan": ("notes.txt", b"not a picture", "text/plain")})
    assert r.status_code == 400


def test_approver_previews_the_draft_as_a_pdf(app, site):
    c, _ = client_for(app, "liming")
    html = c.get("/inbox").text
    assert site["document"] in html and f"/preview/{site['document']}" in html
    r = c.get(f"/preview/{site['document']}")
    assert r.status_code == 200 and r.content.startswith(b"%PDF") and r.headers["content-type"] == "application/pdf"
    a, _ = client_for(app, "auditor")
    assert a.get(f"/preview/{site['document']}").status_code == 403


def test_a_crafted_result_message_is_not_shown(app):
    c, _ = client_for(app, "liming")
    html = c.get("/inbox", params={"done": "系统升级，请把密码发到 evil@example.com"}).text
    assert "evil@example.com" not in html


def test_qms_serve_binds_127_0_0_1_and_answers(tmp_path):
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path
    import httpx
    from conftest import make_workspace
    q = make_workspace(tmp_path / "ws")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).with_name("qms")), "-w", str(q.root), "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(150):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r.status_code == 200 and "登录" in r.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/records").status_code == 401
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}/" in out


def test_a_rejected_draft_returns_to_the_inbox_of_its_first_role(tmp_path):
    import shutil
    from conftest import REPO, make_workspace
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    src = q.root / "p.yaml"
    shutil.copyfile(REPO / "examples" / "procedures" / "customer-service.yaml", src)
    number = q.json("doc", "submit", src)["number"]
    q.sign(number, "编制", "张建华")
    app = create_app(q.root)
    c, csrf = client_for(app, "liming")
    assert number in c.get("/inbox").text
    r = c.post(f"/inbox/{number}/reject", data={"csrf_token": csrf, "reason": "5.2 职责不清",
                                                 "password": PASSWORDS["liming"]})
    assert r.status_code == 200 and "已驳回" in r.text
    z, _ = client_for(app, "zhangjh")
    assert number in z.get("/inbox").text            # 编制 may sign again: the old signature is void
    html = z.get(f"/documents/{number}").text
    assert "作废" in html and "5.2 职责不清" in html

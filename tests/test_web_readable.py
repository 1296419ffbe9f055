"""What a person reads on the web (issue 18, items 4 and 9): one time zone for one event on every
surface, messages in the workspace's language, errors in place, the audit trail as sentences, paged
and filtered, 404 for unknown numbers, the search landing page, the footer's organisation."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")

from starlette.testclient import TestClient  # noqa: E402

from conftest import PASSWORDS, example_data, make_scan, make_workspace, write_data  # noqa: E402
from webkit import build_site, login  # noqa: E402

UTC = dt.timezone.utc


def client(app, who: str):
    c = TestClient(app, base_url="http://127.0.0.1")
    return c, login(c, who)


def between(html: str, start: str, end: str = "</p>") -> str:
    assert start in html, f"{start!r} not on the page"
    return html.split(start, 1)[1].split(end, 1)[0]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = build_site(tmp_path_factory.mktemp("readable") / "ws")
    q = s["qms"]
    for i in range(14):      # 28 more entries: the trail (24 so far) runs to a second page of 50
        q("hold", "add", s["notice"], "--reason", f"诉讼保全 {i}")
        q("hold", "release", s["notice"], "--reason", f"结案 {i}")
    return s


@pytest.fixture(scope="module")
def app(site):
    from qms.web import create_app
    return create_app(site["root"])


# ------------------------------------------------------------------ one zone (item 4)

def test_one_event_reads_the_same_local_time_in_the_log_the_web_and_the_certificate(tmp_path):
    """timezone: Asia/Shanghai (config.yaml). Filed at 08:26 UTC = 16:26 in Shanghai; disposed the next
    day at 02:10 UTC = 10:10. `qms log`, the web's audit trail, the record page and the disposal
    certificate all print the Shanghai time; the JSON keeps the ISO time with its offset."""
    import io
    import time_machine
    from pypdf import PdfReader
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    assert "timezone: Asia/Shanghai" in (q.root / "config.yaml").read_text(encoding="utf-8")
    with time_machine.travel(dt.datetime(2026, 12, 3, 8, 26, tzinfo=UTC), tick=False):
        number = q.json("record", "file", "QR-SV-022-01", "--data",
                        write_data(q, example_data("QR-SV-022-01"), "n.yaml"), "--on", "2020-03-01",
                        "--no-pdf")["number"]   # kept until 2025-12-31: due for disposal
        c, _ = client(create_app(q.root), "auditor")
        record_page = c.get(f"/records/{number}").text
        web_log = c.get("/log", params={"target": number}).text
    filed = q.log("--target", number)[-1]
    assert dt.datetime.fromisoformat(filed["at"]).astimezone(UTC) == dt.datetime(2026, 12, 3, 8, 26, tzinfo=UTC)
    assert "2026-12-03 16:26" in q("log", "--target", number).output
    assert "2026年12月03日 16:26" in record_page and "08:26" not in record_page
    assert "2026-12-03 16:26" in web_log and "08:26" not in web_log.replace(filed["at"], "")

    with time_machine.travel(dt.datetime(2026, 12, 4, 2, 10, tzinfo=UTC), tick=False):
        for login in ("tester", "liujun"):                              # a new day, a new session
            q.as_(login)("login", login, "--password-stdin", input=PASSWORDS[login] + "\n")
        # the keeper proposes, another person (a manager) approves: then it is destroyed
        proposal = q.json("disposal", "propose", "--opinion", "保存期满", "--method", "碎纸")["proposal"]
        res = q.as_("liujun").json("disposal", "approve", proposal, "--password-stdin",
                                   input=PASSWORDS["liujun"] + "\n")
    cert = res["certificate"]
    assert cert and number in res["disposed"]
    pdf = next((q.archive / "disposals").rglob("certificate.pdf"))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages).replace("\x00", "")
    assert "2026年12月04日 10:10" in text and "02:10" not in text
    assert "2026-12-04 10:10" in q("log", "--target", cert).output
    c, _ = client(create_app(q.root), "auditor")
    assert "2026-12-04 10:10" in c.get("/log", params={"target": cert}).text
    assert "2026年12月04日 10:10" in c.get("/disposals").text


def test_local_time_is_one_function_for_every_surface():
    from qms.base.dates import local_time
    assert local_time("2026-12-03T08:26:00+00:00", "Asia/Shanghai") == "2026-12-03 16:26"
    assert local_time("2026-12-03T16:26:00+08:00", "Asia/Shanghai", chinese=True) == "2026年12月03日 16:26"
    assert local_time("2026-12-03T23:30:00+00:00", "Asia/Shanghai") == "2026-12-04 07:30"   # the next day there
    assert local_time("2026-12-03", "Asia/Shanghai") == "2026-12-03" and local_time(None) == ""


# ------------------------------------------------------------------ the audit trail (item 9)

def test_the_audit_trail_reads_as_sentences_in_chinese(app, site):
    c, _ = client(app, "auditor")
    html = c.get("/log").text
    number = site["document"]
    for words in (f"赵国庆 签署了 <a href=\"/log?target={number}\">{number}</a> A/0（批准）",
                  f"测试员 发布了 <a href=\"/log?target={number}\">{number}</a> A/0（发布 2026-03-13，实施 2026-03-20）",
                  "测试员 上传了 ", "的签字扫描件（签字人 王海涛"):
        assert words in html, words
    assert "doc.sign" not in between(html, '<ol class="trail">', "</ol>").split("<details>")[0]
    import re
    deeds = [re.sub("<[^>]+>", "", d.split("</span>")[0]) for d in html.split('<span class="deed">')[1:]]
    assert len(deeds) == 50 and not any("=" in d for d in deeds)             # no key=value text
    assert "+00:00" not in "".join(part.split('datetime="')[0] for part in html.split("<time "))


def test_the_audit_trail_is_paged_newest_first(app, site):
    c, _ = client(app, "auditor")
    first = c.get("/log").text
    total = int(between(first, 'id="total">', "<"))
    assert total == len(site["qms"].log()) > 50
    assert first.count('<li id="e') == 50 and "第 1 / 2 页" in first and "下一页" in first
    assert f'id="e{total}"' in first and 'id="e1"' not in first
    second = c.get("/log", params={"page": 2}).text
    assert second.count('<li id="e') == total - 50 and 'id="e1"' in second and "上一页" in second


def test_the_audit_trail_filters_by_actor_action_target_and_date(app, site):
    c, _ = client(app, "auditor")
    number = site["document"]
    by_name = c.get("/log", params={"actor": "李明"}).text
    assert int(between(by_name, 'id="total">', "<")) == 1 and "李明 签署了" in by_name
    assert c.get("/log", params={"actor": "liming"}).text.count('<li id="e') == 1
    signs = c.get("/log", params={"action": "doc.sign"}).text
    assert signs.count('<li id="e') == 7 and signs.count("签署了") == 7          # 6 of A/0, 1 of A/1
    holds = c.get("/log", params={"action": "hold.", "target": site["notice"]}).text
    assert holds.count('<li id="e') == 28 and "加入法律保全：诉讼保全 13" in holds and "解除了" in holds
    from qms.base.dates import local_time        # the day in the workspace's zone, as a person types it
    from qms.store.workspace import open_workspace
    today = local_time(site["qms"].log()[-1]["at"], open_workspace(site["qms"].root))[:10]
    assert int(between(c.get("/log", params={"from": today, "to": today}).text, 'id="total">', "<")) > 50
    assert between(c.get("/log", params={"to": "2020-01-01"}).text, 'id="total">', "<") == "0"
    # the filters stay in the form
    kept = c.get("/log", params={"target": number, "action": "doc.release"}).text
    assert f'name="target" value="{number}"' in kept and '<option value="doc.release" selected>' in kept


def test_a_bad_filter_is_shown_on_the_same_page_with_the_query_kept(app, site):
    c, _ = client(app, "auditor")
    r = c.get("/log", params={"target": site["document"], "from": "2026-13-45"})
    assert r.status_code == 400 and "审计追踪</h1>" in r.text
    assert "不是真实存在的日期" in between(r.text, 'id="log-error">')
    assert f'value="{site["document"]}"' in r.text and 'value="2026-13-45"' in r.text
    r = c.get("/search", params={"q": "压缩机", "from": "not-a-date"})
    assert r.status_code == 400 and "检索</h1>" in r.text and 'value="压缩机"' in r.text
    assert "日期应写作 YYYY-MM-DD" in between(r.text, 'id="search-error">')
    r = c.get("/records", params={"year": "twenty"})
    assert r.status_code == 400 and "应为整数" in between(r.text, 'id="page-error">') and 'value="twenty"' in r.text
    r = c.get(f"/documents/{site['document']}", params={"as_of": "2026-02-30"})
    assert r.status_code == 400 and site["document"] in r.text and "不是真实存在的日期" in r.text


# ------------------------------------------------------------------ messages in the workspace's language

def test_results_and_errors_of_page_forms_read_in_chinese(tmp_path):
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    number = q.json("record", "file", "QR-SV-022-01", "--data", write_data(q, example_data("QR-SV-022-01"), "n.yaml"),
                    "--no-pdf")["number"]
    app = create_app(q.root)
    c, csrf = client(app, "tester")
    r = c.post("/keeper/hold", data={"csrf_token": csrf, "number": number, "reason": "诉讼保全"})
    assert between(r.text, '<p class="flash">') == f"已对 {number} 加入法律保全：诉讼保全"
    r = c.post("/keeper/hold", data={"csrf_token": csrf, "number": number, "reason": "再次"})
    assert r.status_code == 400 and between(r.text, 'id="keeper-error">') == f"{number} 已在法律保全中"
    r = c.post("/keeper/release-hold", data={"csrf_token": csrf, "number": number, "reason": " "})
    assert "解除法律保全须填写原因" in between(r.text, 'id="keeper-error">')
    r = c.post("/keeper/hold", data={"csrf_token": csrf, "number": "QR-SV-022-01-2026-9999", "reason": "x"})
    assert "没有编号为 QR-SV-022-01-2026-9999 的记录" in between(r.text, 'id="keeper-error">')
    # a record filed on its page: the result flashed on the record page
    fields = {k: str(v) for k, v in example_data("QR-SV-022-01").items() if not isinstance(v, (list, dict))}
    r = c.post("/file/QR-SV-022-01", data={"csrf_token": csrf, **fields})
    assert r.status_code == 200 and between(r.text, '<p class="flash">').startswith("已归档 QR-SV-022-01-2026-0002")
    r = c.post("/file/QR-SV-022-01", data={"csrf_token": csrf, **{**fields, "notice_date": "2026-02-30"}})
    assert r.status_code == 400 and "不是真实存在的日期" in between(r.text, 'id="file-error">')


def test_a_scan_error_shows_on_the_record_page_and_a_signature_error_on_the_inbox(app, site):
    c, csrf = client(app, "tester")
    r = c.post(f"/records/{site['notice']}/scan", data={"csrf_token": csrf, "signer": "钱经理"},
               files={"scan": ("notes.txt", b"not a picture", "text/plain")})
    assert r.status_code == 400 and site["notice"] in between(r.text, "<h1>", "</h1>")
    shown = between(r.text, 'id="record-error">')
    assert shown.startswith("notes.txt") and "应为 PDF 或签字表的照片" in shown
    s, s_csrf = client(app, "liming")
    r = s.post(f"/inbox/{site['document']}/sign", data={"csrf_token": s_csrf, "role": "会签", "password": "nope-nope"})
    assert r.status_code == 400 and "密码错误（连续第 1 次" in between(r.text, 'id="sign-error">')


def test_unknown_numbers_are_404_in_chinese(app, site):
    c, _ = client(app, "auditor")
    for url in ("/records/QR-SV-022-01-2026-9999", "/documents/QP-XX-999", "/records/nonsense"):
        r = c.get(url)
        assert r.status_code == 404 and "未找到" in r.text and "没有编号为" in r.text, url
    r = c.get(f"/documents/{site['document']}", params={"revision": "Z/9"})
    assert r.status_code == 404 and "没有版本 Z/9" in r.text
    assert c.get("/api/records/QR-SV-022-01-2026-9999").status_code == 404


# ------------------------------------------------------------------ pages

def test_the_search_page_before_a_query_shows_recent_records_and_tips(app, site):
    c, _ = client(app, "auditor")
    html = c.get("/search").text
    recent = between(html, "最近归档的记录", "</ul>")
    assert site["report"] in recent and site["notice"] in recent and "现场服务报告" in recent
    assert recent.index(site["notice"]) < recent.index(site["report"])       # the newest first
    assert "检索提示" in html and "客户：华东电力" in html


def test_multi_line_fields_keep_their_line_breaks(app, site):
    c, _ = client(app, "auditor")
    html = c.get(f"/records/{site['report']}").text
    work = example_data("QR-SV-022-02")["work_done"]
    assert "\n" in work.strip()
    assert f'<span class="lines">{work.strip()}' in html
    css = c.get("/static/app.css").text
    assert ".lines { white-space:pre-line; }" in css


def test_the_footer_shows_the_configured_organisation_never_the_placeholder(tmp_path):
    from qms.web import create_app
    q = make_workspace(tmp_path / "ws")
    c, _ = client(create_app(q.root), "auditor")
    footer = between(c.get("/search").text, "<footer>", "</footer>")
    assert "XXXXXX" not in footer and footer.strip() == ""
    a, _ = client(create_app(q.root), "admin")
    assert "organisation.name" in between(a.get("/search").text, "<footer>", "</footer>")
    cfg = q.root / "config.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("XXXXXX有限公司", "阳光物业服务有限公司", 1), encoding="utf-8")
    c, _ = client(create_app(q.root), "auditor")
    assert between(c.get("/search").text, "<footer>", "</footer>") == "阳光物业服务有限公司"


def test_an_unknown_page_says_so_in_chinese(app):
    c, _ = client(app, "auditor")
    r = c.get("/no-such-page")
    assert r.status_code == 404 and "没有这个页面" in r.text and "Not Found" not in r.text


def test_a_timestamp_s_day_is_the_day_in_the_workspace_zone():
    """23:30 UTC on 3 December is the morning of 4 December in Shanghai: pages show 12月04日."""
    from jinja2 import Environment
    from qms.web import filters

    class Ws:
        class config:
            timezone = "Asia/Shanghai"
    env = Environment()
    filters.install(env, Ws)
    assert env.from_string("{{ v|cn_date }}").render(v="2026-12-03T23:30:00+00:00") == "2026年12月04日"
    assert env.from_string("{{ v|cn_date }}").render(v="2026-12-03") == "2026年12月03日"
    assert env.from_string("{{ v|cn_datetime }}").render(v="2026-12-03T23:30:00+00:00") == "2026年12月04日 07:30"


@pytest.mark.parametrize("line, words", [
    ("submitted QP-SC-015 A/1 (draft): 服务提供过程控制工作程序", "已提交 QP-SC-015 A/1（草稿）"),
    ("replaced the draft of QP-SC-015 A/1: 服务提供过程控制工作程序", "已替换 QP-SC-015 A/1 草稿"),
    ("signed QP-SC-015 A/1 as 批准 (approved): 李明 (liming) at 2026-12-03T08:26:00+00:00",
     "李明 已以批准身份签署 QP-SC-015 A/1（2026-12-03 16:26）"),
    ("rejected QP-SC-015 A/1: 2 signature(s) void, back to draft — 5.2 职责不清", "已驳回 QP-SC-015 A/1：2 个签署作废"),
    ("withdrew the draft QP-SC-015 A/1: 不再需要", "已撤回 QP-SC-015 A/1 草稿：不再需要"),
    ("released QP-SC-015 A/1: 发布 2026-12-05, 实施 2026-12-10 → archive/documents/x.docx",
     "已发布 QP-SC-015 A/1：发布日期 2026-12-05，实施日期 2026-12-10"),
    ("withdrew QP-SC-015 (作废) on 2026-12-03: 并入 QP-SC-016", "已作废 QP-SC-015（2026-12-03）：并入 QP-SC-016"),
    ("recalled controlled copy No.2 of QP-SC-015 A/1 from 工程部", "已从 工程部 回收 QP-SC-015 A/1 受控副本 No.2"),
    ("hold released on QR-1: 结案", "已解除 QR-1 的法律保全：结案"),
    ("filed QR-SV-022-02-2026-0001 (现场服务报告) → awaiting_signature", "已归档 QR-SV-022-02-2026-0001（现场服务报告），状态：待用户签字"),
    ("signed QR-1: scan attached (王海涛 用户代表, signed 2026-12-01) → filed", "已上传 QR-1 的签字扫描件（王海涛 用户代表，2026-12-01 签字）"),
    ("amended QR-1: version 2 (电话号码写错)", "已修改 QR-1，形成第 2 版（电话号码写错）"),
])
def test_every_result_a_page_flashes_reads_in_chinese(line, words):
    from qms.web import messages

    class Ws:
        class config:
            locale, timezone = "zh-CN", "Asia/Shanghai"
    assert words in messages.result(Ws, line)
    Ws.config.locale = "en"
    assert messages.result(Ws, line) == line            # an English workspace keeps the service's words


def test_a_volume_that_cannot_be_made_says_why_on_the_keeper_page(app):
    c, csrf = client(app, "tester")
    r = c.post("/keeper/volume", data={"csrf_token": csrf, "form": "QR-SV-022-01", "year": "二〇二六"})
    assert r.status_code == 400 and "保存期与销毁</h1>" in r.text
    assert "年份应为四位数字" in between(r.text, 'id="keeper-error">')

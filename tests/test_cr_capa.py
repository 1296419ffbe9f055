"""Change requests and CAPA (issue 23): a CR affecting QP-SC-015 approved by signature; the next
revision submitted under it; its page shows the revision drafted, signed, released and the CR
closes. A CAPA opened from a complaint record, two actions, verified and closed by signature; the
complaint record's page links to it. Bad input refused in one line, the archive unchanged."""

from __future__ import annotations

import datetime as dt
import warnings

from conftest import PASSWORDS, REPO, copy_into, example_data, release_procedure, snapshot, write_data
from qms.base.dates import today

warnings.filterwarnings("ignore", message=".*httpx2.*")


def test_change_request_approved_names_the_revision_and_closes_on_release(qms):
    copy_into(qms, REPO / "examples" / "tour" / "flow.png")
    number = release_procedure(qms, copy_into(qms, REPO / "examples" / "tour" / "procedure.yaml"))
    cr = qms.json("cr", "new", "--title", "增加投诉升级流程", "--reason", "客户投诉处理不及时",
                  "--impact", "客户服务部培训", "--affects", number, "--approvers", "zhaogq")["number"]
    assert cr == f"CR-{today().year}-0001"
    a1 = copy_into(qms, REPO / "examples" / "tour" / "procedure-A1.yaml")
    out = qms.fail("doc", "submit", a1, "--change", "第5节增加投诉升级", "--cr", cr)
    assert "待批准" in out
    assert any(i["kind"] == "cr" for i in qms.as_("zhaogq").json("todo")["items"])
    qms.as_("liming").fail("cr", "approve", cr, "--password-stdin", input=PASSWORDS["liming"] + "\n")
    qms.as_("zhaogq").fail("cr", "approve", cr, "--password-stdin", input="wrong\n")
    qms.as_("zhaogq")("cr", "approve", cr, "--password-stdin", input=PASSWORDS["zhaogq"] + "\n")
    assert qms.json("cr", "show", cr)["status"] == "approved"
    qms("doc", "submit", a1, "--change", "第5节增加投诉升级", "--cr", cr)
    shown = qms.json("cr", "show", cr)
    assert [(r["number"], r["revision"], r["state"]) for r in shown["revisions"]] == [(number, "A/1", "draft")]
    for role, name in [("编制", "张建华"), ("会签", "李明"), ("会签", "周静"), ("审定", "王立新"), ("批准", "赵国庆")]:
        qms.sign(number, role, name)
    assert qms.json("cr", "show", cr)["revisions"][0]["state"] == "in_review"
    qms("doc", "release", number, "--issued", "2026-04-01", "--effective", "2026-04-08", "--no-pdf")
    shown = qms.json("cr", "show", cr)
    assert shown["revisions"][0]["state"] == "released" and shown["status"] == "closed"
    assert "已关闭" in qms("cr", "list").output and "已发布" in qms("cr", "show", cr).output
    assert "不能取消" in qms.fail("cr", "cancel", cr, "--reason", "x")
    other = qms.json("cr", "new", "--title", "另一变更", "--reason", "r", "--affects", number,
                     "--approvers", "zhaogq")["number"]
    qms("cr", "cancel", other, "--reason", "并入 " + cr)
    assert qms.json("cr", "show", other)["status"] == "cancelled"
    assert not [i for i in qms.as_("zhaogq").json("todo")["items"] if i["kind"] == "cr"]


def test_bad_change_requests_are_refused_in_one_line(qms):
    copy_into(qms, REPO / "examples" / "tour" / "flow.png")
    number = release_procedure(qms, copy_into(qms, REPO / "examples" / "tour" / "procedure.yaml"))
    qms("doc", "obsolete", number, "--reason", "合并到新程序")
    before = snapshot(qms.archive)
    for args, word in [(["--affects", number, "--approvers", "zhaogq"], "作废"),
                       (["--affects", "QP-XX-404", "--approvers", "zhaogq"], "QP-XX-404"),
                       (["--affects", number, "--approvers", "ghost"], "ghost")]:
        out = qms.fail("cr", "new", "--title", "t", "--reason", "r", *args)
        assert word in out and len(out.strip().splitlines()) == 1
    assert snapshot(qms.archive) == before


def complaint(qms) -> str:
    data = write_data(qms, example_data("QR-SV-022-05"), "complaint.yaml")
    return qms.json("record", "file", "QR-SV-022-05", "--data", data, "--no-pdf")["number"]


def test_capa_from_a_complaint_two_actions_verified_closed_and_linked_from_the_record(qms):
    record = complaint(qms)
    capa = qms.json("capa", "new", "--from-record", record, "--title", "投诉响应超时",
                    "--description", "客户投诉48小时未回复", "--containment", "当日电话回访",
                    "--root-cause", "无升级规定")["number"]
    assert capa == f"CAPA-{today().year}-0001"
    due = (today() + dt.timedelta(days=10)).isoformat()
    qms("capa", "action", capa, "--owner", "liming", "--due", due, "--text", "修订QP-SC-015增加升级流程")
    qms("capa", "action", capa, "--owner", "zhoujing", "--due", due, "--text", "培训客服人员")
    assert [i["kind"] for i in qms.as_("liming").json("todo")["items"]] == ["capa"]
    assert "尚有措施未完成" in qms.as_("admin").fail("capa", "verify", capa, "--result", "有效", "--password-stdin",
                                                  input=PASSWORDS["admin"] + "\n")
    qms.as_("zhoujing").fail("capa", "action", capa, "--done", "1", "--password-stdin",
                             input=PASSWORDS["zhoujing"] + "\n")
    for n, login in ((1, "liming"), (2, "zhoujing")):
        qms.as_(login)("capa", "action", capa, "--done", str(n), "--password-stdin", input=PASSWORDS[login] + "\n")
    assert "尚未验证" in qms.as_("admin").fail("capa", "close", capa, "--password-stdin",
                                             input=PASSWORDS["admin"] + "\n")
    qms.as_("wangfang")("capa", "verify", capa, "--result", "三个月内无超时投诉", "--password-stdin",
                        input=PASSWORDS["wangfang"] + "\n")
    res = qms.as_("liujun").json("capa", "close", capa, "--password-stdin", input=PASSWORDS["liujun"] + "\n")
    assert res["meaning"] == "批准关闭"
    shown = qms.json("capa", "show", capa)
    assert shown["status"] == "closed" and shown["record"] == record and len(shown["actions"]) == 2
    assert "三个月内无超时投诉" in qms("capa", "show", capa).output
    assert "无权" in qms.as_("liming").fail("capa", "close", capa, "--password-stdin", input=PASSWORDS["liming"] + "\n")
    # the new events verify and rebuild like every other
    qms("verify")
    qms.as_("admin")("rebuild")
    assert qms.json("capa", "show", capa) == shown
    from starlette.testclient import TestClient

    from qms.web import create_app
    from webkit import login
    c = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    login(c, "auditor")
    page = c.get(f"/records/{record}")
    assert f'href="/capa/{capa}"' in page.text and "已关闭" in page.text
    assert "培训客服人员" in c.get(f"/capa/{capa}").text


def test_bad_capa_input_is_refused_in_one_line(qms):
    record = complaint(qms)
    capa = qms.json("capa", "new", "--from-record", record, "--title", "t", "--description", "d")["number"]
    before = snapshot(qms.archive)
    past = (today() - dt.timedelta(days=1)).isoformat()
    for args, word in [(["--owner", "liming", "--due", past, "--text", "x"], "已过"),
                       (["--owner", "ghost", "--due", today().isoformat(), "--text", "x"], "ghost"),
                       (["--owner", "liming", "--due", "2026-02-30", "--text", "x"], "2026-02-30")]:
        out = qms.fail("capa", "action", capa, *args)
        assert word in out and len(out.strip().splitlines()) == 1
    assert "QR-XX" in qms.fail("capa", "new", "--from-record", "QR-XX-2026-0001", "--title", "t", "--description", "d")
    assert snapshot(qms.archive) == before

"""Controlled copies, both ends (issue 23): a copy issued to a person and one to a department with a
responsible person; each holder signs 签收; the revision is superseded; each signs 回收 — every
step signed, in the register and in the journal."""

from __future__ import annotations

import json

from conftest import PASSWORDS, REPO, copy_into, release_procedure, snapshot


def journal_actions(qms) -> list[str]:
    return [json.loads(line)["action"] for line in (qms.archive / "audit.log").read_text(encoding="utf-8").splitlines()]


def copy_items(qms, login):
    return [i for i in qms.as_(login).json("todo")["items"] if i["kind"].startswith("copy_")]


def test_copy_issued_received_superseded_returned_each_step_signed(qms):
    copy_into(qms, REPO / "examples" / "tour" / "flow.png")
    number = release_procedure(qms, copy_into(qms, REPO / "examples" / "tour" / "procedure.yaml"), pdf=True)
    qms("doc", "issue-copy", number, "--holder", "liming")
    qms("doc", "issue-copy", number, "--holder", "客户服务部", "--responsible", "zhoujing")
    assert [i["kind"] for i in copy_items(qms, "liming")] == ["copy_receive"]
    assert [i["kind"] for i in copy_items(qms, "zhoujing")] == ["copy_receive"]
    # only the holder signs, with their password
    out = qms.as_("zhoujing").fail("doc", "receive-copy", number, "--copy", "1", "--password-stdin",
                                   input=PASSWORDS["zhoujing"] + "\n")
    assert "李明" in out
    qms.as_("liming").fail("doc", "receive-copy", number, "--copy", "1", "--password-stdin", input="wrong\n")
    r = qms.as_("liming").json("doc", "receive-copy", number, "--copy", "1", "--password-stdin",
                               input=PASSWORDS["liming"] + "\n")
    assert r["meaning"] == "签收" and r["name"] == "李明"
    qms.as_("zhoujing")("doc", "receive-copy", number, "--copy", "2", "--password-stdin",
                        input=PASSWORDS["zhoujing"] + "\n")
    assert not copy_items(qms, "liming")
    # A/1 supersedes A/0: each holder's to-do asks for 回收
    a1 = copy_into(qms, REPO / "examples" / "tour" / "procedure-A1.yaml")
    release_procedure(qms, a1, issued="2026-04-01", effective="2026-04-08", change="第5节增加投诉升级", pdf=False)
    assert [i["kind"] for i in copy_items(qms, "liming")] == ["copy_return"]
    r = qms.as_("liming").json("doc", "return-copy", number, "--copy", "1", "--password-stdin",
                               input=PASSWORDS["liming"] + "\n")
    assert r["meaning"] == "回收"
    # a keeper records the return of the department's paper with a reason
    assert "原因" in qms.fail("doc", "return-copy", number, "--copy", "2", "--password-stdin",
                              input=PASSWORDS["tester"] + "\n")
    qms("doc", "return-copy", number, "--copy", "2", "--reason", "负责人出差，纸质副本由文控收回",
        "--password-stdin", input=PASSWORDS["tester"] + "\n")
    assert not copy_items(qms, "liming") and not copy_items(qms, "zhoujing")
    register = {c["copy_no"]: c for c in qms.json("doc", "copies", number)}
    assert register[1]["holder_login"] == "liming" and register[1]["received_by"] == "liming"
    assert register[1]["returned_by"] == "liming" and register[1]["recalled"]
    assert register[2]["holder"] == "客户服务部（负责人 周静）" and register[2]["received_by"] == "zhoujing"
    assert register[2]["returned_by"] == "tester" and "出差" in register[2]["return_reason"]
    text = qms("doc", "copies", number).output
    assert "签收" in text and "liming" in text
    actions = journal_actions(qms)
    assert actions.count("doc.issue_copy") == 2 and actions.count("doc.copy_received") == 2
    assert actions.count("doc.copy_returned") == 2
    trail = qms("log", "--target", number).output
    assert "签收了 QP-SC-015 A/0 受控副本 No.1" in trail and "签署回收了 QP-SC-015 A/0 受控副本 No.2" in trail
    again = qms.as_("liming").fail("doc", "return-copy", number, "--copy", "1", "--password-stdin",
                                   input=PASSWORDS["liming"] + "\n")
    assert "已回收" in again


def test_unknown_holder_or_responsible_is_refused_in_one_line(qms):
    copy_into(qms, REPO / "examples" / "tour" / "flow.png")
    number = release_procedure(qms, copy_into(qms, REPO / "examples" / "tour" / "procedure.yaml"))
    before = snapshot(qms.archive)
    out = qms.fail("doc", "issue-copy", number, "--holder", "nobody")
    assert "nobody" in out and len(out.strip().splitlines()) == 1
    out = qms.fail("doc", "issue-copy", number, "--holder", "客户服务部", "--responsible", "ghost")
    assert "ghost" in out
    out = qms.fail("doc", "receive-copy", number, "--copy", "7", "--password-stdin", input="x\n")
    assert "No.7" in out
    assert snapshot(qms.archive) == before

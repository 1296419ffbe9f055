"""销毁审批 (issue 18): nothing is destroyed before its time, and disposal is a decision of two
people — a keeper proposes, another person holding records.dispose.approve approves with their
password, and the certificate names both."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from qms.adapters.pdf import pdf_text

from conftest import PASSWORDS, Qms, example_data, make_scan, snapshot, write_data

# The quality manager's morning: 2026-12-03, 09:00 in Shanghai.
TODAY = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.timezone.utc)


def file_on(qms: Qms, form_id: str, on: str, **changes) -> str:
    path = write_data(qms, example_data(form_id, **changes), f"{form_id}-{on}-{len(changes)}.yaml")
    return qms.json("record", "file", form_id, "--data", path, "--on", on, "--no-pdf")["number"]


def approve(qms: Qms, login: str, proposal: str, *, ok: bool = True, password: str | None = None):
    return qms.as_(login)("disposal", "approve", proposal, "--password-stdin", ok=ok,
                          input=(password or PASSWORDS[login]) + "\n")


@pytest.fixture
def clock():
    with time_machine.travel(TODAY, tick=False) as traveller:
        yield traveller


def test_a_future_as_of_destroys_nothing(qms, clock):
    old = file_on(qms, "QR-SV-022-01", "2019-03-01")          # kept until 2024-12-31
    young = file_on(qms, "QR-SV-022-01", "2024-06-01")        # kept until 2029-12-31
    before = snapshot(qms.archive)
    msg = qms.fail("purge", "--as-of", "2030-01-01", "--yes")
    assert "2030-01-01" in msg and "after today" in msg and len(msg.strip().splitlines()) == 1
    assert snapshot(qms.archive) == before
    # a look ahead is still allowed: the report and the dry run
    assert sorted(qms.json("purge", "--as-of", "2030-01-01", "--dry-run")["disposed"]) == [old, young]
    assert [d["number"] for d in qms.json("retention", "report", "--as-of", "2030-01-01")["due"]] == [old, young]
    assert snapshot(qms.archive) == before
    # and purge as of today only proposes what is due today
    res = qms.json("purge", "--yes")
    assert (res["proposal"], res["proposed"], res["disposed"]) == ("DR-2026-0001", [old], [])
    assert qms.json("record", "show", old)["status"] == "filed"          # nothing destroyed by a proposal


def test_a_keeper_proposes_and_another_person_approves(qms, clock, tmp_path):
    old = {"a": file_on(qms, "QR-SV-022-01", "2019-03-01"),
           "held": file_on(qms, "QR-SV-022-01", "2019-05-01"),
           "signed": file_on(qms, "QR-SV-022-02", "2019-06-01"),
           "amended": file_on(qms, "QR-SV-022-01", "2019-07-01"),
           "b": file_on(qms, "QR-SV-022-03", "2019-08-01")}
    young = file_on(qms, "QR-SV-022-01", "2024-06-01")
    keeper = qms.as_("wangfang")                     # keeper and 管理者代表 both
    prop = keeper.json("disposal", "propose", "--opinion", "保存期满，经质量部鉴定无保存价值", "--method",
                       "删除电子档案，纸质件碎纸机粉碎", "--witness", "赵国庆")
    number = prop["proposal"]
    assert number == "DR-2026-0001" and sorted(prop["proposed"]) == sorted(old.values())
    assert young not in prop["proposed"]
    shown = qms.json("disposal", "show", number)
    assert (shown["status"], shown["proposed_by"], shown["witness"]) == ("pending", "wangfang 王芳", "赵国庆")
    assert "待审批" in qms("disposal", "proposals").output

    before = snapshot(qms.archive)
    # the proposer may not approve, whatever roles they hold; a clerk/keeper without the permission neither
    msg = approve(qms, "wangfang", number, ok=False).output
    assert "two people" in msg and "wangfang" in msg
    msg = approve(qms, "tester", number, ok=False).output
    assert "records.dispose.approve" in msg
    assert snapshot(qms.archive) == before

    # Between proposal and approval: one record held, one signed, one amended.
    qms("hold", "add", old["held"], "--reason", "诉讼保全")
    qms("record", "sign", old["signed"], "--scan", make_scan(tmp_path / "s.pdf", "signed"), "--signer", "王海涛")
    fix = write_data(qms, example_data("QR-SV-022-01", contact="王海涛（设备科）"), "fix.yaml")
    qms("record", "amend", old["amended"], "--data", fix, "--reason", "联系人补全", "--no-pdf")

    assert "wrong password" in approve(qms, "liujun", number, ok=False, password="nope").output
    res = approve(qms, "liujun", number)
    assert "approved DR-2026-0001" in res.output
    assert "already" in approve(qms, "liujun", number, ok=False).output      # approved once
    data = qms.json("disposal", "show", number)
    assert data["status"] == "approved" and data["certificate"] == "DC-2026-0001"
    gone = sorted([old["a"], old["b"]])
    for n in gone:
        assert qms.json("record", "show", n)["status"] == "disposed"
    for n in (old["held"], old["signed"], old["amended"], young):
        assert qms.json("record", "show", n)["status"] != "disposed"
    left = {x["number"]: x["reason"] for x in data["left_out"]}
    assert set(left) == {old["held"], old["signed"], old["amended"]}
    assert "on hold" in left[old["held"]] and "signed" in left[old["signed"]] and "amended" in left[old["amended"]]

    # The certificate names both people, the witness, the opinion and the method.
    (cert,) = qms.json("disposal", "list")["items"]
    assert (cert["certificate"], cert["proposal"], cert["proposed_by"], cert["actor"]) == \
        ("DC-2026-0001", number, "wangfang 王芳", "liujun 刘军")
    folder = qms.root / cert["folder"]
    body = json.loads((folder / "certificate.json").read_text(encoding="utf-8"))
    assert sorted(r["number"] for r in body["records"]) == gone
    assert (body["proposed_by"], body["authorised_by"], body["witness"]) == ("wangfang 王芳", "liujun 刘军", "赵国庆")
    assert body["opinion"] == "保存期满，经质量部鉴定无保存价值" and body["method"] == "删除电子档案，纸质件碎纸机粉碎"
    assert body["disposed_at"][:10] == "2026-12-03"
    text = pdf_text(folder / "certificate.pdf")
    for words in ("王芳", "刘军", "赵国庆", "鉴定意见", "销毁方式", number, old["held"]):
        assert words in text, words
    shown = qms("disposal", "show", "DC-2026-0001").output
    assert "王芳" in shown and "刘军" in shown and "碎纸机" in shown and old["a"] in shown
    entry = qms.log()[-1]
    assert (entry["action"], entry["actor"], entry["data"]["proposal"]) == ("purge", "liujun 刘军", number)
    assert qms.json("verify")["ok"] is True


def test_a_proposal_can_be_rejected_and_then_nothing_is_destroyed(qms, clock):
    old = file_on(qms, "QR-SV-022-01", "2019-03-01")
    number = qms.json("purge", "--yes")["proposal"]
    # the same records are not proposed twice while a proposal waits
    assert qms.json("purge", "--yes")["proposal"] is None
    assert "needs --reason" in qms.as_("liujun").fail("disposal", "reject", number, "--reason", " ")
    res = qms.as_("liujun").json("disposal", "reject", number, "--reason", "客户合同要求延长保存")
    assert res["status"] == "rejected"
    assert qms.json("record", "show", old)["status"] == "filed"
    assert "已驳回" in qms("disposal", "show", number).output
    assert "already" in approve(qms, "liujun", number, ok=False).output
    assert qms.json("purge", "--yes")["proposal"] == "DR-2026-0002"            # gap-free numbering
    assert qms.json("verify")["ok"] is True


def test_the_proposal_needs_an_opinion_and_a_method(qms, clock):
    file_on(qms, "QR-SV-022-01", "2019-03-01")
    before = snapshot(qms.archive)
    assert "--opinion" in qms.fail("disposal", "propose", "--method", "删除")
    assert "--method" in qms.fail("disposal", "propose", "--opinion", "到期")
    assert "unknown disposal proposal" in qms.fail("disposal", "show", "DR-2026-0042")
    assert snapshot(qms.archive) == before


def test_a_record_goes_only_once_the_clock_passes_its_retention_end(qms, clock):
    kept = file_on(qms, "QR-SV-022-01", "2021-06-01")                 # kept until 2026-12-31
    assert qms.json("record", "show", kept)["retention_until"] == "2026-12-31"
    assert "after today" in qms.fail("purge", "--as-of", "2027-01-01", "--yes")
    assert qms.json("purge", "--yes")["proposal"] is None             # not due on 2026-12-03
    clock.move_to(dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.timezone.utc))
    for login in ("tester", "liujun"):                                # a new day, a new session
        qms.as_(login)("login", login, "--password-stdin", input=PASSWORDS[login] + "\n")
    number = qms.json("purge", "--yes")["proposal"]
    assert number == "DR-2027-0001"
    assert "DC-2027-0001" in approve(qms, "liujun", number).output
    assert qms.json("disposal", "show", number)["certificate"] == "DC-2027-0001"
    assert qms.json("record", "show", kept)["status"] == "disposed"
    assert qms.json("record", "show", kept)["disposed_at"][:10] == "2027-01-01"

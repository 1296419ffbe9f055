"""Electronic signatures that prove who signed (21 CFR 11.50, 11.70, 11.100, 11.200, 11.300):
the password at each signing, lockout, separation of duties, binding to the content, reject and
withdraw, and the organisation's PAdES seal on the released PDF/A."""

from __future__ import annotations

import hashlib
import subprocess

import yaml

from qms.adapters.pdf import pdf_text, pdfa_part

from conftest import DATA, PASSWORDS, copy_into, release_procedure, snapshot

CHAIN = [("编制", "张建华"), ("会签", "李明"), ("会签", "周静"), ("审定", "王立新"), ("批准", "赵国庆")]


def submit(qms, name="design-control.yaml"):
    return qms.json("doc", "submit", copy_into(qms, DATA / name))["number"]


def edit_config(qms, change):
    path = qms.root / "config.yaml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(cfg)
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    qms.apply_config()


def test_signing_needs_a_session_and_the_permission_for_that_role(qms, tmp_path):
    number = submit(qms)
    before = snapshot(qms.archive)
    assert "lacks the permission doc.sign.prepared" in qms.fail("doc", "sign", number, "--role", "编制",
                                                              "--password-stdin", input="x\n")
    assert "lacks the permission doc.sign.prepared" in qms.as_("auditor").fail(
        "doc", "sign", number, "--role", "编制", "--password-stdin", input="x\n")
    assert "lacks the permission doc.sign.approved" in qms.sign_fail(number, "批准", "张建华")
    stranger = qms.as_("nobody")       # a config folder without a session
    assert "no session" in stranger.fail("doc", "sign", number, "--role", "编制", "--password-stdin", input="x\n")
    # refused before the password is asked: nothing journaled, nothing changed
    assert snapshot(qms.archive) == before


def test_an_auditor_reads_everything_and_changes_nothing(qms):
    number = release_procedure(qms, copy_into(qms, DATA / "design-control.yaml"))
    auditor = qms.as_("auditor")
    for args in (["doc", "show", number], ["doc", "list"], ["log"], ["record", "list"], ["form", "list"],
                 ["user", "list"], ["whoami"], ["search", "设计"], ["retention", "report"], ["hold", "list"],
                 ["disposal", "list"], ["doc", "copies", number]):
        auditor.json(*args)
    assert auditor("verify").exit_code == 0
    before = snapshot(qms.archive)
    refusals = {
        ("doc", "submit", DATA / "design-control.yaml", "--change", "x"): "doc.submit",
        ("doc", "release", number, "--issued", "2027-01-01", "--effective", "2027-01-02"): "doc.release",
        ("doc", "obsolete", number, "--reason", "x"): "doc.obsolete",
        ("doc", "withdraw", number, "--reason", "x"): "doc.withdraw",
        ("doc", "issue-copy", number, "--holder", "生产部"): "doc.copy",
        ("doc", "render", DATA / "design-control.yaml", "-o", qms.root / "p.docx"): "doc.render",
        ("record", "file", "QR-SV-022-01", "--data", "x.yaml"): "record.file",
        ("record", "import", "QR-SV-022-04", "x.csv"): "record.import",
        ("record", "pdf"): "record.pdf",
        ("hold", "add", "QR-SV-022-01-2026-0001", "--reason", "x"): "records.hold",
        ("purge", "--yes"): "records.purge",
        ("compile", "--form", "QR-SV-022-04", "--year", "2026", "-o", qms.root / "v.pdf"): "records.compile",
        ("reindex",): "archive.maintain",
        ("rebuild",): "archive.maintain",
        ("user", "add", "x1", "--name", "某", "--roles", "clerk", "--password-stdin"): "users.manage",
        ("keys", "init", "--replace"): "keys.manage",
    }
    for args, permission in refusals.items():
        out = auditor.fail(*args)
        assert f"lacks the permission {permission}" in out and out.count("\n") == 1, (args, out)
    assert snapshot(qms.archive) == before


def test_a_wrong_password_at_signing_is_journaled_and_the_fifth_locks(qms):
    number = submit(qms)
    for n in range(1, 5):
        assert f"wrong password for zhangjh ({n} of 5" in qms.sign_fail(number, "编制", "张建华", password="guess")
    assert "locked until" in qms.sign_fail(number, "编制", "张建华", password="guess")
    assert "locked until" in qms.sign_fail(number, "编制", "张建华")        # the right one, too late
    failed = [e for e in qms.log("--target", "zhangjh") if e["action"].startswith("login.")]
    assert [e["action"] for e in failed] == ["login.failed"] * 5 + ["login.locked", "login.failed"]
    assert {e["data"]["purpose"] for e in failed if e["action"] == "login.failed"} == {"sign"}
    assert qms.json("doc", "show", number)["approvals"] == []


def test_one_person_signs_one_role_of_a_revision(qms):
    admin = qms.as_("admin")
    admin("user", "roles", "zhangjh", "--set", "编制,会签,批准")
    number = submit(qms)
    qms.sign(number, "编制", "张建华")
    assert "separation of duties" in qms.sign_fail(number, "会签", "张建华")
    qms.sign(number, "会签", "李明")
    assert "already signed this revision as 会签" in qms.sign_fail(number, "会签", "李明")
    qms.sign(number, "会签", "周静")                  # 会签: several different people
    qms.sign(number, "审定", "王立新")
    assert "separation of duties" in qms.sign_fail(number, "批准", "张建华")
    # configurable: without separation of duties the same person may sign another role
    edit_config(qms, lambda c: c["identity"].update(separation_of_duties=False))
    qms.sign(number, "批准", "张建华")
    assert [a["login"] for a in qms.json("doc", "show", number)["approvals"]] == [
        "zhangjh", "liming", "zhoujing", "wanglx", "zhangjh"]


def test_an_approval_role_limited_to_a_department(qms):
    qms.as_("admin")("user", "roles", "zhaogq", "--set", "批准@质量部")
    number = submit(qms)                               # department 研发中心
    for role, name in CHAIN[:-1]:
        qms.sign(number, role, name)
    assert "lacks the permission doc.sign.approved for department 研发中心" in qms.sign_fail(number, "批准", "赵国庆")
    qms.as_("admin")("user", "roles", "zhaogq", "--set", "批准@研发中心")
    qms.sign(number, "批准", "赵国庆")


def test_the_signature_manifestation_and_its_binding(qms):
    number = submit(qms)
    out = qms.sign(number, "编制", "张建华", "--meaning", "本人编制并对内容负责").output
    assert "张建华 (zhangjh)" in out
    shown = qms.json("doc", "show", number)
    (a,) = shown["approvals"]
    assert (a["name"], a["login"], a["role"], a["meaning"]) == ("张建华", "zhangjh", "prepared", "本人编制并对内容负责")
    assert a["signed_at"].endswith("+08:00")            # the workspace's time zone (Asia/Shanghai)
    assert a["signed_on"] == a["signed_at"][:10]
    source = qms.root / shown["files"]["source"]
    assert a["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert len(a["docx_sha256"]) == 64
    entry = [e for e in qms.log("--target", number) if e["action"] == "doc.sign"][0]
    assert entry["actor"] == "zhangjh 张建华"
    assert entry["data"]["source_sha256"] == a["source_sha256"] and entry["data"]["docx_sha256"] == a["docx_sha256"]
    text = qms("doc", "show", number).output
    assert "编制 (prepared)  张建华 (zhangjh)" in text


def test_release_refuses_content_changed_after_a_signature_then_reject_and_sign_again(qms):
    number = submit(qms)
    for role, name in CHAIN:
        qms.sign(number, role, name)
    # the rendered content changes under the signatures (here: the company name printed in the header)
    edit_config(qms, lambda c: c["organisation"].update(name="另一家有限公司"))
    before = snapshot(qms.archive)
    out = qms.fail("doc", "release", number, "--issued", "2026-03-13", "--effective", "2026-03-20", "--no-pdf")
    assert "content changed after the signature of 编制 张建华 (.docx)" in out and "qms doc reject" in out
    assert snapshot(qms.archive) == before
    # someone outside the chain may not reject; a member may, with their password
    assert "only a member of the approval chain" in qms.fail("doc", "reject", number, "--reason", "x",
                                                             "--password-stdin", input="x\n")
    approver = qms.as_("zhaogq")
    out = approver("doc", "reject", number, "--reason", "公司名称变更，重新审批", "--password-stdin",
                   input=PASSWORDS["zhaogq"] + "\n").output
    assert "5 signature(s) void, back to draft" in out
    shown = qms.json("doc", "show", number)
    assert shown["status"] == "draft" and len(shown["approvals"]) == 5
    assert all(a["void"] and a["void_reason"] == "公司名称变更，重新审批" for a in shown["approvals"])
    assert "VOID" in qms("doc", "show", number).output
    # the draft may now be replaced, and signed again by the same people
    qms("doc", "submit", qms.root / "design-control.yaml")
    for role, name in CHAIN:
        qms.sign(number, role, name)
    qms("doc", "release", number, "--issued", "2026-03-13", "--effective", "2026-03-20", "--no-pdf")
    log = [e["action"] for e in qms.log("--target", number)]
    assert log.count("doc.sign") == 10 and "doc.reject" in log
    assert qms.json("verify", "--deep")["ok"] is True     # the replay gives the same void signatures


def test_withdraw_discards_an_unreleased_draft(qms):
    number = submit(qms)
    qms.sign(number, "编制", "张建华")
    assert "withdrew the draft QP-RD-007 A/0" in qms("doc", "withdraw", number, "--reason", "不再需要").output
    assert qms.json("doc", "show", number)["status"] == "withdrawn"
    assert "withdrawn" in qms.sign_fail(number, "会签", "李明")
    assert "withdrawn" in qms.fail("doc", "release", number, "--issued", "2026-03-13", "--effective", "2026-03-20")
    assert "no unreleased draft" in qms.fail("doc", "withdraw", number, "--reason", "again")
    # a new draft starts at the next label; the withdrawn one stays in history and in the archive
    again = qms.json("doc", "submit", qms.root / "design-control.yaml")
    assert again["revision"] == "A/1"
    assert [r["status"] for r in qms.json("doc", "show", number)["revisions"]] == ["withdrawn", "draft"]
    assert qms.json("verify", "--deep")["ok"] is True


def test_released_pdf_carries_the_seal_and_verify_catches_a_changed_byte(qms):
    number = release_procedure(qms, copy_into(qms, DATA / "design-control.yaml"), pdf=True)
    shown = qms.json("doc", "show", number, "--as-of", "2026-03-20")
    pdf = qms.root / shown["files"]["pdf"]
    assert pdfa_part(pdf) == "2B"
    sig = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in sig and "Total document signed" in sig
    text = pdf_text(pdf).replace(" ", "")
    for name in ("张建华", "李明", "周静", "王立新", "陈芳", "赵国庆"):
        assert name in text, name
    # a controlled copy is stamped on a copy without the seal (its bytes differ from the sealed original)
    copy = qms.root / qms.json("doc", "issue-copy", number, "--holder", "生产部")["file"]
    assert "does not contain any signatures" in subprocess.run(["pdfsig", str(copy)], capture_output=True,
                                                               text=True).stdout
    assert "受控副本" in pdf_text(copy).replace(" ", "")
    assert qms("verify").exit_code == 0
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    problems = qms.json("verify", ok=False)["problems"]
    assert any(shown["files"]["pdf"] in p and "seal broken" in p for p in problems), problems


# ------------------------------------------------------------------ records

def test_records_need_a_clerk_session(qms):
    from conftest import example_data, write_data
    data = write_data(qms, example_data("QR-SV-022-02"), "report.yaml")
    before = snapshot(qms.archive)
    out = qms.as_("zhangjh").fail("record", "file", "QR-SV-022-02", "--data", data, "--no-pdf")
    assert "lacks the permission record.file" in out
    assert "no session" in qms.as_("nobody").fail("record", "file", "QR-SV-022-02", "--data", data, "--no-pdf")
    assert snapshot(qms.archive) == before


def test_the_filers_signature_field_is_filled_from_their_login_with_their_password(qms):
    from conftest import example_data, write_data
    data = write_data(qms, {**example_data("QR-SV-022-02"), "engineer": ""}, "report.yaml")
    before = snapshot(qms.archive)
    # a wrong password is refused (and journaled); nothing is filed
    qms("record", "file", "QR-SV-022-02", "--data", data, "--no-pdf", "--sign", "--password-stdin",
        input="wrong\n", ok=False)
    assert [e["action"] for e in qms.log("--target", "tester")][-1] == "login.failed"
    assert not (qms.archive / "records").exists()
    filed = qms.json("record", "file", "QR-SV-022-02", "--data", data, "--no-pdf", "--sign", "--password-stdin",
                     input=PASSWORDS["tester"] + "\n")
    shown = qms.json("record", "show", filed["number"])
    assert shown["data"]["engineer"] == "测试员"
    entry = [e for e in qms.log("--target", filed["number"]) if e["action"] == "record.file"][0]
    (esign,) = entry["data"]["esign"]
    assert (esign["field"], esign["name"], esign["login"]) == ("engineer", "测试员", "tester")
    assert esign["signed_at"].endswith("+08:00")
    # a typed name that is not the filer's is refused
    other = write_data(qms, {**example_data("QR-SV-022-02"), "engineer": "赵建国"}, "other.yaml")
    assert "filled from your login" in qms.fail("record", "file", "QR-SV-022-02", "--data", other, "--no-pdf",
                                                "--sign", "--password-stdin", input=PASSWORDS["tester"] + "\n")
    assert before != snapshot(qms.archive)


def test_a_scan_with_several_signers_and_the_date_signed(qms):
    from conftest import example_data, make_scan, write_data
    data = write_data(qms, example_data("QR-SV-022-02"), "report.yaml")
    number = qms.json("record", "file", "QR-SV-022-02", "--data", data, "--no-pdf")["number"]
    scan = make_scan(qms.root / "scan.pdf", "signed")
    record_date = qms.json("record", "show", number)["record_date"]
    assert "before the record date" in qms.fail("record", "sign", number, "--scan", scan, "--signer", "王海涛:用户代表",
                                                "--signed-on", "2000-01-01")
    out = qms.json("record", "sign", number, "--scan", scan, "--signer", "王海涛:用户代表",
                   "--signer", "李红梅：设备科长", "--signed-on", record_date)
    assert out["signers"] == [{"name": "王海涛", "role": "用户代表"}, {"name": "李红梅", "role": "设备科长"}]
    sigs = qms.json("record", "show", number)["signatures"]
    assert [(s["signer"], s["role"], s["signed_on"]) for s in sigs] == [("王海涛", "用户代表", record_date),
                                                                      ("李红梅", "设备科长", record_date)]
    assert qms.json("verify", "--deep")["ok"] is True

"""The quality manager's session: a procedure goes check → submit → sign → release → revise."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from docxtext import docx_text

from conftest import DATA, REPO, Qms, copy_into, release_procedure, snapshot, nothing_archived


def test_held_out_procedure_goes_through_the_whole_cycle(qms):
    source = copy_into(qms, DATA / "design-control.yaml")
    number = release_procedure(qms, source)
    assert number == "QP-RD-007"

    shown = qms.json("doc", "show", number, "--as-of", "2026-04-01")
    assert shown["title"] == "设计和开发控制程序"
    assert shown["revision"] == "A/0"
    assert shown["status"] == "effective"
    assert (shown["issued"], shown["effective"]) == ("2026-03-13", "2026-03-20")
    assert [a["role"] for a in shown["approvals"]] == ["prepared", "countersigned", "countersigned", "reviewed",
                                                       "standardized", "approved"]
    assert shown["approvals"][-1]["name"] == "赵国庆" and shown["approvals"][-1]["signed_at"]
    assert shown["approvals"][0]["meaning"]
    assert shown["revisions"] == [{"revision": "A/0", "status": "effective", "issued": "2026-03-13",
                                   "effective": "2026-03-20", "change": "首次发布",
                                   "submitted_at": shown["revisions"][0]["submitted_at"],
                                   "released_at": shown["revisions"][0]["released_at"]}]
    docx = qms.root / shown["files"]["docx"]
    assert not Path(shown["files"]["docx"]).is_absolute() and docx.is_file()

    text = docx_text(docx)
    for expected in ("设计和开发控制程序", "QP-RD-007", "A/0", "质量管理体系程序文件",
                     "5.2.1", "输入应包括功能和性能要求", "5.2.2", "输入应完整、清楚",
                     "表1 职责分配", "设计开发计划书", "必要时邀请顾客", "重大更改", "总经理",
                     "张建华", "李明", "周静", "王立新", "陈芳", "赵国庆",
                     "2026年03月13日", "2026年03月20日", "设计评审", "QP-QA-003", "文件控制程序",
                     "QR-SV-022-01", "首次发布"):
        assert expected in text, expected

    listed = qms.documents("--as-of", "2026-04-01")
    assert [(d["number"], d["revision"], d["status"]) for d in listed] == [("QP-RD-007", "A/0", "effective")]
    assert qms("verify").exit_code == 0


def test_status_before_and_on_the_dates(qms):
    number = release_procedure(qms, copy_into(qms, DATA / "design-control.yaml"))
    assert qms.json("doc", "show", number, "--as-of", "2026-03-12")["status"] == "pending_release"   # 待发布
    assert qms.json("doc", "show", number, "--as-of", "2026-03-13")["status"] == "released"
    assert qms.json("doc", "show", number, "--as-of", "2026-03-19")["status"] == "released"
    assert qms.json("doc", "show", number, "--as-of", "2026-03-20")["status"] == "effective"


def test_second_revision_supersedes_the_first_on_its_effective_date(qms):
    source = copy_into(qms, DATA / "design-control.yaml")
    number = release_procedure(qms, source)
    # A released revision is never changed: the edit goes into A/1 with a change description.
    source.write_text(source.read_text(encoding="utf-8").replace("计划书经技术负责人批准后实施。",
                                                                  "计划书经总工程师批准后实施。"), encoding="utf-8")
    assert "--change" in qms.fail("doc", "submit", source)
    release_procedure(qms, source, issued="2026-05-25", effective="2026-06-01", change="策划批准人改为总工程师",
                      signers=[("prepared", "张建华"), ("countersigned", "李明"), ("reviewed", "王立新"),
                               ("approved", "赵国庆")])

    before = qms.json("doc", "show", number, "--as-of", "2026-05-31")
    assert (before["revision"], before["status"]) == ("A/0", "effective")
    assert {r["revision"]: r["status"] for r in before["revisions"]} == {"A/0": "effective", "A/1": "released"}
    on = qms.json("doc", "show", number, "--as-of", "2026-06-01")
    assert (on["revision"], on["status"]) == ("A/1", "effective")
    assert {r["revision"]: r["status"] for r in on["revisions"]} == {"A/0": "superseded", "A/1": "effective"}
    assert on["change"] == "策划批准人改为总工程师"
    old = qms.json("doc", "show", number, "--revision", "A/0", "--as-of", "2026-06-01")
    assert old["status"] == "superseded"

    new_text = docx_text(qms.root / on["files"]["docx"])
    assert "计划书经总工程师批准后实施" in new_text and "A/1" in new_text and "策划批准人改为总工程师" in new_text
    assert "计划书经技术负责人批准后实施" in docx_text(qms.root / old["files"]["docx"])

    # a byte-identical source is no revision at all
    assert "the same as QP-RD-007 A/1" in qms.fail("doc", "submit", source, "--change", "全面改版", "--major")
    source.write_text(source.read_text(encoding="utf-8").replace("总工程师", "技术副总"), encoding="utf-8")
    major = qms.json("doc", "submit", source, "--change", "全面改版", "--major")
    assert major["revision"] == "B/0"


def test_release_is_refused_until_every_required_role_has_signed(qms):
    source = copy_into(qms, DATA / "design-control.yaml")
    number = qms.json("doc", "submit", source)["number"]
    assert "编制" in qms.sign_fail(number, "批准", "赵国庆")
    assert "编制" in qms.sign_fail(number, "会签", "李明")
    qms.sign(number, "编制", "张建华")
    msg = qms.fail("doc", "release", number, "--issued", "2026-03-13", "--effective", "2026-03-20")
    assert "批准" in msg and "审定" in msg
    qms.sign(number, "会签", "李明")
    qms.sign(number, "审定", "王立新")
    qms.sign(number, "批准", "赵国庆")
    assert qms.json("doc", "show", number)["status"] == "approved"
    # 标审 is optional, and nobody signs after 批准
    assert "批准" in qms.sign_fail(number, "标审", "陈芳")
    assert "one signature" in qms.sign_fail(number, "批准", "赵国庆")
    # a signed draft cannot be silently replaced
    assert "in review" in qms.fail("doc", "submit", source)
    qms("doc", "release", number, "--issued", "2026-03-13", "--effective", "2026-03-20", "--no-pdf")
    assert "already released" in qms.sign_fail(number, "编制", "张建华")
    assert "already released" in qms.fail("doc", "release", number, "--issued", "2026-03-13",
                                          "--effective", "2026-03-20")


def test_an_unsigned_draft_is_replaced_not_duplicated(qms):
    source = copy_into(qms, DATA / "design-control.yaml")
    qms("doc", "submit", source)
    source.write_text(source.read_text(encoding="utf-8").replace("研发中心编制", "研发中心负责编制"), encoding="utf-8")
    again = qms.json("doc", "submit", source)
    assert again["revision"] == "A/0"
    shown = qms.json("doc", "show", "QP-RD-007")
    assert [r["revision"] for r in shown["revisions"]] == ["A/0"]
    assert "研发中心负责编制" in (qms.root / shown["files"]["source"]).read_text(encoding="utf-8")
    assert len([e for e in qms.log("--target", "QP-RD-007") if e["action"] == "doc.submit"]) == 2
    assert qms("verify").exit_code == 0


def test_draft_preview_docx_is_marked(qms, tmp_path):
    out = tmp_path / "preview.docx"
    qms("doc", "render", DATA / "design-control.yaml", "-o", out)
    text = docx_text(out)
    assert "草稿" in text and "设计和开发控制程序" in text
    assert nothing_archived(qms)


def test_roles_by_english_key_and_audit_trail(qms):
    source = copy_into(qms, DATA / "design-control.yaml")
    number = release_procedure(qms, source, signers=[("prepared", "张建华"), ("countersigned", "李明"),
                                                     ("reviewed", "王立新"), ("approved", "赵国庆")])
    log = qms.log("--target", number)
    assert [e["action"] for e in log] == ["doc.submit"] + ["doc.sign"] * 4 + ["doc.release"]
    assert {e["actor"] for e in log if e["action"] != "doc.sign"} == {"tester 测试员"}
    assert [e["actor"] for e in log if e["action"] == "doc.sign"] == ["zhangjh 张建华", "liming 李明", "wanglx 王立新",
                                                                      "zhaogq 赵国庆"]
    assert log[-1]["data"]["issued"] == "2026-03-13"
    assert all(b["prev"] == a["hash"] for a, b in zip(log, log[1:]))


# ------------------------------------------------------------------ bad input

BAD_SOURCES = {
    "malformed": ("number: QP-RD-007\ntitle: [设计\nkind: procedure\n", ["line"]),
    "missing-title": ("number: QP-RD-007\nkind: procedure\ndepartment: 研发中心\nsections:\n  - title: 目的\n",
                      ["title", "missing"]),
    "wrong-type": ("number: QP-RD-007\ntitle: 设计\nkind: procedure\ndepartment: 研发中心\nsections: 目的\n",
                   ["sections", "list"]),
    "bad-number": ("number: qp_rd_7\ntitle: 设计\nkind: procedure\ndepartment: 研发中心\nsections:\n  - title: 目的\n",
                   ["number", "pattern", "line 1"]),
    "unknown-kind": ("number: QP-RD-007\ntitle: 设计\nkind: 小说\ndepartment: 研发中心\nsections:\n  - title: 目的\n",
                     ["kind", "程序文件"]),
    "bad-table": ("number: QP-RD-007\ntitle: 设计\nkind: procedure\ndepartment: 研发中心\nsections:\n"
                  "  - title: 职责\n    table:\n      columns: [a, b]\n      rows:\n        - [1, 2, 3]\n",
                  ["sections[0].table.rows[0]", "line 10"]),
}


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_bad_source_is_refused_and_archive_untouched(qms, case):
    text, expected = BAD_SOURCES[case]
    release_procedure(qms, copy_into(qms, REPO / "examples/procedures/customer-service.yaml"))
    before = snapshot(qms.archive)
    bad = qms.root / f"{case}.yaml"
    bad.write_text(text, encoding="utf-8")
    for command in (["doc", "check", bad], ["doc", "submit", bad]):
        msg = qms.fail(*command)
        assert f"{case}.yaml" in msg
        for word in expected:
            assert word in msg, (word, msg)
        assert len(msg.strip().splitlines()) == 1
    assert snapshot(qms.archive) == before


@pytest.mark.parametrize("args,expected", [
    (["doc", "sign", "QP-SC-015", "--role", "老板"], ["role", "编制"]),
    (["doc", "release", "QP-SC-015", "--issued", "2026-02-30", "--effective", "2026-03-20"], ["issued", "2026-02-30"]),
    (["doc", "release", "QP-SC-015", "--issued", "2026-03-20", "--effective", "2026-03-13"], ["effective", "发布"]),
    (["doc", "release", "QP-SC-015", "--issued", "20260320", "--effective", "2026-03-21"], ["YYYY-MM-DD"]),
    (["doc", "show", "QP-XX-999"], ["unknown document"]),
    (["doc", "obsolete", "QP-SC-015"], ["reason"]),
])
def test_bad_arguments_are_refused_and_archive_untouched(qms, args, expected):
    source = copy_into(qms, REPO / "examples/procedures/customer-service.yaml")
    qms("doc", "submit", source)
    qms.sign("QP-SC-015", "编制", "张建华")
    before = snapshot(qms.archive)
    msg = qms(*args, ok=False).output
    assert "Traceback" not in msg
    for word in expected:
        assert word in msg, (word, msg)
    assert snapshot(qms.archive) == before


def test_commands_on_an_empty_workspace_create_nothing(qms):
    before = snapshot(qms.archive)
    qms.sign_fail("QP-RD-007", "编制", "张建华")
    qms.fail("doc", "show", "QP-RD-007")
    assert qms.documents() == []
    assert snapshot(qms.archive) == before


# ------------------------------------------------------------------ verify

def test_verify_names_a_changed_file_and_a_broken_chain(qms):
    number = release_procedure(qms, copy_into(qms, DATA / "design-control.yaml"))
    assert qms.json("verify")["ok"] is True
    docx = qms.root / qms.json("doc", "show", number)["files"]["docx"]
    original = docx.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0x01
    docx.write_bytes(bytes(data))
    result = qms("verify", ok=False)
    assert result.exit_code == 3 and docx.name in result.output
    docx.write_bytes(original)
    assert qms("verify").exit_code == 0

    log = qms.archive / "audit.log"
    lines = log.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[2])
    entry["data"]["name"] = "冒名顶替"
    lines[2] = json.dumps(entry, ensure_ascii=False, sort_keys=True)
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = qms.json("verify", ok=False)
    assert report["ok"] is False
    assert any("audit.log line 3" in p for p in report["problems"])


# ------------------------------------------------------------------ workspaces

def test_workspace_is_found_from_env_and_from_a_subfolder(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from qms.cli import cli
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path / "w")]).exit_code == 0
    assert (tmp_path / "w" / "config.yaml").is_file() and (tmp_path / "w" / "schemas").is_dir()
    assert runner.invoke(cli, ["init", str(tmp_path / "w")]).exit_code == 1
    sub = tmp_path / "w" / "docs" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    monkeypatch.delenv("QMS_WORKSPACE", raising=False)
    assert json.loads(runner.invoke(cli, ["doc", "list", "--json"]).output) == {"total": 0, "items": [], "next": None}
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["doc", "list"]).exit_code == 1
    monkeypatch.setenv("QMS_WORKSPACE", str(tmp_path / "w"))
    assert runner.invoke(cli, ["doc", "list", "--json"]).exit_code == 0


def test_the_actor_is_the_session_never_a_free_text_name(qms, monkeypatch, tmp_path):
    from click.testing import CliRunner
    from qms.cli import cli
    monkeypatch.setenv("QMS_USER", "体系专员")
    monkeypatch.setenv("QMS_CONFIG_HOME", str(tmp_path / "nobody"))
    source = copy_into(qms, DATA / "design-control.yaml")
    before = snapshot(qms.archive)
    out = CliRunner().invoke(cli, ["-w", str(qms.root), "doc", "submit", str(source)])
    assert out.exit_code == 1 and "no session" in out.output
    assert CliRunner().invoke(cli, ["-w", str(qms.root), "--as", "体系专员", "doc", "submit", str(source)]).exit_code == 2
    assert snapshot(qms.archive) == before
    qms("doc", "submit", source)
    assert qms.log()[-1]["actor"] == "tester 测试员"


def test_paths_outside_the_workspace_are_refused(qms):
    config = qms.root / "config.yaml"
    original = config.read_text(encoding="utf-8")
    config.write_text(original.replace("archive: archive", "archive: ../elsewhere"), encoding="utf-8")
    msg = qms.fail("doc", "list")
    assert "config.yaml" in msg and "paths.archive" in msg and "outside the workspace" in msg
    assert not (qms.root.parent / "elsewhere").exists()
    config.write_text(original, encoding="utf-8")
    schema = qms.root / "schemas" / "QR-SV-022-07.yaml"
    schema.write_text(schema.read_text(encoding="utf-8").replace("id: QR-SV-022-07",
                                                                   "id: QR-SV-022-07\ntemplate: ../../../etc/passwd"),
                      encoding="utf-8")
    msg = qms.fail("record", "file", "QR-SV-022-07", "--data", REPO / "examples/records/QR-SV-022-07.yaml")
    assert "QR-SV-022-07.yaml" in msg and "template" in msg and "outside the workspace" in msg
    assert nothing_archived(qms)

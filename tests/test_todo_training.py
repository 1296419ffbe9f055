"""Read-and-understood (issue 23): a release of a procedure marked for 客户服务部 gives each person of
that department one assignment; they see it in `qms todo` and on the web home page; acknowledging
is a signature with the password; the matrix and `training missing` agree; a person moved into the
department gets it."""

from __future__ import annotations

import shutil
import warnings

import pytest

from conftest import PASSWORDS, REPO, copy_into, release_procedure, snapshot

warnings.filterwarnings("ignore", message=".*httpx2.*")

SERVICE = ["liming", "zhoujing"]          # moved into 客户服务部 by the admin


def procedure_for(qms, department="客户服务部", name="procedure.yaml"):
    src = (REPO / "examples" / "tour" / "procedure.yaml").read_text(encoding="utf-8")
    path = qms.root / name
    path.write_text(src + f"\ntraining:\n  departments: [{department}]\n", encoding="utf-8")
    shutil.copyfile(REPO / "examples" / "tour" / "flow.png", qms.root / "flow.png")
    return path


@pytest.fixture
def released(qms):
    admin = qms.as_("admin")
    for login in SERVICE:
        admin("user", "edit", login, "--department", "客户服务部")
    number = release_procedure(qms, procedure_for(qms))
    return qms, number


def test_release_assigns_each_person_of_the_department_once_and_nobody_else(released):
    qms, number = released
    rows = qms.json("training", "list", "--login", "all")
    assert sorted(a["login"] for a in rows) == SERVICE
    assert {(a["number"], a["revision"], a["state"]) for a in rows} == {(number, "A/0", "due")}
    for login in SERVICE:
        todo = qms.as_(login).json("todo")
        assert [i["kind"] for i in todo["items"]].count("training") == 1
        assert "阅读 QP-SC-015 A/0" in qms.as_(login)("todo").output
    assert not [i for i in qms.as_("sunlq").json("todo")["items"] if i["kind"] == "training"]
    # the journal holds the assignment in the release's own batch
    log = (qms.archive / "audit.log").read_text(encoding="utf-8")
    assert log.count('"action":"training.assigned"') + log.count('"action": "training.assigned"') == 1


def test_acknowledging_needs_the_password_and_matrix_and_missing_agree(released):
    qms, number = released
    liming = qms.as_("liming")
    before = snapshot(qms.archive / "documents")
    out = liming.fail("training", "ack", number, "--password-stdin", input="wrong-password\n")
    assert "wrong password" in out or "密码" in out
    assert snapshot(qms.archive / "documents") == before
    assert qms.json("training", "missing", number)["read"] == 0
    res = liming.json("training", "ack", number, "--password-stdin", input=PASSWORDS["liming"] + "\n")
    assert res["meaning"] == "已阅读并理解" and res["name"] == "李明"
    again = liming.fail("training", "ack", number, "--password-stdin", input=PASSWORDS["liming"] + "\n")
    assert "已" in again
    missing = qms.json("training", "missing", number)
    assert [a["login"] for a in missing["missing"]] == ["zhoujing"] and missing["read"] == 1
    m = qms.json("training", "matrix")
    cells = {(c["login"], c["number"]): c["state"] for c in m["cells"]}
    assert cells == {("liming", number): "read", ("zhoujing", number): "due"}
    assert "周静" in qms("training", "missing", number).output
    assert not [i for i in liming.json("todo")["items"] if i["kind"] == "training"]
    out = tmp = qms.root.parent / "matrix.xlsx"
    qms("training", "matrix", "--xlsx", out)
    from openpyxl import load_workbook
    sheet = load_workbook(tmp).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][3] == f"{number} A/0"
    assert any(r[0] == "李明" and r[3].startswith("已阅读") for r in rows)


def test_a_person_moved_into_the_department_gets_the_assignment(released):
    qms, number = released
    assert not qms.json("training", "list", "--login", "sunlq")
    out = qms.as_("admin")("user", "edit", "sunlq", "--department", "客户服务部").output
    assert number in out
    rows = qms.json("training", "list", "--login", "sunlq")
    assert [(a["number"], a["state"]) for a in rows] == [(number, "due")]
    # the matrix now has three people; missing agrees
    assert len(qms.json("training", "missing", number)["missing"]) == 3


def relogin(qms, *logins):
    """Sessions end with time moved on: each person logs in again (passwords last 90 days)."""
    for login in logins:
        qms.as_(login)("login", login, "--password-stdin", input=PASSWORDS[login] + "\n")


def test_overdue_reading_is_in_the_managers_view_by_department(released):
    import datetime as dt

    import time_machine

    from qms.base.dates import today
    qms, number = released
    later = today() + dt.timedelta(days=20)
    with time_machine.travel(dt.datetime.combine(later, dt.time(9)), tick=False):
        relogin(qms, "liming", "admin", "auditor")
        todo = qms.as_("liming").json("todo")
        assert todo["overdue"] == 1 and todo["items"][0]["overdue"]
        view = qms.as_("admin").json("todo", "--all")
        deps = {g["department"]: g for g in view["departments"]}
        assert sorted(i["login"] for i in deps["客户服务部"]["items"]) == SERVICE
        assert "逾期" in qms.as_("admin")("todo", "--all").output
    assert "无权" in qms.as_("auditor").fail("todo", "--all")


def test_web_home_page_shows_the_assignment_and_acknowledges_with_the_password(released):
    from starlette.testclient import TestClient

    from qms.web import create_app
    from webkit import login
    qms, number = released
    c = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    csrf = login(c, "zhoujing")
    page = c.get("/")
    assert page.status_code == 200 and "我的待办" in page.text and f"阅读 {number} A/0" in page.text
    assert "我的待办（1）" in c.get("/documents").text
    r = c.post(f"/training/{number}/ack", data={"password": "wrong-password", "csrf_token": csrf})
    assert r.status_code == 400
    r = c.post(f"/training/{number}/ack", data={"password": PASSWORDS["zhoujing"], "csrf_token": csrf})
    assert r.status_code == 200 and "已阅读并理解" in r.text
    assert f"阅读 {number} A/0" not in c.get("/").text
    c2 = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    login(c2, "admin")
    matrix = c2.get("/training/matrix")
    assert "周静" in matrix.text and "已阅读" in matrix.text
    assert c2.get("/training/matrix.xlsx").content[:2] == b"PK"


def test_bad_training_data_is_refused_in_one_line_archive_unchanged(qms):
    admin = qms.as_("admin")
    before = snapshot(qms.archive)
    out = admin.fail("user", "edit", "nobody", "--department", "客户服务部")
    assert "nobody" in out and len(out.strip().splitlines()) == 1
    (qms.root / "config.yaml").write_text((qms.root / "config.yaml").read_text(encoding="utf-8")
                                          + "\ndepartments: [质量部, 客户服务部]\n", encoding="utf-8")
    qms.apply_config()
    before = snapshot(qms.archive)
    out = admin.fail("user", "edit", "liming", "--department", "火星部")
    assert "未知部门" in out and len(out.strip().splitlines()) == 1
    out = qms.fail("doc", "check", procedure_for(qms, department="火星部"))
    assert "未知部门" in out and "training" in out
    path = procedure_for(qms)
    path.write_text(path.read_text(encoding="utf-8").replace("departments: [客户服务部]", "roles: [wizard]"),
                    encoding="utf-8")
    out = qms.fail("doc", "check", path)
    assert "未知角色" in out and "training.roles" in out
    out = qms.fail("training", "ack", "QP-XX-999", "--password-stdin", input="x\n")
    assert "QP-XX-999" in out
    assert snapshot(qms.archive) == before


def test_a_new_person_in_the_department_is_assigned_and_a_minor_release_can_skip_retraining(released):
    qms, number = released
    admin = qms.as_("admin")
    admin("user", "add", "xiaowang", "--name", "小王", "--roles", "clerk", "--department", "客户服务部",
          "--password-stdin", input="xiaowang-pass-2026\n")
    assert [a["number"] for a in qms.json("training", "list", "--login", "xiaowang")] == [number]
    # A/1 released as "no retraining": nobody is asked to read it again
    a1 = copy_into(qms, REPO / "examples" / "tour" / "procedure-A1.yaml")
    text = a1.read_text(encoding="utf-8") + "\ntraining:\n  departments: [客户服务部]\n"
    a1.write_text(text, encoding="utf-8")
    qms("doc", "submit", a1, "--change", "错别字")
    for role, name in [("编制", "张建华"), ("会签", "李明"), ("会签", "周静"), ("审定", "王立新"), ("批准", "赵国庆")]:
        qms.sign(number, role, name)
    qms("doc", "release", number, "--issued", "2026-04-01", "--effective", "2026-04-08", "--no-pdf",
        "--no-retraining")
    assert not [a for a in qms.json("training", "list", "--login", "all") if a["revision"] == "A/1"]
    # the matrix still asks for A/0, which everyone of the department has or has not read
    assert qms.json("training", "matrix")["documents"] == [{"number": number, "revision": "A/0"}]
    # everything still verifies, and a rebuilt catalog says the same
    qms("verify")
    listed = qms.json("training", "list", "--login", "all")
    qms.as_("admin")("rebuild")
    assert qms.json("training", "list", "--login", "all") == listed


def test_bad_quality_settings_in_config_are_one_line(qms):
    cfg = qms.root / "config.yaml"
    text = cfg.read_text(encoding="utf-8")
    for bad, where in [("training: {due_days: soon}", "training.due_days"),
                       ("review: {periods: {procedure: -3}}", "review.periods.procedure"),
                       ("notify: {smtp: {host: 127.0.0.1, port: 99999}}", "notify.smtp.port"),
                       ("review: {every: 3}", "review")]:
        cfg.write_text(text + "\n" + bad + "\n", encoding="utf-8")
        out = qms.fail("review", "list")
        assert where in out and len(out.strip().splitlines()) == 1, out


def test_the_menu_count_changes_right_after_a_commit_and_is_not_recounted_between(released, monkeypatch):
    """Every page shows 我的待办（N）: counted again after each commit (the web's own, or the CLI's in
    another session) and on a new day, never between (issue 21: it was most of a page's time)."""
    import datetime as dt

    import time_machine
    from starlette.testclient import TestClient

    from qms.base.dates import today
    from qms.todo import menu
    from qms.web import create_app
    from webkit import login
    qms, number = released
    counted = []
    real = menu.items_for
    monkeypatch.setattr(menu, "items_for", lambda ws, user, **kw: counted.append(user.login) or real(ws, user, **kw))
    c = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    csrf = login(c, "zhoujing")
    assert "我的待办（1）" in c.get("/documents").text
    for url in ("/documents", "/search?q=客户", "/records", "/training/" + number):
        assert "我的待办（1）" in c.get(url).text
    assert counted == ["zhoujing"]                         # nothing committed: counted once
    # the web's own commit: read and understood, the to-do is gone on the very next page
    r = c.post(f"/training/{number}/ack", data={"password": PASSWORDS["zhoujing"], "csrf_token": csrf})
    assert r.status_code == 200 and "我的待办（" not in r.text
    assert "我的待办（" not in c.get("/documents").text and counted == ["zhoujing"] * 2
    # commits by the CLI in another session: a new revision, signed by 编制, awaits her 会签
    a1 = copy_into(qms, REPO / "examples" / "tour" / "procedure-A1.yaml")
    qms("doc", "submit", a1, "--change", "错别字")
    assert "我的待办（" not in c.get("/documents").text and counted == ["zhoujing"] * 3
    qms.sign(number, "编制", "张建华")
    assert "我的待办（1）" in c.get("/documents").text and counted == ["zhoujing"] * 4
    assert "我的待办（1）" in c.get("/documents").text and counted == ["zhoujing"] * 4
    # another person's page counts for that person; hers is still kept
    c2 = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
    login(c2, "liming")
    c2.get("/documents")
    c.get("/documents")
    assert counted == ["zhoujing"] * 4 + ["liming"]
    # a new day with nothing committed: counted again (what is overdue depends on the day)
    later = today() + dt.timedelta(days=1)
    with time_machine.travel(dt.datetime.combine(later, dt.time(9)), tick=False):
        c3 = TestClient(create_app(qms.root), base_url="http://127.0.0.1")
        login(c3, "zhoujing")
        assert "我的待办（1）" in c3.get("/documents").text
    assert counted[-1] == "zhoujing" and len(counted) == 6

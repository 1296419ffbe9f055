"""A workspace for the web tests: users of every job, a released procedure, an open draft and filed
records — built once per module through the CLI and the identity library, like a real site."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import REPO, Qms, example_data, make_scan, release_procedure, write_data

PASSWORD = "Qms-测试-2026"

# login → (printed name, roles)
USERS = {
    "admin": ("管理员", ["admin"]),
    "auditor": ("审核员甲", ["auditor"]),
    "qm": ("张建华", ["author", "编制"]),
    "li": ("李明", ["会签"]),
    "zhou": ("周静", ["会签"]),
    "wang": ("王立新", ["审定"]),
    "chen": ("陈芳", ["标审"]),
    "zhao": ("赵国庆", ["批准"]),
    "eng": ("赵建国", ["clerk"]),
    "keeper": ("孙保管", ["keeper"]),
}

IDENTITY = """
identity:
  roles:
    admin:   [users.manage, keys.manage, archive.maintain]
    author:  [doc.submit, doc.release, doc.obsolete, doc.withdraw, doc.copy]
    clerk:   [record.file, record.import, record.sign, record.amend, record.pdf]
    keeper:  [records.hold, records.purge, records.compile, archive.maintain]
    auditor: []
    编制: [doc.sign.prepared]
    会签: [doc.sign.countersigned]
    审定: [doc.sign.reviewed]
    标审: [doc.sign.standardized]
    批准: [doc.sign.approved]
  separation_of_duties: true
  password: {min_length: 8, max_age: 90d}
  lockout: {attempts: 5, duration: 30m}
  session: {idle: 30m, lifetime: 8h}
"""


def add_users(root: Path) -> None:
    from qms.identity.users import add_user, find_user
    from qms.workspace import open_workspace
    cfg = root / "config.yaml"
    if not re.search(r"^identity:", cfg.read_text(encoding="utf-8"), re.M):
        cfg.write_text(cfg.read_text(encoding="utf-8") + IDENTITY, encoding="utf-8")
    ws = open_workspace(root)
    add_user(ws, "admin", name=USERS["admin"][0], roles=USERS["admin"][1], password=PASSWORD, actor=None)
    admin = find_user(ws, "admin")
    for login, (name, roles) in USERS.items():
        if login != "admin":
            add_user(ws, login, name=name, roles=roles, password=PASSWORD, actor=admin)


def build_site(root: Path, *, xss: str | None = None) -> dict:
    """Users, XX-XX-022 released (A/0) with a new draft A/1 signed by 编制 only, and records."""
    from qms.workspace import init_workspace
    ws = init_workspace(root)
    q = Qms(ws.root)
    add_users(ws.root)
    src = ws.root / "procedure.yaml"
    shutil.copyfile(REPO / "examples" / "procedures" / "service-process-control.yaml", src)
    number = release_procedure(q, src)
    q("doc", "submit", src, "--change", "5.2 增加培训要求")
    q("doc", "sign", number, "--role", "编制", "--name", "张建华")
    filed = {}
    report = example_data("QR-SV-022-02")
    filed["report"] = q.json("record", "file", "QR-SV-022-02", "--data", write_data(q, report, "r2.yaml"),
                             "--no-pdf")["number"]
    notice = example_data("QR-SV-022-01")
    filed["notice"] = q.json("record", "file", "QR-SV-022-01", "--data", write_data(q, notice, "r1.yaml"),
                             "--no-pdf")["number"]
    scan = make_scan(ws.root / "signed.pdf", "signed by Wang Haitao")
    q("record", "sign", filed["report"], "--scan", scan, "--signer", "王海涛")
    if xss:
        text_fields = {k: xss for k, v in report.items() if isinstance(v, str) and k != "service_date"
                       and k not in ("service_type", "evaluation")}
        text_fields["parts"] = [{"part": xss, "spec": xss, "qty": 1}]
        filed["xss"] = q.json("record", "file", "QR-SV-022-02", "--data",
                              write_data(q, example_data("QR-SV-022-02", **text_fields), "x.yaml"),
                              "--no-pdf")["number"]
    return {"root": ws.root, "qms": q, "document": number, **filed}


def login(client, login: str, password: str = PASSWORD):
    """Log in through the page like a browser: returns the CSRF token of the new session."""
    r = client.post("/login", data={"login": login, "password": password, "next": "/search"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    r = client.post("/api/login", json={"login": login, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]

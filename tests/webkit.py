"""A workspace for the web tests: conftest's STAFF users, a released procedure, an open draft signed
by 编制, and filed records — built through the CLI in each person's own session, like a real site."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import (PASSWORDS, REPO, STAFF, example_data, make_scan, make_workspace, release_procedure,
                      write_data)

USERS = STAFF


def build_site(root: Path, *, xss: str | None = None) -> dict:
    """XX-XX-022 released (A/0) with a new draft A/1 signed by 编制 only, and records filed by the tester
    (author, clerk, keeper)."""
    q = make_workspace(root)
    src = q.root / "procedure.yaml"
    shutil.copyfile(REPO / "examples" / "procedures" / "service-process-control.yaml", src)
    number = release_procedure(q, src)
    # a new revision must differ from the last (a byte-identical source is refused)
    src.write_text(src.read_text(encoding="utf-8") + "\n# 5.2 增加培训要求\n", encoding="utf-8")
    q("doc", "submit", src, "--change", "5.2 增加培训要求")
    q.sign(number, "编制", "张建华")
    filed = {}
    report = example_data("QR-SV-022-02")
    filed["report"] = q.json("record", "file", "QR-SV-022-02", "--data", write_data(q, report, "r2.yaml"),
                             "--no-pdf")["number"]
    notice = example_data("QR-SV-022-01")
    filed["notice"] = q.json("record", "file", "QR-SV-022-01", "--data", write_data(q, notice, "r1.yaml"),
                             "--no-pdf")["number"]
    scan = make_scan(q.root / "signed.pdf", "signed by Wang Haitao")
    q("record", "sign", filed["report"], "--scan", scan, "--signer", "王海涛")
    if xss:
        text_fields = {k: xss for k, v in report.items() if isinstance(v, str) and k != "service_date"
                       and k not in ("service_type", "evaluation")}
        text_fields["parts"] = [{"part": xss, "spec": xss, "qty": 1}]
        filed["xss"] = q.json("record", "file", "QR-SV-022-02", "--data",
                              write_data(q, example_data("QR-SV-022-02", **text_fields), "x.yaml"),
                              "--no-pdf")["number"]
    return {"root": q.root, "qms": q, "document": number, **filed}


def login(client, login: str, password: str | None = None) -> str:
    """Log in through the API as a script would: the session cookie is kept, the CSRF token returned."""
    r = client.post("/api/login", json={"login": login, "password": password or PASSWORDS[login]})
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]

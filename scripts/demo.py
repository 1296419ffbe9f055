"""`make demo`: the main job on the default workspace (the repository root), as its people type it.

The first run gives the workspace an administrator and demo users (their passwords are printed
here — demo only). The quality manager submits the seed procedure XX-XX-022; each approver logs in
in their own session and signs with their password; the release seals the PDF/A with the
organisation's key; the master list is shown and the archive verified. Run again, it opens the
next revision instead, so the demo can be run any number of times.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QMS = [str(Path(sys.executable).with_name("qms")), "-w", str(ROOT)]
SOURCE = "examples/procedures/service-process-control.yaml"
NUMBER = "XX-XX-022"
# login → (name, roles, department); demo passwords are printed below, never do this with real ones
PEOPLE = {
    "admin": ("系统管理员", "admin", "质量部"),
    "tixi": ("体系专员", "author", "质量部"),
    "zhangjh": ("张建华", "编制", "客户服务中心"),
    "liming": ("李明", "会签", "质量部"),
    "zhoujing": ("周静", "会签", "生产部"),
    "wanglx": ("王立新", "审定", "技术部"),
    "chenfang": ("陈芳", "标审", "标准化室"),
    "zhaogq": ("赵国庆", "批准", "总经理办公室"),
    "zhaojg": ("赵建国", "clerk", "客户服务中心"),      # service engineer (web: 填写记录)
    "sunbg": ("孙保管", "keeper", "质量部"),            # records keeper (web: 保存期与销毁)
    "shenhe": ("审核员", "auditor", "质量部"),          # auditor (web: read-only)
}
PASSWORD = {login: f"demo-{login}-2026" for login in PEOPLE}
HOMES = Path(tempfile.mkdtemp(prefix="qms-demo-sessions-"))   # each person's own config folder


def qms(*args: str, who: str | None = None, password: bool | str = False, capture: bool = False,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run qms as `who` (their own config folder: their session); password=True types who's password,
    a string types that one (an admin giving a new user their first password)."""
    env = dict(os.environ, QMS_CONFIG_HOME=str(HOMES / (who or "nobody")))
    shown = ("[" + who + "] " if who else "") + "$ qms " + " ".join(args)
    print(shown, flush=True)
    done = subprocess.run(QMS + list(args), cwd=ROOT, text=True, capture_output=capture, env=env,
                          input=(password if isinstance(password, str) else PASSWORD[who]) + "\n"
                          if password else None)
    if check and done.returncode != 0:
        if capture:
            print(done.stdout + done.stderr)
        sys.exit(done.returncode)
    return done


def people() -> None:
    """An administrator and the demo users, once; every person logs in in their own session."""
    users = json.loads(qms("user", "list", "--json", capture=True).stdout)["items"]    # a page: {total, items, next}
    if not users:
        name, _, dept = PEOPLE["admin"]
        qms("init", str(ROOT), "--admin", "admin", "--name", name, "--department", dept, "--password-stdin",
            who="admin", password=True)
    known = {u["login"] for u in json.loads(qms("user", "list", "--json", "--limit", "500",
                                                capture=True).stdout)["items"]}
    qms("login", "admin", "--password-stdin", who="admin", password=True)
    # what governs the archive is journaled: config.yaml, schemas or templates edited since the last
    # run (or never applied, in an archive older than that rule) are applied by the admin first
    if json.loads(qms("config", "status", "--json", who="admin", capture=True).stdout)["changed"]:
        qms("config", "apply", who="admin")
    for login, (name, roles, dept) in PEOPLE.items():
        if login not in known:
            qms("user", "add", login, "--name", name, "--roles", roles, "--department", dept, "--password-stdin",
                who="admin", password=PASSWORD[login])
    print("\ndemo users (demo passwords, printed for the demo only):")
    for login, (name, roles, _) in PEOPLE.items():
        print(f"  {login:<9} {name:<6} {roles:<8} password {PASSWORD[login]}")
    print()
    for login in PEOPLE:
        if login != "admin":
            qms("login", login, "--password-stdin", who=login, password=True)


def main() -> None:
    people()
    today = dt.date.today()
    shown = qms("doc", "show", NUMBER, "--json", capture=True, check=False)
    change = []
    issued, effective = today, today + dt.timedelta(days=7)
    if shown.returncode == 0:
        doc = json.loads(shown.stdout)
        last = max((r["effective"] for r in doc["revisions"] if r["effective"]), default=None)
        if last:
            effective = max(effective, dt.date.fromisoformat(last) + dt.timedelta(days=1))
        if doc["revisions"][-1]["status"] in ("draft", "in_review", "approved"):
            qms("doc", "withdraw", NUMBER, "--reason", "演示：放弃上次未完成的草稿", who="tixi")
        change = ["--change", f"演示修订（{today.isoformat()}）"]
    source = SOURCE
    if change:
        # a revision must differ from the one before (a byte-identical source is refused): the
        # demo notes its change in a comment of a copy
        import tempfile
        tmp = Path(tempfile.mkdtemp(prefix="qms-demo-")) / Path(SOURCE).name
        tmp.write_text(Path(SOURCE).read_text(encoding="utf-8") + f"\n# {change[1]}\n", encoding="utf-8")
        source = str(tmp)
    qms("doc", "check", source, who="tixi")
    qms("doc", "submit", source, *change, who="tixi")
    for role, login in (("编制", "zhangjh"), ("会签", "liming"), ("会签", "zhoujing"), ("审定", "wanglx"),
                        ("标审", "chenfang"), ("批准", "zhaogq")):
        qms("doc", "sign", NUMBER, "--role", role, "--password-stdin", who=login, password=True)
    qms("doc", "release", NUMBER, "--issued", issued.isoformat(), "--effective", effective.isoformat(), who="tixi")
    doc = json.loads(qms("doc", "show", NUMBER, "--as-of", effective.isoformat(), "--json", capture=True).stdout)
    print(f"\nreleased {NUMBER} {doc['revision']}: {doc['title']}")
    for a in doc["approvals"]:
        print(f"  {a['role_label']}  {a['name']} ({a['login']})  {a['signed_at']}")
    print(f"  .docx  {doc['files']['docx']}")
    if "pdf" in doc["files"]:
        print(f"  .pdf   {doc['files']['pdf']}  (sealed: pdfsig {doc['files']['pdf']})")
    print()
    qms("doc", "list")
    scan_demo()
    qms("verify")
    for login in PEOPLE:
        qms("logout", who=login, check=False, capture=True)
    print_web_help()


def scan_demo() -> None:
    """Paper that files itself: the engineer files a 现场服务报告 and prints it (a QR top right),
    the customer signs the paper, it is scanned (200 dpi, a little crooked, JPEG) into the inbox,
    and `qms scan consume` files it to its record — no number typed."""
    import io

    import pypdfium2 as pdfium
    from PIL import ImageDraw
    report = ROOT / "examples" / "records" / "QR-SV-022-02.yaml"
    filed = json.loads(qms("record", "file", "QR-SV-022-02", "--data", str(report), "--json", who="zhaojg",
                           capture=True).stdout)
    number = filed["number"]
    pdf = next((ROOT / "archive" / "records").rglob(f"{number}.pdf"))
    print(f"\nprinted {pdf.relative_to(ROOT)}: the customer signs it on paper …")
    page = pdfium.PdfDocument(str(pdf))[0].render(scale=200 / 72).to_pil().convert("RGB")
    pen = ImageDraw.Draw(page)
    x, y = int(page.width * 0.62), int(page.height * 0.82)
    pen.line([(x, y), (x + 40, y - 50), (x + 70, y + 10), (x + 120, y - 40), (x + 180, y + 5), (x + 260, y - 30)],
             fill=(20, 30, 120), width=5)
    inbox = ROOT / "inbox"
    inbox.mkdir(exist_ok=True)
    buf = io.BytesIO()
    page.rotate(1.5, expand=True, fillcolor=(255, 255, 255)).save(buf, "JPEG", quality=70, dpi=(200, 200))
    (inbox / f"SCAN_{number}.jpg").write_bytes(buf.getvalue())
    print(f"… and it is scanned into {inbox.relative_to(ROOT)}/SCAN_{number}.jpg")
    qms("scan", "consume", who="zhaojg")
    shown = json.loads(qms("record", "show", number, "--json", who="zhaojg", capture=True).stdout)
    print(f"{number}: {shown.get('status_label') or shown['status']}; signed by "
          + "、".join(s.get("name") or s.get("signer", "") for s in shown.get("signatures", [])))
    qms("scan", "list", who="zhaojg")
    qms("jobs", "run", who="zhaojg")           # OCR of the photo, for search (qms serve runs it by itself)
    qms("search", "排气温度", who="zhaojg")


def print_web_help() -> None:
    """How to open the same workspace in a browser, and the demo logins of each job."""
    print("\nThe web application (auditors, approvers, engineers, keepers):")
    print("  make serve        # or: .venv/bin/qms serve --host 127.0.0.1 --port 8000")
    print("  then open http://127.0.0.1:8000/ and log in (demo passwords):")
    for login, (name, roles, _dept) in PEOPLE.items():
        print(f"    {login:<10} {PASSWORD[login]:<22} {name:<6} {roles}")


if __name__ == "__main__":
    main()

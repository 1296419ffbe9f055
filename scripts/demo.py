"""`make demo`: the main job on the default workspace (the repository root), as a user types it.

The seed procedure XX-XX-022 is submitted, signed by every role, released with 发布/实施
dates, then the master list is shown. Run again, it opens the next revision instead, so the
demo can be run any number of times.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QMS = [str(Path(sys.executable).with_name("qms")), "-w", str(ROOT), "--as", "体系专员"]
SOURCE = "examples/procedures/service-process-control.yaml"
NUMBER = "XX-XX-022"


def qms(*args: str, capture: bool = False) -> str:
    print("$ qms " + " ".join(args), flush=True)
    done = subprocess.run(QMS + list(args), cwd=ROOT, text=True, capture_output=capture)
    if done.returncode != 0:
        if capture:
            print(done.stdout + done.stderr)
        sys.exit(done.returncode)
    if capture:
        return done.stdout
    return ""


def main() -> None:
    today = dt.date.today()
    shown = subprocess.run(QMS + ["doc", "show", NUMBER, "--json"], cwd=ROOT, text=True, capture_output=True)
    change = []
    issued, effective = today, today + dt.timedelta(days=7)
    if shown.returncode == 0:
        doc = json.loads(shown.stdout)
        last = max((r["effective"] for r in doc["revisions"] if r["effective"]), default=None)
        if last:
            effective = max(effective, dt.date.fromisoformat(last) + dt.timedelta(days=1))
        change = ["--change", f"演示修订（{today.isoformat()}）"]
    qms("doc", "check", SOURCE)
    qms("doc", "submit", SOURCE, *change)
    for role, name in (("编制", "张建华"), ("会签", "李明"), ("会签", "周静"), ("审定", "王立新"),
                       ("标审", "陈芳"), ("批准", "赵国庆")):
        qms("doc", "sign", NUMBER, "--role", role, "--name", name)
    qms("doc", "release", NUMBER, "--issued", issued.isoformat(), "--effective", effective.isoformat())
    doc = json.loads(qms("doc", "show", NUMBER, "--as-of", effective.isoformat(), "--json", capture=True))
    print(f"\nreleased {NUMBER} {doc['revision']}: {doc['title']}")
    print(f"  .docx  {doc['files']['docx']}")
    if "pdf" in doc["files"]:
        print(f"  .pdf   {doc['files']['pdf']}")
    print()
    qms("doc", "list")
    qms("verify")
    print_web_help()


def print_web_help() -> None:
    """How to open the same workspace in a browser, and who can log in."""
    sys.path.insert(0, str(ROOT / "src"))
    try:
        from qms.identity.users import list_users
        from qms.workspace import open_workspace
        users = [u for u in list_users(open_workspace(ROOT)) if not u.disabled]
    except Exception:          # a workspace without users yet: still say how to start the server
        users = []
    print("\nThe web application (auditors, approvers, engineers, keepers):")
    print("  make serve        # or: .venv/bin/qms serve --host 127.0.0.1 --port 8000")
    print("  then open http://127.0.0.1:8000/ and log in:")
    for u in users:
        print(f"    {u.login:<12} {u.name:<8} {', '.join(u.roles)}")
    if not users:
        print("    (no users yet: qms init --admin LOGIN creates the first one; qms user add the others)")


if __name__ == "__main__":
    main()

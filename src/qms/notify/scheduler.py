"""`qms tick` (cron) and the loop inside `qms serve`: make due reminders, then send their e-mails.

Exactly once, with several processes and after a crash: each reminder has a deterministic key
(review:QP-SC-015:2027-03-20:due …) and is a journal event written under the writer's lock only
when no event with that key exists; the e-mail is sent afterwards, still under the lock, and
marked sent by another event. A crash between the send and its mark sends that one mail again
(at least once for mail; exactly once for the item)."""

from __future__ import annotations

import logging
import threading

from ..domain import docstate
from ..base.dates import today
from ..base.errors import QmsError
from ..jobs import run_pending
from ..review.reviews import schedule
from ..store.workspace import Workspace
from ..store.writer import writing
from .mail import send, smtp_settings

ACTOR = "qms-scheduler 系统调度"
log = logging.getLogger("qms.scheduler")


def _email(cat, login: str) -> str | None:
    row = cat.one("SELECT email FROM user_contacts WHERE login=?", login)
    return row["email"] if row else None


def due_reminders(ws: Workspace, cat, on) -> list[dict]:
    """Every reminder that should exist today, keyed: reviews opening and overdue, reading due and overdue."""
    out = []
    for d in docstate.all_documents(cat):
        s = schedule(ws, cat, d, on=on)
        if not s or s["state"] == "scheduled" or not s["owner"]:
            continue
        late = s["state"] == "overdue"
        out.append({"key": f"review:{s['number']}:{s['due']}:{'overdue' if late else 'due'}", "login": s["owner"],
                    "kind": "review_overdue" if late else "review_due",
                    "subject": (f"【定期评审逾期】{s['number']} {s['title']}（应于 {s['due']} 前完成）" if late else
                                f"【定期评审】{s['number']} {s['title']} 将于 {s['due']} 到期"),
                    "body": f"{s['owner_name']}：\n\n文件 {s['number']} {s['revision']}《{s['title']}》的定期评审"
                            f"{'已逾期' if late else '已开始'}，到期日 {s['due']}。\n请在系统“我的待办”中关闭评审"
                            "（继续有效 / 需修订 / 作废）。\n"})
    for t in cat.all("SELECT t.*, r.title FROM training t LEFT JOIN revisions r USING(number, revision) "
                     "WHERE t.acked_at IS NULL"):
        late = t["due"] < on.isoformat()
        out.append({"key": f"training:{t['number']}:{t['revision']}:{t['login']}:{'overdue' if late else 'assigned'}",
                    "login": t["login"], "kind": "training_overdue" if late else "training_assigned",
                    "subject": (f"【阅读逾期】{t['number']} {t['revision']} {t['title'] or ''}（应于 {t['due']} 前确认）"
                                if late else f"【待阅读】{t['number']} {t['revision']} {t['title'] or ''}，请于 {t['due']} 前确认"),
                    "body": f"{t['name']}：\n\n请阅读文件 {t['number']} {t['revision']}《{t['title'] or ''}》，"
                            f"并于 {t['due']} 前在系统中签署“已阅读并理解”。\n"})
    return out


def run_jobs_hook(ws: Workspace) -> dict | None:
    """The job queue's pending work (issue 22's jobs.run_pending)."""
    return run_pending(ws)


def tick(ws: Workspace, *, send_mail: bool = True) -> dict:
    on = today()
    settings = smtp_settings(ws)
    created, sent, failed = [], [], []
    with writing(ws, purpose="tick") as w:
        have = {r["key"] for r in w.cat.all("SELECT key FROM reminders")}
        new = [r for r in due_reminders(ws, w.cat, on) if r["key"] not in have]
        if new:
            w.commit([{"action": "reminder", "target": r["key"],
                       "data": {"login": r["login"], "kind": r["kind"], "subject": r["subject"], "body": r["body"],
                                "email": _email(w.cat, r["login"])}} for r in new], actor=ACTOR)
            created = [r["key"] for r in new]
        if settings and send_mail:
            for r in w.cat.all("SELECT * FROM reminders WHERE sent_at IS NULL AND email IS NOT NULL ORDER BY key"):
                try:
                    send(settings, r["email"], r["subject"], r["body"], org=ws.config.org_name)
                except (OSError, Exception) as exc:     # the server down: the next tick tries again
                    failed.append({"key": r["key"], "error": str(exc)})
                    continue
                w.commit([{"action": "reminder.sent", "target": r["key"], "data": {"to": r["email"]}}], actor=ACTOR)
                sent.append(r["key"])
    jobs = run_jobs_hook(ws)
    return {"as_of": on.isoformat(), "created": created, "sent": sent, "failed": failed,
            **({"jobs": jobs} if jobs is not None else {})}


def start_background(ws: Workspace, *, every: float | None = None, first: float = 1.0) -> threading.Thread:
    """The scheduler inside `qms serve`: a daemon thread ticking every notify.tick_seconds (300)."""
    every = every or float((ws.config.quality.get("notify") or {}).get("tick_seconds") or 300)
    stop = threading.Event()

    def loop():
        wait = first
        while not stop.wait(wait):
            wait = every
            try:
                tick(ws)
            except QmsError as exc:          # busy or refused: the next round tries again
                log.warning("tick: %s", exc)
            except Exception:                # never let the web server's scheduler die
                log.exception("tick failed")
    t = threading.Thread(target=loop, name="qms-scheduler", daemon=True)
    t.stop = stop  # type: ignore[attr-defined]
    t.start()
    return t

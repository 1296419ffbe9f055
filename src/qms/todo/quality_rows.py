"""Catalog rows of the quality process around documents (issue 23), applied from the journal like
every other table: reading assignments and their acknowledgements, periodic reviews closed,
reminders created and sent, controlled copies signed for and returned, e-mail addresses."""

from __future__ import annotations

import json

from ..change.change_rows import HANDLERS as CHANGE_HANDLERS      # change requests and CAPAs


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _training_assigned(cat, e, d):
    audience = d.get("audience")
    if audience is not None:
        cat.execute("INSERT INTO training_audience(number, revision, departments, roles, due_days, no_retraining) "
                    "VALUES(?,?,?,?,?,?) ON CONFLICT(number, revision) DO UPDATE SET departments=excluded.departments, "
                    "roles=excluded.roles, due_days=excluded.due_days, no_retraining=excluded.no_retraining",
                    e.target, d["revision"], _json(audience.get("departments") or []),
                    _json(audience.get("roles") or []), int(d.get("due_days") or 14),
                    1 if d.get("no_retraining") else 0)
    for a in d.get("assignments") or []:
        cat.execute("INSERT OR IGNORE INTO training(number, revision, login, name, department, assigned_at, due, "
                    "reason) VALUES(?,?,?,?,?,?,?,?)", e.target, d["revision"], a["login"], a["name"],
                    a.get("department") or "", e.at, a["due"], d.get("reason") or "")


def _training_ack(cat, e, d):
    cat.execute("UPDATE training SET acked_at=?, acked_on=?, meaning=? WHERE number=? AND revision=? AND login=?",
                d.get("signed_at") or e.at, d["signed_on"], d["meaning"], e.target, d["revision"], d["login"])


def _review_closed(cat, e, d):
    cat.execute("INSERT INTO reviews(number, due, outcome, comment, closed_at, closed_by, next_due) "
                "VALUES(?,?,?,?,?,?,?)", e.target, d["due"], d["outcome"], d.get("comment") or "",
                d.get("signed_at") or e.at, d["login"], d.get("next_due"))


def _reminder(cat, e, d):
    cat.execute("INSERT OR IGNORE INTO reminders(key, login, kind, subject, body, email, created_at) "
                "VALUES(?,?,?,?,?,?,?)", e.target, d["login"], d["kind"], d["subject"], d.get("body") or "",
                d.get("email"), e.at)


def _reminder_sent(cat, e, d):
    cat.execute("UPDATE reminders SET sent_at=? WHERE key=?", e.at, e.target)


def _user_email(cat, e, d):
    cat.execute("INSERT INTO user_contacts(login, email) VALUES(?, ?) ON CONFLICT(login) "
                "DO UPDATE SET email=excluded.email", e.target, d["email"])


def _copy_received(cat, e, d):
    cat.execute("UPDATE copies SET received_at=?, received_by=? WHERE number=? AND copy_no=?",
                d.get("signed_at") or e.at, d["login"], e.target, int(d["copy_no"]))


def _copy_returned(cat, e, d):
    at = d.get("signed_at") or e.at
    cat.execute("UPDATE copies SET returned_at=?, returned_by=?, return_reason=?, "
                "recalled_at=COALESCE(recalled_at, ?), recalled_by=COALESCE(recalled_by, ?) "
                "WHERE number=? AND copy_no=?", at, d["login"], d.get("reason") or "", at, e.actor,
                e.target, int(d["copy_no"]))


HANDLERS = {
    "training.assigned": _training_assigned, "training.ack": _training_ack, "review.closed": _review_closed,
    "reminder": _reminder, "reminder.sent": _reminder_sent, "user.email": _user_email,
    "doc.copy_received": _copy_received, "doc.copy_returned": _copy_returned,
}


def register_handlers(register) -> None:
    for action, handler in {**HANDLERS, **CHANGE_HANDLERS}.items():
        register(action, handler)

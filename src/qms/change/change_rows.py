"""Catalog rows of change requests and CAPAs (issue 23), applied from their journal events."""

from __future__ import annotations

import json

from ..store.projection import set_sequence


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _cr_opened(cat, e, d):
    set_sequence(cat, d["sequence"], d["seq"])
    cat.execute("INSERT INTO change_requests(number, title, reason, description, impact, affects, approvers, "
                "opened_at, opened_by) VALUES(?,?,?,?,?,?,?,?,?)", e.target, d["title"], d["reason"],
                d.get("description") or "", d.get("impact") or "", _json(d["affects"]), _json(d["approvers"]),
                e.at, e.actor)


def _cr_approved(cat, e, d):
    cat.execute("INSERT INTO cr_approvals(cr, login, name, meaning, comment, signed_at) VALUES(?,?,?,?,?,?)",
                e.target, d["login"], d["name"], d["meaning"], d.get("comment") or "", d.get("signed_at") or e.at)


def _cr_linked(cat, e, d):
    cat.execute("INSERT OR IGNORE INTO cr_revisions(cr, number, revision) VALUES(?,?,?)", e.target, d["number"],
                d["revision"])


def _cr_cancelled(cat, e, d):
    cat.execute("UPDATE change_requests SET cancelled_at=?, cancel_reason=? WHERE number=?", e.at, d["reason"],
                e.target)


def _capa_opened(cat, e, d):
    set_sequence(cat, d["sequence"], d["seq"])
    cat.execute("INSERT INTO capas(number, title, description, source, record, document, containment, root_cause, "
                "opened_at, opened_by) VALUES(?,?,?,?,?,?,?,?,?,?)", e.target, d["title"], d["description"],
                d["source"], d.get("record"), d.get("document"), d.get("containment") or "",
                d.get("root_cause") or "", e.at, e.actor)


def _capa_action(cat, e, d):
    cat.execute("INSERT INTO capa_actions(capa, no, owner, owner_name, due, text) VALUES(?,?,?,?,?,?)",
                e.target, int(d["no"]), d["owner"], d.get("owner_name") or "", d["due"], d["text"])


def _capa_action_done(cat, e, d):
    cat.execute("UPDATE capa_actions SET done_at=?, done_by=?, done_note=? WHERE capa=? AND no=?",
                d.get("signed_at") or e.at, d["login"], d.get("note") or "", e.target, int(d["no"]))


def _capa_verified(cat, e, d):
    cat.execute("UPDATE capas SET verification=?, verified_at=?, verified_by=? WHERE number=?", d["result"],
                d.get("signed_at") or e.at, d["login"], e.target)


def _capa_closed(cat, e, d):
    cat.execute("UPDATE capas SET closed_at=?, closed_by=? WHERE number=?", d.get("signed_at") or e.at, d["login"],
                e.target)


HANDLERS = {"cr.opened": _cr_opened, "cr.approved": _cr_approved, "cr.linked": _cr_linked,
            "cr.cancelled": _cr_cancelled, "capa.opened": _capa_opened, "capa.action": _capa_action,
            "capa.action_done": _capa_action_done, "capa.verified": _capa_verified, "capa.closed": _capa_closed}

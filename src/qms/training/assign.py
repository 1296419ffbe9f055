"""Assignments made in the same batch as the event that calls for them (qms.store.hooks): a release of a
revision with readers, a person moved into (or created in) a department that must read something.

The audience comes from the procedure's `training:` key, else config.yaml `training:` defaults
(departments, roles, due_days — 14 unless set)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from ..base.dates import today
from ..base.yaml_source import parse_yaml_text

DEFAULT_DUE_DAYS = 14


def config_defaults(ws) -> dict:
    t = ws.config.quality.get("training") or {}
    return {"departments": list(t.get("departments") or []), "roles": list(t.get("roles") or []),
            "due_days": int(t.get("due_days") or DEFAULT_DUE_DAYS)}


def audience_of(ws, rev) -> dict:
    """The revision's readers as its archived source names them (else the config's defaults)."""
    defaults = config_defaults(ws)
    path = ws.root / rev["folder"] / (rev["source"] or "source.yaml")
    own = {}
    try:
        data = parse_yaml_text(path.read_text(encoding="utf-8"), path).data
        own = (data or {}).get("training") or {}
    except (OSError, Exception):          # an unreadable source is for verify to report; no readers then
        own = {}
    if not isinstance(own, dict):
        own = {}
    def names(v):
        return [v] if isinstance(v, str) else list(v or [])
    deps, roles = names(own.get("departments")), names(own.get("roles"))
    if not deps and not roles:
        deps, roles = defaults["departments"], defaults["roles"]
    return {"departments": deps, "roles": roles, "due_days": int(own.get("due_days") or defaults["due_days"])}


def _people(cat) -> list:
    return cat.all("SELECT login, name, department, roles FROM users WHERE disabled=0 ORDER BY login")


def _in_audience(person, departments: list, roles: list) -> bool:
    mine = set(json.loads(person["roles"] or "[]"))
    return (person["department"] or "") in departments or bool(mine & set(roles))


def _due(days: int) -> str:
    return (today() + dt.timedelta(days=days)).isoformat()


def _on_release(w, e) -> list[dict]:
    d = e["data"]
    rev = w.cat.one("SELECT * FROM revisions WHERE number=? AND revision=?", e["target"], d["revision"])
    if rev is None:
        return []
    aud = audience_of(w.ws, rev)
    if not aud["departments"] and not aud["roles"]:
        return []
    no_retraining = bool(d.get("no_retraining"))
    people = [] if no_retraining else [p for p in _people(w.cat) if _in_audience(p, aud["departments"], aud["roles"])]
    return [{"action": "training.assigned", "target": e["target"],
             "data": {"revision": d["revision"], "reason": "release", "due_days": aud["due_days"],
                      "audience": {"departments": aud["departments"], "roles": aud["roles"]},
                      **({"no_retraining": True} if no_retraining else {}),
                      "assignments": [{"login": p["login"], "name": p["name"], "department": p["department"] or "",
                                       "due": _due(aud["due_days"])} for p in people]}}]


def current_audiences(cat) -> list:
    """The revision to read of each document still in force that has readers: the latest released one
    that called for reading (a minor revision released with --no-retraining leaves its predecessor's)."""
    return cat.all("SELECT a.* FROM training_audience a JOIN revisions r ON r.number=a.number AND "
                   "r.revision=a.revision JOIN documents d ON d.number=a.number WHERE d.obsolete_on IS NULL "
                   "AND a.no_retraining=0 AND r.seq=(SELECT MAX(x.seq) FROM training_audience y JOIN revisions x "
                   "ON x.number=y.number AND x.revision=y.revision WHERE y.number=a.number AND y.no_retraining=0 "
                   "AND x.state='released') ORDER BY a.number")


def _on_person(w, login: str, department: str | None, roles: list | None, name: str | None) -> list[dict]:
    audiences = current_audiences(w.cat)
    if not audiences:
        return []
    try:
        person = w.cat.one("SELECT login, name, department, roles FROM users WHERE login=?", login)
    except sqlite3.OperationalError:        # no users table yet: the workspace's first user
        person = None
    name = name or (person["name"] if person else login)
    dep = department if department is not None else (person["department"] if person else "")
    mine = set(roles if roles is not None else json.loads(person["roles"] if person else "[]"))
    out = []
    for a in audiences:
        deps, rls = json.loads(a["departments"]), json.loads(a["roles"])
        if dep not in deps and not (mine & set(rls)):
            continue
        if w.cat.one("SELECT 1 FROM training WHERE number=? AND revision=? AND login=?", a["number"], a["revision"],
                     login):
            continue
        out.append({"action": "training.assigned", "target": a["number"],
                    "data": {"revision": a["revision"], "reason": "department" if department is not None else "new",
                             "due_days": a["due_days"],
                             "assignments": [{"login": login, "name": name, "department": dep or "",
                                              "due": _due(a["due_days"])}]}})
    return out


def follow(w, events: list[dict]) -> list[dict]:
    out: list[dict] = []
    for e in events:
        action = e.get("action")
        if action == "doc.release":
            out += _on_release(w, e)
        elif action == "user.department":
            out += _on_person(w, e["target"], e["data"]["department"], None, None)
        elif action == "user.created" and (e["data"].get("department") or e["data"].get("roles")):
            out += _on_person(w, e["target"], e["data"].get("department") or "", e["data"].get("roles") or [],
                              e["data"].get("name"))
    return out


"""What governs the archive — config.yaml, the form schemas, the templates — journaled by digest.

Editing them changes who may do what, how long records are kept and how they are numbered and
rendered: a change of state like any other. `qms config apply` (an admin) checks the new files,
journals their SHA-256 with a summary of what changed (`config.applied`); until then every
write is refused naming the changed files, and `qms verify` reports them. Reads keep working.
"""

from __future__ import annotations

import hashlib
import re
import json

from ..base.errors import Conflict, QmsError, Refused
from ..store.workspace import CONFIG_NAME, Workspace, open_workspace
from ..domain.forms import load_forms
from ..domain.policy import load_policy
from ..base.yaml_source import load_yaml
import zipfile
from ..identity import PermissionDenied, NotAuthenticated
from ..identity.users import has_users
from ..store.writer import writing
from ..store.catalog import reading
from ..store.catalog import present as catalog_present

ACTION = "config.applied"
PERMISSION = "config.apply"
META_KEY = "config_applied"        # the catalog's meta row the projection keeps (seq, digests, settings)


# ------------------------------------------------------------------ what is governed

def governed_files(ws: Workspace) -> dict[str, str]:
    """Workspace-relative path → SHA-256 of config.yaml and every file under schemas/ and templates/
    (dot-files, an editor's leftovers, excepted). ~100 KB: hashing costs well under a millisecond."""
    out = {}
    paths = [ws.root / CONFIG_NAME]
    for folder in (ws.schemas_dir, ws.templates_dir):
        if folder.is_dir():
            paths += sorted(p for p in folder.rglob("*") if p.is_file()
                            and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    for p in paths:
        if p.is_file():
            data = p.read_bytes()
            if p == ws.root / CONFIG_NAME:
                data = without_storage(data.decode("utf-8", "replace")).encode("utf-8")
            out[p.relative_to(ws.root).as_posix()] = hashlib.sha256(data).hexdigest()
    return out


# config.yaml's `storage:` says where this copy of the archive is kept (qms migrate writes a new one
# and must copy the journal unchanged), not what governs it: left out of config.yaml's digest.
_STORAGE_SECTION = re.compile(r"^storage:[^\n]*\n(?:(?:[ \t]+[^\n]*|[ \t]*)\n)*", re.M)


def without_storage(text: str) -> str:
    """config.yaml's text without its top-level `storage:` section, ending in one newline."""
    return _STORAGE_SECTION.sub("", text if text.endswith("\n") else text + "\n").rstrip("\n") + "\n"


def _full_digest(ws: Workspace) -> str | None:
    """config.yaml's digest over every byte, as applied before the storage section was left out."""
    path = ws.root / CONFIG_NAME
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def changed_files(before: dict[str, str], now: dict[str, str]) -> list[str]:
    """Names of files added, edited or removed, each once ('schemas/X.yaml (removed)')."""
    out = [p for p in sorted(now) if before.get(p) != now[p] and p in before]
    out += [f"{p} (new)" for p in sorted(now) if p not in before]
    out += [f"{p} (removed)" for p in sorted(before) if p not in now]
    return out


def settings(ws: Workspace) -> dict:
    """The rules a reviewer of a change wants to see, as written: retention of each form (and the
    default), roles → permissions, approval roles, policies. Raises QmsError on an invalid file."""

    forms = load_forms(ws)
    policy = load_policy(ws)
    raw = load_yaml(ws.root / CONFIG_NAME).data or {}
    ident = raw.get("identity") if isinstance(raw.get("identity"), dict) else {}
    default = ws.config.record_retention
    retention = {"(default)": f"{default.get('period', '5y')} from {default.get('from', 'year_end')}"}
    retention |= {fid: f.retention.describe() for fid, f in sorted(forms.items())}
    return {
        "retention": retention,
        "roles": {r: sorted(p) for r, p in sorted(policy.roles.items())},
        "approvals": [f"{r.key} {r.label}{'' if r.required else ' (optional)'}{' (several)' if r.multiple else ''}"
                      for r in ws.config.roles],
        "policies": {"separation_of_duties": policy.separation_of_duties,
                     "password": _plain(ident.get("password")), "lockout": _plain(ident.get("lockout")),
                     "session": _plain(ident.get("session")), "keep_obsolete": ws.config.keep_obsolete,
                     "numbering": ws.config.record_numbering},
    }


def _plain(value):
    return json.loads(json.dumps(value, ensure_ascii=False, default=str)) if value is not None else None


def _show(value) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def summary(before: dict | None, now: dict) -> list[str]:
    """One line per rule that changed: 'retention QR-SV-022-07: 5y from year_end → 1d from filed',
    'role auditor: + records.purge', 'policy separation_of_duties: true → false'."""
    if not before:
        return ["first configuration applied"]
    lines = []
    old, new = before.get("retention", {}), now["retention"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"retention {key}: {old.get(key, '(none)')} → {new.get(key, '(none)')}")
    old, new = before.get("roles", {}), now["roles"]
    for role in sorted(set(old) | set(new)):
        if role not in old:
            lines.append(f"role {role} added: {', '.join(new[role]) or '(no permissions)'}")
        elif role not in new:
            lines.append(f"role {role} removed")
        else:
            plus = [f"+ {p}" for p in new[role] if p not in old[role]]
            minus = [f"- {p}" for p in old[role] if p not in new[role]]
            if plus or minus:
                lines.append(f"role {role}: {', '.join(plus + minus)}")
    if before.get("approvals") != now["approvals"]:
        lines.append(f"approvals: {'; '.join(before.get('approvals') or [])} → {'; '.join(now['approvals'])}")
    old, new = before.get("policies", {}), now["policies"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"policy {key}: {_show(old.get(key))} → {_show(new.get(key))}")
    return lines


def check_files(ws: Workspace) -> dict:
    """Everything the configuration names loads: config.yaml, the identity policy, every form
    schema and the template it names (a .docx that opens). Returns settings(); raises one line."""
    found = settings(ws)
    for form in load_forms(ws).values():
        tpl = ws.templates_dir / form.template
        if not tpl.is_file():
            raise QmsError(f"template {form.template!r} not found in {ws.rel(ws.templates_dir)}/",
                           file=ws.rel(form.path), field="template")
        if not zipfile.is_zipfile(tpl):
            raise QmsError("not a .docx template (Word file)", file=ws.rel(tpl))
    for name in ("procedure.docx", "record.docx"):
        tpl = ws.templates_dir / name
        if tpl.exists() and not zipfile.is_zipfile(tpl):
            raise QmsError("not a .docx template (Word file)", file=ws.rel(tpl))
    return found


# ------------------------------------------------------------------ the journal's view

def applied(cat) -> dict | None:
    """{seq, digests, settings} of the last config.applied the catalog has projected, or None."""
    row = cat.one("SELECT value FROM meta WHERE key=?", META_KEY)
    return json.loads(row["value"]) if row else None


def applied_in(entries) -> dict | None:
    """The same, from journal entries (verify reads the log, not the catalog)."""
    last = None
    for e in entries:
        if e.action == ACTION:
            last = {"seq": e.seq, "digests": (e.data or {}).get("digests") or {},
                    "settings": (e.data or {}).get("settings")}
    return last


def unapplied(ws: Workspace, last: dict | None) -> list[str]:
    """Files that differ from the last applied digests (all of them when none was applied)."""
    before, now = (last["digests"] if last else {}), governed_files(ws)
    if CONFIG_NAME in before and before[CONFIG_NAME] == _full_digest(ws):
        now[CONFIG_NAME] = before[CONFIG_NAME]       # applied before storage was left out: the same file
    return changed_files(before, now)


def check_applied(ws: Workspace, cat) -> None:
    """The write gate: refuse, in one line naming the files, while an edit is not applied."""
    last = applied(cat)
    if last is None:
        raise Refused(f"{CONFIG_NAME}, schemas and templates of this workspace were never applied: writes are "
                      "refused until an admin runs qms config apply", file=CONFIG_NAME)
    changed = unapplied(ws, last)
    if changed:
        raise Refused(f"changed since applied (audit.log entry {last['seq']}): {', '.join(changed)}; writes are "
                      "refused until an admin runs qms config apply")


def verify_problems(ws: Workspace, entries) -> list[str]:
    """verify's lines: the governing files against the journal's last config.applied."""
    entries = list(entries)
    if not entries:
        return []
    last = applied_in(entries)
    if last is None:
        return [f"{CONFIG_NAME}, schemas and templates: never applied (no config.applied in audit.log); "
                "an admin runs qms config apply"]
    return [f"{p}: differs from what audit.log entry {last['seq']} applied (an unjournaled change to what governs "
            "the archive; an admin reviews it and runs qms config apply)" for p in unapplied(ws, last)]


# ------------------------------------------------------------------ qms config apply

def may_apply(user, last: dict | None) -> bool:
    """Judged by the roles last *applied*, never by the edited file: an edit granting someone
    config.apply cannot apply itself. The admin role may always apply."""
    if user is None or user.disabled:
        return False
    roles = (last or {}).get("settings", {}) or {}
    roles = roles.get("roles", {})
    for role in user.roles:
        base = role.split("@", 1)[0]
        if base == "admin" or PERMISSION in roles.get(base, ()):
            return True
    return False


def apply_config(ws: Workspace, *, actor) -> dict:
    """Check the files and journal their digests and what changed. `actor` None only while a
    workspace has no users yet (qms init)."""

    if actor is None and has_users(ws):
        raise NotAuthenticated("no session: log in as an administrator first (qms login LOGIN)")
    fresh = open_workspace(ws.root)           # the files as they are now, not as this process loaded them
    found = check_files(fresh)
    with writing(fresh, purpose="config apply", governed=False) as w:
        last = applied(w.cat) if w.cat.path is not None else None
        if actor is not None and not may_apply(actor, last):
            raise PermissionDenied(f"{actor.login} lacks the permission {PERMISSION} under the configuration last "
                                   "applied; an admin applies it", permission=PERMISSION)
        digests = governed_files(fresh)
        if last is not None and digests == last["digests"]:
            raise Conflict(f"nothing to apply: {CONFIG_NAME}, schemas and templates are as audit.log entry "
                           f"{last['seq']} applied them")
        changed = changed_files(last["digests"] if last else {}, digests)
        lines = summary(last and last.get("settings"), found)
        (entry,) = w.commit([{"action": ACTION, "target": "config",
                              "data": {"digests": digests, "settings": found, "changed": changed,
                                       "changes": lines}}],
                            actor=actor.actor if actor else "qms init")
    return {"seq": entry.seq, "changed": changed, "changes": lines, "files": len(digests)}


def status(ws: Workspace) -> dict:
    """What `qms config status` shows: the files changed since the last apply."""
    if not catalog_present(ws):
        return {"applied_seq": None, "changed": unapplied(ws, None)}
    with reading(ws) as cat:
        last = applied(cat)
    return {"applied_seq": last["seq"] if last else None, "changed": unapplied(ws, last)}

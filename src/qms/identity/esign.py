"""Electronic signatures on a document revision: a deliberate, authenticated act.

Each signature (21 CFR 11.50, 11.70, 11.100, 11.200(a)):
  - needs the signer's password at that moment (a wrong one is journaled; the n-th locks the login),
  - needs the permission to sign that role (doc.sign.<role>, optionally for one department),
  - respects separation of duties: one person signs at most one role of a revision (会签 takes
    several different people, never the same one twice),
  - records the manifestation: printed name from the user record, login, role, meaning, date and
    time in the workspace's time zone,
  - is bound to the exact content: the SHA-256 of the revision's source and of its rendered .docx
    content (the draft rendering without approvals; zip member names and bytes, so the zip's own
    timestamps do not count). Release re-computes both and refuses when they changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..base.errors import QmsError, Refused
from . import User, require
from ..domain.policy import load_policy
from .users import authenticate
from ..store.workspace import Role, Workspace
from ..base.dates import now


def workspace_zone(ws: Workspace):
    name = load_policy(ws).timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QmsError(f"unknown time zone {name!r} (e.g. Asia/Shanghai)", file=ws.root / "config.yaml",
                       field="identity.timezone") from None


def signing_time(ws: Workspace) -> dt.datetime:
    """Now, in the workspace's time zone, to the second: what the manifestation prints."""
    return now(workspace_zone(ws)).replace(microsecond=0)


def confirm_password(ws: Workspace, user: User, password, *, purpose: str = "sign") -> dt.datetime:
    """The one password re-check before every signature (documents, records, disposal): the
    password (or a function asking for it, called only now) is checked — a wrong one is journaled and
    the n-th locks the login — and the signing time to print is returned."""
    authenticate(ws, user.login, password() if callable(password) else password, purpose=purpose)
    return signing_time(ws)


def docx_digest(path: Path) -> str:
    """SHA-256 over a .docx's members (sorted names and their bytes): the same content renders to the
    same digest, whatever time the zip was written."""
    h = hashlib.sha256()
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            h.update(name.encode("utf-8") + b"\0" + hashlib.sha256(z.read(name)).digest())
    return h.hexdigest()


@dataclass(frozen=True)
class Binding:
    source_sha256: str
    docx_sha256: str


def authorize_signature(ws: Workspace, user: User, password, role: Role, *, department: str,
                        approvals: list) -> None:
    """Refuse unless `user` may sign `role` now: permission, separation of duties, then the password
    (asked and checked last — `password` may be a function asking for it — so a refusal for another
    reason never asks for it nor counts as a failed password)."""
    require(user, f"doc.sign.{role.key}", department=department)
    policy = load_policy(ws)
    mine = [a for a in approvals if a["login"] == user.login]
    if any(a["role"] == role.key for a in mine):
        raise Refused(f"{user.name} ({user.login}) has already signed this revision as {role.label}; "
                       "one person signs a role once", field="role")
    if policy.separation_of_duties and mine:
        raise Refused(f"separation of duties: {user.name} ({user.login}) already signed this revision as "
                       f"{mine[0]['role_label']}; one person signs at most one role of a revision "
                       "(config.yaml identity.separation_of_duties)", field="role")
    confirm_password(ws, user, password)


def changed_since_signed(approvals: list, now: Binding) -> list[str]:
    """Signatures whose bound content differs from the revision's content now."""
    out = []
    for a in approvals:
        what = [name for name, then, cur in (("source", a["source_sha256"], now.source_sha256),
                                             (".docx", a["docx_sha256"], now.docx_sha256))
                if then and then != cur]
        if what:
            out.append(f"{a['role_label']} {a['name']} ({' and '.join(what)})")
    return out

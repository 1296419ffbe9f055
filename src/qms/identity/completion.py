"""A completion by a person (read and understood, review closed, copy signed for or returned) is an
electronic signature: the password again, the meaning, the printed name, the time in the
workspace's zone — the same check `doc sign` makes (identity.users.authenticate, purpose 'sign')."""

from __future__ import annotations

from .esign import signing_time
from . import User
from .users import authenticate
from ..store.workspace import Workspace


def completion_signature(ws: Workspace, user: User, password, meaning: str) -> dict:
    """Refuses (and journals the failure) unless `password` is the user's; else the manifestation."""
    authenticate(ws, user.login, password() if callable(password) else password, purpose="sign")
    at = signing_time(ws)
    return {"login": user.login, "name": user.name, "meaning": meaning, "signed_at": at.isoformat(),
            "signed_on": at.date().isoformat()}


def may_see_all(user: User) -> bool:
    """The quality manager (who may release documents or manage users) sees everyone's overdue items."""
    return user.may("doc.release") or user.may("users.manage") or user.may("records.dispose.approve")

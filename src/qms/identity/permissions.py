"""Who a user is, what they may do, and the one check every state change makes."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..base.errors import Refused


class NotAuthenticated(Refused):
    """No (valid) session, or a wrong password: the user must prove who they are."""


class PermissionDenied(Refused):
    """An authenticated user lacks the permission; the message names it."""

    def __init__(self, message: str, *, permission: str):
        self.permission = permission
        super().__init__(message)


@dataclass(frozen=True)
class User:
    login: str
    name: str
    department: str = ""
    roles: tuple[str, ...] = ()
    disabled: bool = False
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        """What the journal names as the actor: the login and the printed name."""
        return f"{self.login} {self.name}"

    def may(self, permission: str, *, department: str | None = None) -> bool:
        if self.disabled:
            return False
        return permits(self.permissions, permission, department=department)

    def to_json(self) -> dict:
        return {"login": self.login, "name": self.name, "department": self.department,
                "roles": list(self.roles), "disabled": self.disabled,
                "permissions": sorted(self.permissions)}


def permits(held, permission: str, *, department: str | None = None, narrower: bool = False) -> bool:
    """The one permission matcher (CLI, library and web): `permission` itself, or held for
    `department` ('record.file@质量部'). `narrower` (a page deciding whether to show a button)
    also accepts a narrower grant: 'doc.sign.approved' or any department's for 'doc.sign'."""
    if permission in held:
        return True
    if department and f"{permission}@{department}" in held:
        return True
    return narrower and any(p.startswith(permission + ".") or p.startswith(permission + "@") for p in held)


def require(user: User | None, permission: str, *, department: str | None = None) -> User:
    """Refuse unless `user` holds `permission` (or holds it for `department`)."""
    if user is None:
        raise NotAuthenticated("no session: log in first (qms login LOGIN)")
    if user.disabled:
        raise PermissionDenied(f"login {user.login} is disabled", permission=permission)
    if not user.may(permission, department=department):
        where = f" for department {department}" if department else ""
        raise PermissionDenied(f"{user.login} ({user.name}) lacks the permission {permission}{where}; "
                               f"roles held: {', '.join(user.roles) or 'none'}", permission=permission)
    return user

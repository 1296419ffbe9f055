"""The first administrator of a workspace (qms init DIR --admin LOGIN)."""

from __future__ import annotations

from ..base.errors import Conflict, InvalidInput
from ..store.workspace import Workspace, CONFIG_NAME, init_workspace, open_workspace
from ..identity.permissions import User
from ..identity.users import add_user, has_users
from pathlib import Path
from ..identity.keys import keys_init
from ..adapters.pades import has_keys
from .governance import apply_config, status


def init_admin(ws: Workspace, login: str, *, name: str, password: str, department: str = "") -> User:
    """Create the first user, an admin, without a session; refused once a workspace has users."""
    if has_users(ws):
        raise Conflict("this workspace has users already; an admin adds more (qms user add)", file=ws.root)
    # what governs the archive is journaled before anyone acts under it (later: qms config apply)
    if status(ws)["changed"]:
        apply_config(ws, actor=None)
    return add_user(ws, login, name=name, roles=["admin"], department=department, password=password, actor=None)


def create_workspace(directory, *, admin: str | None, name: str | None, password: str | None,
                     department: str = "", org: str | None = None,
                     org_en: str | None = None, examples: bool = True,
                     storage: dict | None = None) -> tuple[Workspace, User | None]:
    """`qms init DIR [--admin LOGIN --name NAME]`: the workspace from the packaged defaults, its
    first administrator and the organisation's signing key. With --admin, an existing workspace
    that has no users yet (one made before people existed) gets its administrator instead."""


    if admin and not name:
        raise InvalidInput("--name is required with --admin (the administrator's printed name)", field="name")
    exists = (Path(directory) / CONFIG_NAME).exists()
    if exists and admin:
        ws = open_workspace(directory)
        if has_users(ws):
            raise Conflict("already a workspace with users; an admin adds more (qms user add)", file=directory)
    else:
        ws = init_workspace(directory, org=org, org_en=org_en, examples=examples, storage=storage)
    user = init_admin(ws, admin, name=name, password=password, department=department) if admin else None
    if admin and not has_keys(ws):
        keys_init(ws, actor=user)
    return ws, user

"""Departments a person may belong to and a procedure may name: config.yaml `departments:` when it
lists them (any name otherwise)."""

from __future__ import annotations

from ..base.errors import InvalidInput
from ..store.workspace import Workspace


def check_department(ws: Workspace, department: str, field: str = "department") -> str:
    department = (department or "").strip()
    known = ws.config.quality.get("departments") or []
    if department and known and department not in known:
        raise InvalidInput(f"未知部门 {department!r}；config.yaml 的 departments 列有：{'、'.join(known)}",
                           field=field)
    return department

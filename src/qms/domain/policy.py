"""The `identity:` section of config.yaml: which role grants which permission, the password
policy, lockout and session timeouts. Policy lives in YAML, not code: a workspace whose
config.yaml predates this section falls back to the packaged config.yaml's section."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import InvalidInput, QmsError
from ..store.workspace import CONFIG_NAME, Workspace, defaults_dir
from ..base.yaml_source import load_yaml

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value, *, file=None, field=None) -> float:
    """'30m', '8h', '90d', '2s' → seconds; 0 (or 'never') means no limit."""
    if value in (0, "0", None, "never"):
        return 0.0
    m = _DURATION.match(str(value))
    if not m:
        raise InvalidInput(f"expected a duration like 30m, 8h, 90d or 0, got {value!r}", file=file, field=field)
    return float(m.group(1)) * _UNIT[m.group(2)]


@dataclass(frozen=True)
class Policy:
    roles: dict[str, tuple[str, ...]]          # role → permissions
    separation_of_duties: bool = True
    min_length: int = 8
    max_age: float = 0.0                       # seconds; 0 = passwords never expire
    lockout_attempts: int = 5
    lockout_duration: float = 1800.0
    idle_timeout: float = 1800.0
    lifetime: float = 8 * 3600.0
    timezone: str = "Asia/Shanghai"          # signatures are manifested in the workspace's time zone
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1

    def base_role(self, role: str) -> str:
        """'批准@质量部' → '批准': a role may be limited to one department's documents."""
        return role.split("@", 1)[0]

    def check_roles(self, roles: list[str]) -> list[str]:
        out = []
        for role in roles:
            role = role.strip()
            if not role:
                continue
            if self.base_role(role) not in self.roles:
                known = ", ".join(self.roles)
                raise InvalidInput(f"unknown role {role!r}; expected one of: {known} "
                               "(an approval role may be limited to a department: 批准@质量部)", field="roles")
            base, _, dept = role.partition("@")
            if dept and not all(p.startswith("doc.sign.") for p in self.roles[base]):
                raise InvalidInput(f"role {role!r}: only an approval role (编制, 批准 …) may be limited to a department",
                               field="roles")
            if role not in out:
                out.append(role)
        return out

    def permissions(self, roles) -> frozenset[str]:
        """Permissions of a set of roles; a department-limited role gives 'perm@dept'."""
        out: set[str] = set()
        for role in roles:
            base, _, dept = role.partition("@")
            for perm in self.roles.get(base, ()):
                out.add(f"{perm}@{dept}" if dept else perm)
        return frozenset(out)


def _section(path: Path) -> tuple[dict | None, object]:
    src = load_yaml(path)
    data = src.data if isinstance(src.data, dict) else {}
    return data.get("identity"), src


def load_policy(ws: Workspace) -> Policy:
    path = ws.root / CONFIG_NAME
    section, src = _section(path)
    if section is None:
        path = defaults_dir() / CONFIG_NAME
        section, src = _section(path)
    if not isinstance(section, dict):
        raise InvalidInput("expected a mapping 'identity' (roles, password, lockout, session)", file=path,
                       field="identity")
    roles_in = section.get("roles")
    if not isinstance(roles_in, dict) or not roles_in:
        raise src.error("expected a mapping of role → list of permissions", "identity", "roles")
    roles: dict[str, tuple[str, ...]] = {}
    for role, perms in roles_in.items():
        if perms is None:
            perms = []
        if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
            raise src.error("expected a list of permission names", "identity", "roles", role)
        roles[str(role)] = tuple(perms)
    pw = section.get("password") or {}
    lock = section.get("lockout") or {}
    sess = section.get("session") or {}

    def dur(mapping, key, default, *where):
        try:
            return parse_duration(mapping.get(key, default))
        except QmsError as exc:
            raise src.error(exc.message, "identity", *where, key) from None

    attempts = lock.get("attempts", 5)
    if not isinstance(attempts, int) or attempts < 1:
        raise src.error("expected a whole number ≥ 1", "identity", "lockout", "attempts")
    min_length = pw.get("min_length", 8)
    if not isinstance(min_length, int) or min_length < 1:
        raise src.error("expected a whole number ≥ 1", "identity", "password", "min_length")
    argon = pw.get("argon2") or {}
    for key in ("time_cost", "memory_kib", "parallelism"):
        if key in argon and (not isinstance(argon[key], int) or argon[key] < 1):
            raise src.error("expected a whole number ≥ 1", "identity", "password", "argon2", key)
    return Policy(
        roles=roles,
        separation_of_duties=bool(section.get("separation_of_duties", True)),
        min_length=min_length,
        max_age=dur(pw, "max_age", 0, "password"),
        lockout_attempts=attempts,
        lockout_duration=dur(lock, "duration", "30m", "lockout"),
        idle_timeout=dur(sess, "idle", "30m", "session"),
        lifetime=dur(sess, "lifetime", "8h", "session"),
        timezone=str(section.get("timezone", "Asia/Shanghai")),
        argon2_time_cost=argon.get("time_cost", 2),
        argon2_memory_kib=argon.get("memory_kib", 19456),
        argon2_parallelism=argon.get("parallelism", 1),
    )

"""The organisation's signing key as a service: make, import, show — each change journaled
(keys.created / keys.imported with the certificate's fingerprint, never the key)."""

from __future__ import annotations

from pathlib import Path

from ..store import audit

from . import User, require
# The journal's key (Ed25519, .qms/identity/keys/journal-key.pem) and the MAC key derived from it, for
# services that authenticate what they keep outside the journal (the secrets store).
from ..store.journalkey import journal_key, mac_key  # noqa: F401
from .users import journal
from ..adapters.pades import CERT, KeyInfo, generate_keys, import_p12, key_info, keys_dir
from ..store.workspace import Workspace


def _log(ws: Workspace, actor: str, action: str, info: KeyInfo, **extra) -> None:
    # the certificate itself (public) pins the seal: verify trusts only seals made with a journaled one
    journal(ws, actor=actor, action=action, target="keys",
                 data={"subject": info.subject, "issuer": info.issuer, "serial": info.serial,
                       "not_after": info.not_after, "sha256": info.sha256,
                       "certificate": (keys_dir(ws) / CERT).read_text(encoding="ascii"), **extra})


def keys_init(ws: Workspace, *, actor: User | None, replace: bool = False) -> KeyInfo:
    """`actor` None only while bootstrapping a workspace (qms init --admin)."""
    if actor is not None:
        require(actor, "keys.manage")
    info = generate_keys(ws, replace=replace)
    _log(ws, actor.actor if actor else "qms init", "keys.created", info)
    return info


def keys_import(ws: Workspace, p12: Path | str, passphrase: bytes | None, *, actor: User) -> KeyInfo:
    require(actor, "keys.manage")
    info = import_p12(ws, p12, passphrase)
    _log(ws, actor.actor, "keys.imported", info, file=Path(p12).name)
    return info


def keys_show(ws: Workspace) -> KeyInfo:
    return key_info(ws)


# ------------------------------------------------------------------ the secrets store's MAC key (issue 19)
# Kept outside the workspace (a copy of the workspace, .qms included, carries no key): in
# $QMS_KEY_DIR, else ~/.config/qms/keys — one folder for every person using this account, so it
# is not $QMS_CONFIG_HOME (each person's sessions). Named after the journal's first entry, which
# no one can change without breaking the chain: a copy of the workspace finds the same key.

def secret_key_path(ws: Workspace) -> Path:
    import os
    base = os.environ.get("QMS_KEY_DIR")
    folder = Path(base) if base else Path.home() / ".config" / "qms" / "keys"
    return folder / f"secrets-{_journal_id(ws)}.key"


def _journal_id(ws: Workspace) -> str:
    import json
    try:
        first = audit.first_line(ws.audit_path)
        return str(json.loads(first)["hash"])[:16]
    except (OSError, ValueError, KeyError, TypeError):
        return "new"           # no journal yet: the first write of a workspace (qms init) makes one


_SECRET_KEYS: dict[str, bytes] = {}


def secret_mac_key(ws: Workspace, *, create: bool = False) -> bytes | None:
    """32 random bytes (file 0600, folder 0700); None when absent and not `create`d."""
    import os
    import secrets as _random
    path = secret_key_path(ws)
    if str(path) in _SECRET_KEYS:
        return _SECRET_KEYS[str(path)]
    if not path.is_file():
        if not create:
            return None
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass                # another process made it first: read theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_random.token_bytes(32))
                fh.flush()
                os.fsync(fh.fileno())
    key = path.read_bytes()
    if len(key) < 32:
        from ..base.errors import Integrity
        raise Integrity(f"the secrets store's key is damaged (expected 32 bytes, found {len(key)})", file=path)
    _SECRET_KEYS[str(path)] = key
    return key

"""The organisation's signing key as a service: make, import, show — each change journaled
(keys.created / keys.imported with the certificate's fingerprint, never the key)."""

from __future__ import annotations

from pathlib import Path


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

"""The journal's key: an Ed25519 key kept beside the seal key in `<workspace>/.qms/identity/keys/`
(folder 0700, file 0600), outside `archive/`. Each commit's batch in audit.log is signed with it,
so someone who can write the archive but not `.qms/` cannot extend or re-chain the log; its
public half is pinned in the journal (a `journal.key` event) and kept beside it, so a copy of
`archive/` alone can be checked.

A second secret is derived from it (HKDF) for MACs over the secrets store: one key to back up.
Kept apart from keys.py (which imports the identity services) so the write path can load it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from ..base.errors import Integrity, InvalidInput
from .workspace import Workspace
import json

PRIVATE = "journal-key.pem"
PUBLIC = "journal-key.pub"

_cache: dict[str, tuple[float, object]] = {}      # path -> (mtime, key): one load per process


def keys_dir(ws: Workspace) -> Path:
    return ws.root / ".qms" / "keys"


def private_path(ws: Workspace) -> Path:
    return keys_dir(ws) / PRIVATE


def public_path(ws: Workspace) -> Path:
    return keys_dir(ws) / PUBLIC


def raw_public(key) -> bytes:
    """The 32 raw bytes of an Ed25519 public (or private) key."""
    from cryptography.hazmat.primitives import serialization    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    if hasattr(key, "public_key"):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_text(key) -> str:
    """How the journal pins a public key: base64 of its 32 raw bytes."""
    return base64.b64encode(raw_public(key)).decode("ascii")


def fingerprint(key_or_text) -> str:
    raw = base64.b64decode(key_or_text) if isinstance(key_or_text, str) else raw_public(key_or_text)
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def load_public(text: str):
    """A pinned public key (base64 of 32 raw bytes); ValueError when it is not one."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an Ed25519 public key: {exc}") from None


def private_write(path: Path, data: bytes) -> None:
    """Write a key file 0600 (created so, never readable by others even for an instant), in folders
    0700; the one writer of every key qms keeps (the journal's here, the seal's in adapters.pades)."""
    for folder in (path.parent.parent, path.parent):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def has_journal_key(ws: Workspace) -> bool:
    return private_path(ws).is_file()


def create_journal_key(ws: Workspace):
    """Make the key (0600) and its public file; refuses to replace one (the journal pins it)."""
    from cryptography.hazmat.primitives import serialization    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    path = private_path(ws)
    if path.exists():
        return journal_key(ws)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    private_write(path, pem)
    public_path(ws).write_text(public_text(private) + "\n", encoding="ascii")
    _cache.pop(str(path), None)
    return private


def journal_pinned(ws: Workspace) -> bool:
    """Whether audit.log pins a journal key (a `journal.key` event): then a lost key is an error,
    never a reason to make a new one."""
    try:
        log = ws.audit_path        # audit.open_log, which imports this module
        with (log.open_read() if hasattr(log, "open_read") else open(log, "rb")) as fh:
            return any(b'"action": "journal.key"' in line for line in fh)
    except FileNotFoundError:
        return False


def journal_key(ws: Workspace, *, create: bool = False):
    """The workspace's journal signing key (Ed25519PrivateKey). Integrity when it is missing;
    `create`: make it when there is none and the journal pins none yet (a new workspace, or one
    from before signed journals — the next commit pins it)."""
    from cryptography.hazmat.primitives import serialization    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    path = private_path(ws)
    if create and not path.exists() and not journal_pinned(ws):
        return create_journal_key(ws)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        raise Integrity(f"the journal key is missing ({ws.rel(path)}); the journal is signed with it, "
                        "so nothing can be written — restore .qms/identity/keys/ from a backup", file=ws.rel(path)) from None
    hit = _cache.get(str(path))
    if hit and hit[0] == mtime:
        return hit[1]
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("not an Ed25519 private key in PEM form", file=ws.rel(path))
    _cache[str(path)] = (mtime, key)
    return key


def stored_public(ws: Workspace) -> str | None:
    """The public key kept beside the private one (base64), or None."""
    try:
        return public_path(ws).read_text(encoding="ascii").strip() or None
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def mac_key(ws: Workspace, *, create: bool = False) -> bytes:
    """32 bytes for MACs (HMAC-SHA256) over the secrets store, derived from the journal key with
    HKDF: whoever cannot read the journal key cannot forge them either. Integrity when missing
    (`create` as for journal_key)."""
    from cryptography.hazmat.primitives import hashes, serialization    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    raw = journal_key(ws, create=create).private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"qms secrets-store mac v1").derive(raw)


# ------------------------------------------------------------------ the head, kept beside the key

HEAD = "journal-head"


def head_path(ws: Workspace) -> Path:
    return ws.root / ".qms" / HEAD


def note_head(ws: Workspace, seq: int, entry_hash: str) -> None:
    """Remember the last entry this workspace committed, outside archive/: a log cut back at a
    batch boundary (every signature still valid) or swapped for an older copy is then named by
    plain verify. Written after the log's fsync, without one of its own: after a power cut it
    can only lag behind the log, never lead it."""
    path = head_path(ws)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        tmp = path.with_name(f".{HEAD}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            os.write(fd, f'{{"seq": {int(seq)}, "hash": "{entry_hash}"}}\n'.encode("ascii"))
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        pass                    # a hint for verify, never a reason to fail a committed change


def read_head(ws: Workspace) -> tuple[int, str] | None:
    try:
        doc = json.loads(head_path(ws).read_text(encoding="ascii"))
        return int(doc["seq"]), str(doc["hash"])
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None

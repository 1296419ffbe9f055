"""Signed checkpoints: the journal's head anchored outside the archive.

Anyone can re-chain or cut a hash-chained log (no secret is needed), and `qms rebuild` then
makes a catalog that agrees with it. A checkpoint — (seq, hash, time, counts) signed with an
Ed25519 key that does not live in the archive — kept somewhere else (paper, e-mail, another
disk) proves what the log held at that moment: `qms verify --checkpoint FILE` checks that
the current log still extends it and names the first seq where it does not.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from . import audit
from .archive import atomic_write
from .dates import now_iso
from .errors import Conflict, Integrity, InvalidInput, NotFound
from .workspace import Workspace

PUBLIC_NAME = "checkpoint-key.pub"


def key_path() -> Path:
    env = os.environ.get("QMS_CHECKPOINT_KEY")
    if env:
        return Path(env)
    base = Path(os.environ.get("QMS_CONFIG_HOME") or Path.home() / ".config" / "qms")
    return base / "checkpoint-key"


def _public_pem(private) -> bytes:
    from cryptography.hazmat.primitives import serialization    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


def init_key(ws: Workspace) -> dict:
    """Create the signing key (0600, outside the archive) and store its public half in the workspace."""
    from cryptography.hazmat.primitives import serialization    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    path = key_path()
    if path.exists():
        raise Conflict(f"a checkpoint key already exists at {path}; it is kept (remove it first to replace it)",
                       file=path)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = _public_pem(private)
    (ws.archive_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    atomic_write(ws.archive_dir / "checkpoints" / PUBLIC_NAME, public, replace=True)
    return {"key": str(path), "public_key": public.decode().strip(),
            "stored": ws.rel(ws.archive_dir / "checkpoints" / PUBLIC_NAME)}


def _load_private():
    from cryptography.hazmat.primitives import serialization    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    path = key_path()
    if not path.is_file():
        raise NotFound(f"no checkpoint key at {path}; create one with qms checkpoint --init-key "
                       "(or set $QMS_CHECKPOINT_KEY)", file=path)
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise InvalidInput("not an Ed25519 private key in PEM form", file=path) from None


def _body_bytes(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write_checkpoint(ws: Workspace, out: Path | None = None) -> dict:
    """Sign the journal's head; keep the checkpoint in archive/checkpoints/ (and in `out`)."""
    private = _load_private()
    problems = audit.verify_chain(ws.audit_path)
    if problems:
        raise Integrity(f"the journal's chain is broken ({problems[0]}); a checkpoint would vouch for it",
                        file=ws.rel(ws.audit_path))
    entries = [e for _, e in audit.entries_after(ws.audit_path, 0)]
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.action] = counts.get(e.action, 0) + 1
    body = {"workspace": ws.config.org_name, "seq": entries[-1].seq if entries else 0,
            "hash": entries[-1].hash if entries else audit.GENESIS, "at": now_iso(), "counts": counts,
            # 16 hex digits per entry: enough to name the first seq where a later log diverges
            "chain": "".join(e.hash[:16] for e in entries)}
    signature = private.sign(_body_bytes(body))
    doc = {"checkpoint": body, "signature": base64.b64encode(signature).decode(),
           "public_key": _public_pem(private).decode()}
    data = (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    folder = ws.archive_dir / "checkpoints"
    kept = folder / f"checkpoint-{body['seq']:08d}-{body['at'][:19].replace(':', '')}.json"
    atomic_write(kept, data, replace=True)
    if out is not None:
        atomic_write(Path(out), data, replace=True)
    return {"seq": body["seq"], "hash": body["hash"], "at": body["at"], "file": ws.rel(kept),
            "output": str(out) if out else None}


def verify_checkpoint(ws: Workspace, path: Path) -> list[str]:
    """Problems proving the current log extends the checkpoint (empty: it does)."""
    from cryptography.exceptions import InvalidSignature    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    from cryptography.hazmat.primitives import serialization
    path = Path(path)
    name = str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        body, sig = doc["checkpoint"], base64.b64decode(doc["signature"])
        public = serialization.load_pem_public_key(doc["public_key"].encode())
    except FileNotFoundError:
        return [f"{name}: checkpoint file not found"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return [f"{name}: not a qms checkpoint"]
    try:
        public.verify(sig, _body_bytes(body))
    except InvalidSignature:
        return [f"{name}: the checkpoint's signature does not match its content (it was edited)"]
    problems = []
    stored = ws.archive_dir / "checkpoints" / PUBLIC_NAME
    if stored.is_file() and stored.read_bytes().strip() != doc["public_key"].encode().strip():
        problems.append(f"{name}: signed by a key other than this workspace's ({ws.rel(stored)})")
    try:
        entries = [e for _, e in audit.entries_after(ws.audit_path, 0)]
    except (ValueError, TypeError, KeyError):
        entries = []
    chain = body.get("chain", "")
    for i, e in enumerate(entries[: body["seq"]]):
        if e.hash[:16] != chain[16 * i: 16 * i + 16]:
            return problems + [f"audit.log entry {e.seq}: differs from the checkpoint of {body['at'][:19]} "
                               f"(seq {body['seq']}); the log was rewritten from seq {e.seq} on"]
    if len(entries) < body["seq"]:
        return problems + [f"audit.log: ends at seq {len(entries)} but the checkpoint of {body['at'][:19]} "
                           f"vouches for {body['seq']} entries; seq {len(entries) + 1} onward were removed"]
    if body["seq"] and entries[body["seq"] - 1].hash != body["hash"]:
        problems.append(f"audit.log entry {body['seq']}: hash differs from the checkpoint")
    return problems

"""Signed checkpoints: the journal's head anchored outside the archive.

Anyone can re-chain or cut a hash-chained log (no secret is needed), and `qms rebuild` then
makes a catalog that agrees with it. A checkpoint — (seq, hash, time, counts) signed with an
Ed25519 key that does not live in the archive — kept somewhere else (paper, e-mail, another
disk) proves what the log held at that moment: `qms verify --checkpoint FILE` checks that
the current log still extends it and names the first seq where it does not.

Since the journal is signed (issue 19), checkpoints are also made on their own — every
`journal.checkpoint_every` events and at each `qms serve` start — signed with the journal key,
and every stored checkpoint is itself a `journal.checkpoint` event naming its file and SHA-256,
so plain `qms verify` reports one deleted or edited.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from . import audit
from .journal_entry import PIN_ACTION
from .archive import atomic_write
from .journalkey import journal_key, public_text
from ..base.dates import now_iso
from ..base.errors import Conflict, InvalidInput, NotFound
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


def _signed_doc(private, body: dict) -> bytes:
    doc = {"checkpoint": body, "signature": base64.b64encode(private.sign(_body_bytes(body))).decode(),
           "public_key": _public_pem(private).decode()}
    return (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _store(w, body: dict, data: bytes, *, actor: str, kind: str) -> str:
    """Stage the checkpoint into archive/checkpoints/ and journal it (file and SHA-256), so a
    deleted or edited stored checkpoint is reported by plain verify. Returns its relative path."""
    ws = w.ws
    folder = ws.archive_dir / "checkpoints"
    stem = f"checkpoint-{body['seq']:08d}-{body['at'][:19].replace(':', '')}"
    kept, n = folder / f"{stem}.json", 1
    while kept.exists():
        n += 1
        kept = folder / f"{stem}-{n}.json"
    rel = ws.rel(kept)
    st = w.stage()
    sha = st.write(rel, data)
    w.commit([{"action": "journal.checkpoint", "target": "journal",
               "data": {"kind": kind, "seq": body["seq"], "hash": body["hash"], "file": rel, "sha256": sha,
                        **st.promise()}}], actor=actor)
    return rel


def journal_checkpoint(w, *, actor: str, reason: str) -> str | None:
    """A checkpoint of the journal's head signed with the journal key, stored and journaled
    (inside a writer: after a commit that crossed `checkpoint_every`, or at serve start). Small
    by design (no per-entry chain: the signed journal already vouches for its entries), so
    making one every N events costs O(1). None when the head is a checkpoint already."""
    ws = w.ws
    seq, h = audit.head(ws.audit_path)
    if not seq:
        return None
    with audit.open_log(ws.audit_path) as fh:
        if json.loads(audit._last_line(fh)).get("action") == "journal.checkpoint":
            return None
    body = {"workspace": ws.config.org_name, "seq": seq, "hash": h, "at": now_iso(), "reason": reason}
    w._checkpointing = True
    try:
        return _store(w, body, _signed_doc(journal_key(ws), body), actor=actor, kind="auto")
    finally:
        w._checkpointing = False


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
    try:
        entries = [e for _, e in audit.entries_after(ws.audit_path, 0)]
    except (ValueError, TypeError, KeyError):
        entries = []
    stored = ws.archive_dir / "checkpoints" / PUBLIC_NAME
    pins = {e.data.get("public_key") for e in entries if e.action == PIN_ACTION and isinstance(e.data, dict)}
    by_journal_key = public_text(public) in pins
    if stored.is_file() and stored.read_bytes().strip() != doc["public_key"].encode().strip() and not by_journal_key:
        problems.append(f"{name}: signed by a key other than this workspace's ({ws.rel(stored)})")
    elif not stored.is_file() and pins and not by_journal_key:
        problems.append(f"{name}: signed by a key other than this workspace's journal key")
    chain = body.get("chain")
    if chain is None:          # a stored checkpoint: the head only
        chain = "".join(e.hash[:16] for e in entries[: body["seq"]])
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


def stored_problems(ws: Workspace, pairs) -> list[str]:
    """Plain verify's checkpoint checks, cheap (one hash per stored checkpoint): every journaled
    checkpoint still stored and unchanged; and every checkpoint file kept in archive/checkpoints/
    that a trusted key signed (the journal's pinned key or checkpoint-key.pub) vouching for an
    entry the log still has — so a log cut back at a batch boundary is caught while one remains."""
    problems = []
    hashes = {x.seq: x.hash for _, x in pairs}
    journaled = set()
    for _, e in pairs:
        if e.action != "journal.checkpoint":
            continue
        d = e.data or {}
        rel, sha = d.get("file"), d.get("sha256")
        if not isinstance(rel, str):
            continue
        journaled.add(rel)
        path = ws.root / rel
        if not path.is_file():
            problems.append(f"{rel}: a stored checkpoint journaled by audit.log entry {e.seq} is missing (deleted)")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            problems.append(f"{rel}: differs from the SHA-256 audit.log entry {e.seq} recorded (the checkpoint was edited)")
    folder = ws.archive_dir / "checkpoints"
    if not folder.is_dir():
        return problems
    trusted = {e.data.get("public_key") for _, e in pairs if e.action == PIN_ACTION and isinstance(e.data, dict)}
    stored_pub = folder / PUBLIC_NAME
    for path in sorted(folder.glob("checkpoint-*.json")):
        rel = ws.rel(path)
        doc = _signed_by(path, trusted, stored_pub)
        if doc is None:
            if rel not in journaled:
                continue            # not signed by a key of this workspace: vouches for nothing
            problems.append(f"{rel}: its signature does not verify with this workspace's keys (it was edited)")
            continue
        seq, h = doc.get("seq"), doc.get("hash")
        if not isinstance(seq, int) or seq <= 0:
            continue
        if seq not in hashes:
            problems.append(f"{rel}: vouches for {seq} journal entries but audit.log ends at "
                            f"{max(hashes) if hashes else 0}; the log was cut")
        elif hashes[seq] != h:
            problems.append(f"{rel}: vouches for entry {seq} with a hash the log's entry does not have "
                            "(the log was rewritten)")
    return problems


def _signed_by(path: Path, trusted: set, stored_pub: Path) -> dict | None:
    """The checkpoint body of `path` when a trusted key signed it; None otherwise."""
    from cryptography.exceptions import InvalidSignature    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    from cryptography.hazmat.primitives import serialization
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        body, sig = doc["checkpoint"], base64.b64decode(doc["signature"])
        public = serialization.load_pem_public_key(doc["public_key"].encode())
        public.verify(sig, _body_bytes(body))
        ok = public_text(public) in trusted or (
            stored_pub.is_file() and stored_pub.read_bytes().strip() == doc["public_key"].encode().strip())
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError, InvalidSignature, OSError):
        return None
    return body if ok and isinstance(body, dict) else None

"""What a qms QR says, and whether to trust it.

    QMS1:R:<workspace id>:<record number>:<version>:<check>     on a printed record
    QMS1:F:<workspace id>:<form id>:<revision>:<check>          on a blank form

All in QR's alphanumeric set (capitals, digits, `:-./`) when the number is: a smaller code (version 3)
for the same text, so bigger modules on paper.

The check is the first 12 hex digits of an HMAC-SHA256 of the rest under a key of this workspace
kept outside archive/ (`.qms/scan-key`, 0600, beside the other secrets): a QR printed by another
workspace, or typed by hand, does not verify. The key never enters the journal; losing it means
reprinted forms, not lost records (a page that fails goes to the review queue)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass

from ..store.archive import atomic_write
from ..identity.secrets import private_dir
from ..store.workspace import Workspace

PREFIX = "QMS1"
SEP = ":"
MAX_TEXT = 200                  # a longer QR text is not ours: never parsed further
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,79}$")   # record numbers and form ids; never '..'


@dataclass(frozen=True)
class ScanKey:
    workspace: str
    key: bytes


@dataclass(frozen=True)
class Code:
    kind: str            # "R" a record, "F" a blank form
    workspace: str
    name: str            # the record number or the form id
    version: str         # the record's version or the form's revision
    check: str

    @property
    def body(self) -> str:
        return SEP.join((PREFIX, self.kind, self.workspace, self.name, self.version))


def scan_key(ws: Workspace) -> ScanKey:
    """This workspace's id and QR key, made on first use."""
    path = private_dir(ws) / "scan-key"
    if path.is_file():
        doc = json.loads(path.read_text(encoding="utf-8"))
        return ScanKey(doc["workspace"], bytes.fromhex(doc["key"]))
    doc = {"workspace": secrets.token_hex(4).upper(), "key": secrets.token_hex(32)}
    atomic_write(path, json.dumps(doc).encode(), replace=False)
    os.chmod(path, 0o600)
    return ScanKey(doc["workspace"], bytes.fromhex(doc["key"]))


def _mac(key: ScanKey, body: str) -> str:
    return hmac.new(key.key, body.encode("utf-8"), hashlib.sha256).hexdigest()[:12].upper()


def record_text(ws: Workspace, number: str, version: int) -> str:
    k = scan_key(ws)
    body = SEP.join((PREFIX, "R", k.workspace, number, str(version)))
    return f"{body}{SEP}{_mac(k, body)}"


def form_text(ws: Workspace, form_id: str, revision: str) -> str:
    k = scan_key(ws)
    body = SEP.join((PREFIX, "F", k.workspace, form_id, (revision or "-").replace(":", "-")))
    return f"{body}{SEP}{_mac(k, body)}"


def is_ours(text: str) -> bool:
    """A QR qms may have printed (by its prefix) — trusted or not is `read`'s answer."""
    return text.startswith(PREFIX + SEP)


class Untrusted(ValueError):
    """A qms-looking QR that does not verify: the message says why, in one line."""


def read(ws: Workspace, text: str) -> Code:
    """The code a QR's text names, verified; Untrusted (with the reason) otherwise."""
    if len(text) > MAX_TEXT:
        raise Untrusted(f"QR text of {len(text)} characters is not a qms code")
    parts = text.split(SEP)
    if len(parts) != 6 or parts[0] != PREFIX or parts[1] not in ("R", "F"):
        raise Untrusted("QR is not a qms code")
    _, kind, wsid, name, version, check = parts
    if not _NAME.match(name) or ".." in name or not re.fullmatch(r"[A-Za-z0-9/.-]{1,16}", version):
        raise Untrusted("QR names no valid number")
    if not re.fullmatch(r"[0-9A-F]{12}", check):
        raise Untrusted("QR check does not match (not printed by this workspace)")
    code = Code(kind, wsid, name, version, check)
    k = scan_key(ws)
    if wsid != k.workspace:
        raise Untrusted(f"QR was printed by another workspace ({wsid})")
    if not hmac.compare_digest(_mac(k, code.body), check):
        raise Untrusted("QR check does not match (not printed by this workspace)")
    return code

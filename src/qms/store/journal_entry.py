"""A journal entry and its line: the entry's fields, its one canonical serialisation, how a line
is parsed and hashed, and the signature over a batch's last hash. The log file (appending,
reading back, dropping a torn write) is `audit`.

Signed journal (issue 19): the first commit that has the workspace's journal key pins its public
half in a `journal.key` event; from that entry on
- an entry's hash is the SHA-256 of its line's bytes (without its own "hash" and "sig"), so what a
  person reads is what is hashed, and every line must equal its canonical serialisation (sorted
  keys, no duplicate key, no stray whitespace);
- each commit's batch ends with an entry carrying "sig": Ed25519 over that entry's hash (which
  chains every line before it). That is the batch's commit marker: lines after the last signed
  entry are a batch never committed (a torn write), which recovery drops whole. The next batch's
  first entry repeats that signature ("psig", inside its hash), so the newest signature vouches
  for every one before it: verify checks the newest cryptographically and the others by equality
  (one Ed25519 verification per batch cost +50% on a log filed one record at a time).
Entries before the pin stay verifiable by the chain (their hash is over the parsed JSON).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field

GENESIS = "0" * 64


@dataclass
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    data: dict = field(default_factory=dict)
    prev: str = GENESIS
    hash: str = ""
    sig: str = ""             # on the last entry of a signed batch: its commit marker
    psig: str = ""            # on the first entry of a signed batch: the previous batch's sig


PIN_ACTION = "journal.key"
_SIG_PREFIX = b"qms-journal-v1:"


def _digest(entry: dict) -> str:
    """The hash of an entry from before the pin: SHA-256 of its parsed JSON, compact."""
    body = {k: v for k, v in entry.items() if k not in ("hash", "sig") and not (k == "psig" and not v)}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# json.dumps with options builds an encoder per call: one kept instead (2 µs less an entry read)
canonical_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def canonical_line(record: dict) -> bytes:
    """The one serialisation of an entry that the journal accepts."""
    return canonical_json(record).encode("utf-8") + b"\n"


def line_digest(raw: bytes) -> str:
    """The hash of a signed-era entry: SHA-256 of its (canonical) line's bytes with its own
    "hash" and "sig" members cut out. Keys are sorted and a JSON string cannot hold an unescaped
    quote, so the last `, "hash": "` is the top-level one; only prev, psig and seq lie between it
    and sig (`, "psig": "` does not match `, "sig": "`)."""
    body = raw.rstrip(b"\n")
    i = body.rfind(b', "hash": "')
    if i < 0:
        return ""
    j = body.find(b'"', i + 11)
    if j < 0:
        return ""
    body = body[:i] + body[j + 1:]
    k = body.find(b', "sig": "', i)
    if k >= 0:
        m = body.find(b'"', k + 10)
        body = body[:k] + body[m + 1:]
    return hashlib.sha256(body).hexdigest()


def _no_duplicates(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        seen = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"duplicate key {dup!r}")
    return d


_strict = json.JSONDecoder(object_pairs_hook=_no_duplicates)
_plain = json.JSONDecoder().decode
# canonical_json for what was just parsed (no cycle can be in it; the check is 15% of the encoding)
_canonical_parsed = json.JSONEncoder(ensure_ascii=False, sort_keys=True, check_circular=False).encode


def parse_line(raw: bytes) -> dict:
    """A line as the journal accepts it: UTF-8 JSON, no duplicate key, equal to its canonical
    serialisation. ValueError (with the reason) otherwise.

    Read without the duplicate-key hook, then compared as text: a line with a key twice parses
    to an object with a member fewer, whose canonical form cannot equal the line, so only a line
    that fails is read again to say which key (the hook and the bytes compared were 10% of
    reading the log)."""
    try:
        text = raw.decode("utf-8")
        rec = _plain(text)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    canonical = _canonical_parsed(rec)
    n = len(canonical)
    if not (text.startswith(canonical) and (len(text) == n or len(text) == n + 1 and text[n] == "\n")):
        _strict.decode(text)                  # a key twice: ValueError naming it
        raise ValueError("not in the journal's canonical form (extra spaces, escapes or key order)")
    return rec


def data_member(line: bytes, entry: AuditEntry) -> bytes | None:
    """The bytes of the "data" member of `entry`'s line: canonical_json(entry.data) encoded, without
    encoding it again (verify compares the audit trail's data column with it: re-encoding every
    entry's data was a third of that comparison). Only for a line parse_line accepted (canonical:
    keys sorted, one serialisation). A JSON string cannot hold an unescaped quote, so when the
    other members are strings the first `, "data": ` follows action, actor and at, and the last
    `, "hash": "` ends it (hash, prev, psig, seq, sig, target follow). None otherwise, or when the
    line has no data member: the caller encodes entry.data."""
    if {type(entry.action), type(entry.actor), type(entry.at), type(entry.hash), type(entry.prev),
            type(entry.psig), type(entry.sig), type(entry.target)} != {str}:
        return None
    i = line.find(b', "data": ')
    j = line.rfind(b', "hash": "')
    if i < 0 or j < i:
        return None
    return line[i + 10:j]


def sign_message(entry_hash: str) -> bytes:
    return _SIG_PREFIX + entry_hash.encode("ascii")


def verify_sig(public, entry_hash: str, sig: str) -> bool:
    from cryptography.exceptions import InvalidSignature    # lazy: cryptography loads in ~40 ms; only keys, seals and checkpoints need it
    try:
        public.verify(base64.b64decode(sig, validate=True), sign_message(entry_hash))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False

"""Reading what a user (or an attacker) hands qms: files, identifiers, sizes, encodings.

Every input file passes through `read_text` (bounded size, a known encoding, no control
characters) before a parser sees it, and every identifier that becomes part of a path
passes `safe_id` first. Errors never quote the content of a file that is not a valid
input: they name the file, the line and column, and what was expected.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import unicodedata
from pathlib import Path

from .errors import InvalidInput, NotFound, QmsError, Refused

MAX_BYTES = 10 * 1024 * 1024     # a data file, procedure source or schema: far above any real one
MAX_DEPTH = 64                   # nesting of mappings/lists (a record table is 3 deep)
MAX_NUMBER_DIGITS = 100          # longer digit strings are not quantities

# C0 controls other than tab, line feed and carriage return, DEL, and the C1 block.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {"\x00": "NUL", "\x0b": "vertical tab, Word's manual line break", "\x0c": "form feed",
                  "\x1b": "escape", "\x7f": "delete"}

# Form ids, document and record numbers become folder names: letters, digits, - _ . only,
# no leading dot, no "..", at most 80 characters.
_SAFE_ID = re.compile(r"^[A-Za-z0-9\u3400-\u9fff][A-Za-z0-9\u3400-\u9fff._-]{0,79}$")


# Sizes of what is rendered: checked when the input is checked, so that nothing `check` accepts is
# slow to render (LibreOffice lays out ~20,000 characters a second here; a 3-million-character
# body took minutes). A real procedure is 5,000–50,000 characters, a record field a few hundred.
MAX_FIELD_CHARS = 10_000          # one record field or table cell (about five pages)
MAX_RECORD_CHARS = 50_000         # all of a record's text
MAX_TABLE_ROWS = 1_000            # rows of one record table
MAX_TEXT_CHARS = 20_000           # one text of a procedure source (a section's body, a cell)
MAX_SOURCE_CHARS = 300_000        # all of a procedure's text (about 150 pages; ~15 s to PDF)


def too_long(text: str, limit: int, what: str) -> str | None:
    """'312,000 characters; a field may hold at most 10,000' when `text` is longer than `limit`."""
    if len(text) > limit:
        return f"{len(text):,} characters; {what} may hold at most {limit:,}"
    return None


# A retention period (5y, 18m, 30d): at least a day, at most a century — a longer one is a typo
# (99999999y overflowed the calendar at filing) and 0d would make a record due the day it is filed.
RETENTION_LIMITS = {"d": 36525, "m": 1200, "y": 100}
_PERIOD = re.compile(r"^\s*(\d{1,12})\s*([ymd])\s*$", re.I)


def period_error(period) -> str | None:
    """None when `period` is `permanent` or lies within 1 day … 100 years; else what is wrong."""
    text = str(period).strip().lower()
    if text == "permanent":
        return None
    m = _PERIOD.match(text)
    if not m:
        return f"period {short(text)!r} is not like 5y, 18m or 30d (or permanent)"
    n, unit = int(m.group(1)), m.group(2)
    if not 1 <= n <= RETENTION_LIMITS[unit]:
        return (f"period {text!r} is out of bounds: a retention period is 1 day to 100 years "
                f"(1d … 36525d, 1m … 1200m, 1y … 100y), or permanent")
    return None


def short(value, limit: int = 60) -> str:
    """A user-given value quoted in a message: repr, cut to `limit` characters."""
    text = repr(str(value))
    return text if len(text) <= limit else text[:limit - 4] + "…'"


_KEY_LIKE = re.compile(r"^[\w\u3400-\u9fff（）()/ .-]{1,40}$")


def key_name(key) -> str:
    """A key of the user's file as a message may name it: only when it looks like a field
    name; a line of some other file read by mistake (a password hash) is never echoed."""
    text = str(key)
    return text if _KEY_LIKE.match(text) and "$" not in text else "(a key that is not a field name)"


def safe_id(value, what: str = "identifier", **where) -> str:
    """`value` if it may be used as one folder name; a QmsError otherwise."""
    text = str(value) if value is not None else ""
    if _SAFE_ID.match(text) and ".." not in text:
        return text
    raise InvalidInput(f"{what} {short(text)} is not valid: expected letters, digits, '-', '_' or '.' "
                   "(no '/', '..', spaces or control characters, at most 80 characters)", **where)


def inside(path: Path, root: Path, what: str = "path") -> Path:
    """`path` (resolved) if it lies inside `root`; a QmsError otherwise."""
    resolved = Path(path).resolve()
    base = Path(root).resolve()
    if resolved != base and base not in resolved.parents:
        raise Refused(f"{what} would lie outside {base}", file=path)
    return resolved


def control_char_error(text: str, file=None, **where) -> QmsError | None:
    """A QmsError naming line and column of the first control character in `text`, or None."""
    m = _CONTROL.search(text)
    if m is None:
        return None
    ch = m.group()
    line = text.count("\n", 0, m.start()) + 1
    col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
    name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "control character")
    where.setdefault("line", line)
    return InvalidInput(f"column {col}: control character U+{ord(ch):04X} ({name}) is not allowed; "
                    "delete it or retype the text", file=file, **where)


def read_bytes(path: Path | str, *, limit: int = MAX_BYTES, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `limit` bytes; clear errors for everything else."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotFound(f"{what} not found", file=path) from None
    except (ValueError, OSError) as exc:          # ValueError: a NUL in the name
        raise QmsError(f"cannot open the {what}: {getattr(exc, 'strerror', None) or 'invalid file name'}",
                       file=_printable(path)) from None
    if stat.S_ISDIR(st.st_mode):
        raise InvalidInput(f"is a folder, expected a {what}", file=path)
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput(f"is not a regular file (a device, pipe or socket); expected a {what}", file=path)
    if st.st_size > limit:
        raise InvalidInput(f"is {st.st_size / 1048576:.1f} MB; a {what} may be at most {limit // 1048576} MB",
                       file=path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise QmsError(f"cannot read the {what}: {exc.strerror or exc}", file=path) from None
    if len(data) > limit:
        raise InvalidInput(f"a {what} may be at most {limit // 1048576} MB", file=path)
    return data


SAVE_AS_UTF8 = "save the file as UTF-8"


def decode(data: bytes, path: Path | str, *, encoding: str | None = None, hint: str = SAVE_AS_UTF8,
           option: str = "--encoding", table: bool = False) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (what Chinese Windows saves) —
    each only when it decodes cleanly; `encoding` (the user's --encoding) instead when given.

    GB18030 decodes almost any bytes: a Big5 file reads as GB18030 mojibake (kana, Cyrillic, rare
    characters). Text whose Chinese is mostly outside GB2312 is refused rather than filed wrongly;
    so is text holding U+FFFD (saved earlier with characters its encoding could not hold). Where a
    problem lies is said as line and column, or for a CSV (`table`) as row and column."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InvalidInput(f"unknown encoding {short(encoding)!r} (e.g. utf-8, gb18030, big5, utf-16)",
                               field=option) from None
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise _undecodable(data, exc.start, path, f"not valid {encoding}", hint, encoding, table) from None
    elif data.startswith(codecs.BOM_UTF8):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _undecodable(data, exc.start, path, "not valid UTF-8 after its BOM", hint, "utf-8-sig", table) from None
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _undecodable(data, exc.start, path, "not valid UTF-16 after its BOM", hint, "utf-16", table) from None
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            first_bad = exc.start
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise _undecodable(data, first_bad, path, "neither UTF-8 nor GB18030", hint, "utf-8", table) from None
            rare = _not_gb2312(text)
            if rare:
                raise InvalidInput(f"not UTF-8, and as GB18030 it reads as nonsense ({rare}); it may be Big5 or "
                                   f"another encoding: {hint}", file=path)
    bad = text.find("\ufffd")
    if bad >= 0:
        where, line = _where(text, bad, table)
        raise InvalidInput(f"{where} holds a replacement character (U+FFFD): the file was saved with characters "
                           "its encoding could not hold; save it again from the original", file=path,
                           line=None if table else line)
    return text


def _not_gb2312(text: str) -> str:
    """'45 of 64 characters …' when the Chinese of a GB18030-decoded text is mostly what Big5 (or
    another double-byte encoding) turns into: characters outside GB2312, kana, Greek, Cyrillic."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return ""
    odd = 0
    for c in wide:
        o = ord(c)
        if 0x3040 <= o <= 0x30FF or 0x0370 <= o <= 0x04FF or 0x2500 <= o <= 0x257F or 0xE000 <= o <= 0xF8FF:
            odd += 1
            continue
        try:
            c.encode("gb2312")
        except UnicodeEncodeError:
            odd += 1
    if odd >= 3 and odd > 0.2 * len(wide):        # Big5 read as GB18030: ~70% here; real text: ~0%
        return f"{odd} of {len(wide)} characters are rare or not Chinese"
    return ""


def _where(text: str, index: int, table: bool) -> tuple[str, int]:
    """('line 3, column 17', 3), or for a CSV ('row 3, column 2', 3): the row is the file's line
    (the header is row 1) and the column counts the commas before it."""
    line = text.count("\n", 0, index) + 1
    start = text.rfind("\n", 0, index) + 1
    if table:
        return f"row {line}, column {text.count(',', start, index) + 1}", line
    return f"line {line}, column {index - start + 1}", line


def _undecodable(data: bytes, offset: int, path, what: str, hint: str, encoding: str, table: bool) -> QmsError:
    """The first byte that does not decode, by line (or row) and column."""
    head = data[:offset].decode(encoding, errors="replace")
    where, line = _where(head, len(head), table)
    return InvalidInput(f"{what}: {where} (byte 0x{data[offset]:02X}) does not decode; {hint}",
                        file=path, line=None if table else line)


def read_text(path: Path | str, *, limit: int = MAX_BYTES, what: str = "file") -> str:
    """A text input: bounded, decoded, line ends normalised, no control characters."""
    text = decode(read_bytes(path, limit=limit, what=what), path)
    text = text.replace("\r\n", "\n")
    err = control_char_error(text, file=path)
    if err is not None:
        raise err
    return text


def check_depth(value, *, file=None, limit: int = MAX_DEPTH) -> None:
    """Refuse data nested deeper than `limit` (iteratively: a deep value must not recurse here)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                raise InvalidInput(f"nested more than {limit} levels deep", file=file)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))


def _printable(path) -> str:
    return str(path).replace("\x00", "\\0")

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


def decode(data: bytes, path: Path | str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (what Chinese Windows saves)."""
    if data.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "gb18030"]
    for enc in encodings:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("not text in UTF-8, UTF-16 (with BOM) or GB18030; save the file as UTF-8", file=path)


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

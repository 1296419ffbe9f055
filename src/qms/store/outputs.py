"""Files a user asks for with `-o`: never inside the archive, written atomically, one clear
line when the folder is missing or the disk is full.

Every command that takes `-o` builds its file under a temporary name (or in a temporary
folder) and hands it to `install` (or gives `write` the bytes): the output appears whole
or not at all, and an existing file is replaced by a rename, never written through (so a
hard link to an archived file cannot be used to change it).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import uuid
from pathlib import Path

from ..base.errors import InvalidInput, NotFound, QmsError, Refused

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def check(ws, path: Path | str, suffixes: tuple[str, ...] = ()) -> Path:
    """The output path, refused (QmsError) inside the archive, onto a non-regular file or into
    a missing folder; `suffixes` (e.g. ('.docx', '.pdf')) when the format follows the name."""
    if "\x00" in str(path):
        raise InvalidInput("the output file name contains a NUL character", field="output")
    out = Path(path)
    if suffixes and out.suffix.lower() not in suffixes:
        raise InvalidInput(f"expected an output file ending in {' or '.join(suffixes)}", file=out, field="output")
    try:
        target = out.resolve()           # follows symlinks: a link into the archive is refused too
    except (OSError, RuntimeError) as exc:
        raise InvalidInput(f"cannot resolve the output path ({exc})", file=out, field="output") from None
    archive = Path(ws.archive_dir).resolve()
    if target == archive or archive in target.parents:
        raise Refused(f"refusing to write inside the archive ({ws.rel(archive)}/); "
                       "qms alone writes there — choose a file outside it", file=out, field="output")
    if target.exists():
        st = os.stat(target)
        if stat.S_ISDIR(st.st_mode):
            raise InvalidInput("is a folder; expected an output file name", file=out, field="output")
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput("is not a regular file (a device, pipe or socket); choose a file name",
                           file=out, field="output")
        if _is_archived(ws, target, st):
            raise Refused("is a hard link to a file in the archive; choose another file name",
                           file=out, field="output")
    if not target.parent.is_dir():
        raise NotFound(f"folder {target.parent} does not exist", file=out, field="output")
    return out


def _is_archived(ws, target: Path, st: os.stat_result) -> bool:
    """An existing output with more than one link might be an archived file under another
    name: compare inodes within the archive (rare, so the walk is acceptable)."""
    if st.st_nlink < 2:
        return False
    for dirpath, _dirs, files in os.walk(ws.archive_dir):
        for name in files:
            try:
                other = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            if (other.st_ino, other.st_dev) == (st.st_ino, st.st_dev):
                return True
    return False


def write(ws, path: Path | str, data: bytes, suffixes: tuple[str, ...] = ()) -> Path:
    """Write `data` to the user's output file atomically."""
    return _atomic(check(ws, path, suffixes), lambda dst: dst.write(data))


def install(ws, built: Path | str, path: Path | str, suffixes: tuple[str, ...] = ()) -> Path:
    """Copy a finished file (built in a temporary place) to the user's output atomically."""
    def fill(dst) -> None:
        with open(built, "rb") as src:
            shutil.copyfileobj(src, dst, 1 << 20)
    return _atomic(check(ws, path, suffixes), fill)


def _atomic(out: Path, fill) -> Path:
    """A temp file beside `out`, filled, fsynced and renamed into place; one clear line on failure."""
    tmp = _tmp_name(out)
    try:
        with open(tmp, "xb") as dst:
            fill(dst)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        raise _error(exc, out) from None
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _tmp_name(out: Path) -> Path:
    return out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.part")


def _error(exc: OSError, out: Path) -> QmsError:
    if exc.errno in _FULL:
        return QmsError("the disk is full (or the file is too large for it); nothing was written",
                        file=out, field="output")
    return QmsError(f"cannot write the output: {exc.strerror or exc}", file=out, field="output")


# OWASP's CSV-injection rule: a cell starting with one of these is a formula to Excel/LibreOffice
# (=HYPERLINK(…) in a title became a live link in the master list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A value for a CSV cell: text that a spreadsheet would take for a formula gets a leading
    apostrophe (shown as text, never evaluated); anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def xlsx_text_cells(cells) -> None:
    """Cells of an openpyxl row whose text starts like a formula are stored as text (type s):
    openpyxl would otherwise write `=…` as a formula."""
    for cell in cells:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
            cell.data_type = "s"

""".docx (or any Writer format) -> PDF/A-2b with LibreOffice headless, in batches.

Start-up is most of LibreOffice's cost (~1 s), so a call converts all its files
through ONE soffice process. Inputs are linked into a private folder under
unique names (two records may both be called 服务报告.docx) and the PDFs are
moved to their destinations only when every file converted: a call writes all
its outputs or none, and never a partial file.

Each process keeps one LibreOffice profile (UserInstallation) for its lifetime:
concurrent processes never share a profile (LibreOffice would hand the job to
the other instance), and reusing it saves the profile creation (~0.1-0.2 s).
Chinese font names (宋体, 黑体 ...) are mapped to the SC faces of Noto CJK by the
packaged fonts.conf, passed as FONTCONFIG_FILE.

Where a LibreOffice is kept running (qms.adapters.resident: `qms serve`, batches, or
convert.resident: on), to_pdf hands the files to it instead; this path is the fallback.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

from qms.adapters import resident
from qms.base.errors import NotFound, QmsError, ToolMissing
from qms.store.archive import fsync_path
from qms.store.journal import crashpoint
import ctypes

INSTALL_HINT = ("apt-get install -y --no-install-recommends "
                "libreoffice-writer-nogui fonts-noto-cjk")
FONTS_CONF = Path(__file__).with_name("fonts.conf")

# PDF/A-2b: SelectPdfVersion 2 (the JSON filter options need LibreOffice >= 7.4).
_PDFA_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
_PDF_FILTER = "pdf:writer_pdf_Export"
_RESTART_EXIT = 81  # soffice asks for a restart after first-time profile set-up

# LibreOffice 7.4 stops silently (exit status 0) after 243 files in one --convert-to call:
# never hand it more than this many at once. QMS_CONVERT_CHUNK lowers it (tests prove chunks).
CHUNK = 100


# A caller that works on each converted part meanwhile (an import stamps its QRs while LibreOffice
# converts the next part) hands the resident converter this many files at a time: a call costs a
# round trip on its pipe, and the last part's work is what is left to wait for at the end.
PART = 10


def part_size(n_files: int) -> int:
    """How many of n_files to hand to_pdf at once when the caller overlaps work with the
    conversion: PART when the resident converter will serve them, all of them for
    `soffice --convert-to` (there a call costs a LibreOffice start, ~1 s)."""
    if n_files > 1 and soffice_path() is not None and resident.wanted(n_files):
        return min(n_files, PART)
    return n_files


def chunk_size() -> int:
    try:
        return max(1, min(CHUNK, int(os.environ.get("QMS_CONVERT_CHUNK", CHUNK))))
    except ValueError:
        return CHUNK


_lock = threading.Lock()           # one soffice at a time per process (one profile)
_profile: Path | None = None
_profile_pid: int | None = None


def soffice_path() -> str | None:
    """The LibreOffice executable: $QMS_SOFFICE, else soffice/libreoffice on PATH or the usual places."""
    override = os.environ.get("QMS_SOFFICE")
    if override:
        return override if Path(override).is_file() else None
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for pattern in ("/usr/lib/libreoffice/program/soffice", "/opt/libreoffice*/program/soffice",
                    "/Applications/LibreOffice.app/Contents/MacOS/soffice"):
        for found in sorted(glob.glob(pattern), reverse=True):
            if os.access(found, os.X_OK):
                return found
    return None


def soffice_available() -> bool:
    return soffice_path() is not None


def to_pdf(docx_paths: list[Path], out_paths: list[Path] | None = None, *,
           pdfa: bool = True, timeout: float | None = None, fallback: bool = True) -> list[Path]:
    """Convert documents to PDF (PDF/A-2b by default) in one LibreOffice run.

    The resident converter (qms.adapters.resident) does it when it is wanted and can run; else,
    or when it dies or times out part-way and `fallback` is true, one `soffice --convert-to` run.
    With `fallback` false a lost converter raises resident.ConverterLost (a filing then leaves
    its PDF pending rather than wait for a cold LibreOffice).

    Default output: beside each input, suffix .pdf. `timeout` bounds the whole
    run in seconds; None means a generous automatic limit (60 s + 30 s a file)
    so a hung soffice cannot hang the caller. Returns the output paths.
    Raises QmsError naming the input when soffice is missing, a file is
    missing, or a file did not convert — and then writes no output at all.
    """
    sources = [Path(p) for p in docx_paths]
    if out_paths is None:
        targets = [p.with_suffix(".pdf") for p in sources]
    else:
        targets = [Path(p) for p in out_paths]
        if len(targets) != len(sources):
            raise ValueError(f"{len(sources)} inputs but {len(targets)} output paths")
    if len({t.resolve() for t in targets}) != len(targets):
        raise ValueError("two inputs would be converted to the same output path")
    if not sources:
        return []
    for src in sources:
        if not src.is_file():
            raise NotFound("document to convert not found", file=src)
    exe = soffice_path()
    if exe is None:
        raise ToolMissing("LibreOffice (soffice) is needed to make PDFs and was not found; "
                       f"install it: {INSTALL_HINT}")
    if resident.wanted(len(sources)):
        try:
            return _resident_to_pdf(exe, sources, targets, pdfa=pdfa,
                                    timeout=timeout or resident_timeout(len(sources)))
        except resident.Unavailable:
            pass                       # not here (no python3-uno): the soffice run below
        except resident.ConverterLost:
            if not fallback:
                raise
    if timeout is None:
        timeout = 60.0 + 30.0 * len(sources)

    with _lock, tempfile.TemporaryDirectory(prefix="qms-convert-") as work:
        indir, outdir = Path(work, "in"), Path(work, "out")
        indir.mkdir()
        outdir.mkdir()
        # Unique names: same-named inputs from different folders must not collide.
        names = [f"d{i:05d}{src.suffix.lower() or '.docx'}" for i, src in enumerate(sources)]
        for src, name in zip(sources, names):
            _link_or_copy(src.resolve(), indir / name)
        size = chunk_size()
        for start in range(0, len(names), size):
            part = slice(start, start + size)
            result = _run_soffice(exe, indir, outdir, names[part], pdfa=pdfa,
                                  timeout=timeout * len(names[part]) / len(names) + 60.0,
                                  sources=sources[part])
            bad = [src for src, name in zip(sources[part], names[part])
                   if not _looks_complete(outdir / (Path(name).stem + ".pdf"))]
            if bad:
                raise QmsError(_failure_message(bad, result), file=bad[0])
        produced = [outdir / (Path(n).stem + ".pdf") for n in names]
        bad = [src for src, pdf in zip(sources, produced) if not _looks_complete(pdf)]
        if bad:
            raise QmsError(_failure_message(bad, result), file=bad[0])
        _install(produced, targets)
    return targets


def resident_timeout(n_files: int) -> float:
    """A resident conversion's time-out: a record takes well under a second once LibreOffice runs."""
    return 30.0 + 10.0 * n_files


def warm_up() -> None:
    """Start this process's resident converter in the background (`qms serve`)."""
    exe = soffice_path()
    if exe is not None and resident.available():
        resident.warm_up(exe)


def _resident_to_pdf(exe: str, sources: list[Path], targets: list[Path], *, pdfa: bool,
                     timeout: float) -> list[Path]:
    """Through the resident converter into a private folder, then installed all-or-none as below."""
    with tempfile.TemporaryDirectory(prefix="qms-convert-") as work:
        produced = [Path(work, f"d{i:05d}.pdf") for i in range(len(sources))]
        size = chunk_size()
        for start in range(0, len(sources), size):
            part = slice(start, start + size)
            resident.convert(exe, list(zip(sources[part], produced[part])), pdfa=pdfa,
                             timeout=timeout * len(sources[part]) / len(sources))
        bad = [src for src, pdf in zip(sources, produced) if not _looks_complete(pdf)]
        if bad:
            raise QmsError("LibreOffice could not convert this file to PDF; is it a valid, unprotected "
                           "Word document?", file=bad[0])
        _install(produced, targets)
    return targets


# --------------------------------------------------------------------------- internals

def _profile_dir() -> Path:
    """This process's LibreOffice profile: created on first use, removed at exit.

    Re-created after fork, so a child never shares its parent's profile.
    """
    global _profile, _profile_pid
    # Write commands point tempfile at archive/.tmp/ (emptied by recovery): a profile made there
    # by an earlier command of this process is gone once that command ended.
    if _profile is None or _profile_pid != os.getpid() or not _profile.parent.is_dir():
        _profile = Path(tempfile.mkdtemp(prefix=f"qms-lo-profile-{os.getpid()}-"))
        _profile_pid = os.getpid()
        atexit.register(shutil.rmtree, _profile, True)
    return _profile


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.symlink(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _run_soffice(exe: str, indir: Path, outdir: Path, names: list[str], *, pdfa: bool,
                 timeout: float, sources: list[Path]) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["FONTCONFIG_FILE"] = str(FONTS_CONF)
    cmd = [exe, "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
           f"-env:UserInstallation={_profile_dir().as_uri()}",
           "--convert-to", _PDFA_FILTER if pdfa else _PDF_FILTER,
           "--outdir", str(outdir), *names]
    for _attempt in range(2):
        # A new session so a timeout can kill the whole tree (the soffice
        # script -> oosplash -> soffice.bin), not only the script.
        proc = subprocess.Popen(cmd, cwd=indir, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace", start_new_session=True,
                                preexec_fn=_die_with_parent)
        crashpoint("converting")
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            first = sources[0] if len(sources) == 1 else None
            raise QmsError(f"LibreOffice did not finish converting {len(sources)} file(s) "
                           f"within {timeout:g} s and was stopped",
                           file=first) from None
        finally:
            if proc.poll() is None:  # e.g. KeyboardInterrupt: leave no soffice behind
                _kill_group(proc)
        result = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
        if result.returncode != _RESTART_EXIT:
            return result
    return result


def _die_with_parent() -> None:
    """In the child: SIGKILL when qms dies (PR_SET_PDEATHSIG), so a killed command leaves no
    soffice behind; what soffice itself forks is killed by recovery (its profile is in .tmp)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _looks_complete(pdf: Path) -> bool:
    """A PDF LibreOffice finished writing: header at the start, %%EOF at the end."""
    try:
        size = pdf.stat().st_size
        if size < 64:
            return False
        with open(pdf, "rb") as fh:
            head = fh.read(8)
            fh.seek(max(0, size - 1024))
            tail = fh.read()
    except OSError:
        return False
    return head.startswith(b"%PDF-") and b"%%EOF" in tail


def _failure_message(bad: list[Path], result: subprocess.CompletedProcess) -> str:
    msg = "LibreOffice could not convert this file to PDF"
    if len(bad) > 1:
        others = ", ".join(str(p) for p in bad[1:4]) + (" ..." if len(bad) > 4 else "")
        msg += f" (nor {len(bad) - 1} more: {others})"
    details = [line.strip() for line in (result.stderr or "").splitlines()
               if line.strip().lower().startswith("error")]
    if details:
        msg += ": " + details[0].split(":", 1)[-1].strip()  # "Error: source file could not be loaded"
    elif result.returncode:
        msg += f" (soffice exit status {result.returncode})"
    return msg + "; is it a valid, unprotected Word document?"


def _install(produced: list[Path], targets: list[Path]) -> None:
    """Move finished PDFs to their destinations: stage all, then rename all.

    Each is copied to a temp name in its destination folder and fsynced; only
    when every copy succeeded are they renamed into place (os.replace), so a
    failure part-way (disk full) leaves no output and no stray temp file.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for pdf, target in zip(produced, targets):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
            staged.append((tmp, target))
            with open(tmp, "xb") as out, open(pdf, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for folder in {t.parent for t in targets}:
        fsync_path(folder)

"""A resident LibreOffice: started once, kept warm, supervised; one conversion at a time.

Starting LibreOffice is most of a conversion's cost (~1 s of ~1.2 s for a filed record). This
module keeps one running per process: Debian's /usr/bin/python3 (which has `uno`, from
python3-uno) runs `uno_worker.py`, which starts LibreOffice on a free localhost port with its own
profile, connects over UNO and converts what it is asked on its stdin pipe. The pipe, not a
network server, carries the requests: only the owning process can ask, and when that process
dies the worker sees end-of-file and goes, taking LibreOffice with it (PR_SET_PDEATHSIG).

Supervision: a request that gets no answer within its time-out, or whose worker or LibreOffice
died, kills the worker's whole process group and raises ConverterLost; the next conversion starts
a new one. A worker that cannot start (no python3-uno) raises Unavailable and is not tried again
for a while: the caller (convert.to_pdf) then runs `soffice --convert-to` as before.

The profile lives under the system temp folder, not archive/.tmp/: every write's recovery empties
archive/.tmp/ and kills the processes using it, which would kill the converter of another
`qms serve` worker process. Folders of dead owners are swept when a converter starts.

Which conversions use it (`convert.resident` in config.yaml, set with `configure`):
  off   never;
  on    every conversion, started on first use;
  auto  (default) where it pays: in a process that keeps it (`qms serve`), for a batch (more than
        one file in a call), or when one is already running; a single conversion in a one-shot
        command runs `soffice --convert-to`, since starting a resident one would only add its start-up.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from qms.base.errors import QmsError
from qms.store.journal import crashpoint

PYTHON = "/usr/bin/python3"          # Debian's, where python3-uno installs `uno`
WORKER = Path(__file__).with_name("uno_worker.py")
FONTS_CONF = Path(__file__).with_name("fonts.conf")
MODES = ("auto", "on", "off")
START_TIMEOUT = 90.0                 # LibreOffice's first start with a new profile, on a loaded machine
RETRY_AFTER = 60.0                   # a converter that could not start is not tried again for this long


class ConverterLost(QmsError):
    """The resident converter died or did not answer in time during a conversion (it is stopped;
    the next conversion starts a new one)."""


class Unavailable(QmsError):
    """No resident converter can run here (no /usr/bin/python3 with uno, or it did not start)."""


@dataclass
class Settings:
    mode: str = "auto"
    keep: bool = False               # a long-lived process (qms serve): start it and keep it warm


@dataclass
class _Worker:
    proc: subprocess.Popen
    office_pid: int
    profile: Path
    owner: int                       # the pid that started it (a forked child starts its own)


settings = Settings()
_lock = threading.Lock()             # one conversion at a time per converter (LibreOffice is single-threaded)
_worker: _Worker | None = None
_failed_at = 0.0
starts = 0                           # converters started by this process (tests and the bench read it)


def configure(mode: str | None = None, *, keep: bool | None = None) -> None:
    """Set from config.yaml's convert.resident by the interfaces (CLI, web) as they open a workspace."""
    if mode is not None:
        if mode not in MODES:
            raise ValueError(f"convert.resident must be one of {', '.join(MODES)}, not {mode!r}")
        settings.mode = mode
    if keep is not None:
        settings.keep = keep


def available() -> bool:
    recently_failed = _failed_at and time.monotonic() - _failed_at < RETRY_AFTER
    return settings.mode != "off" and not recently_failed and os.access(PYTHON, os.X_OK)


def wanted(n_files: int) -> bool:
    """Whether a call converting n_files should go to the resident converter."""
    if not available():
        return False
    return settings.mode == "on" or settings.keep or n_files > 1 or running()


def running() -> bool:
    w = _worker
    return w is not None and w.owner == os.getpid() and w.proc.poll() is None


def office_pid() -> int | None:
    """LibreOffice's pid of this process's converter (tests kill it)."""
    w = _worker
    return w.office_pid if w is not None and w.owner == os.getpid() else None


def worker_pid() -> int | None:
    w = _worker
    return w.proc.pid if w is not None and w.owner == os.getpid() else None


def convert(soffice: str, pairs: list[tuple[Path, Path]], *, pdfa: bool, timeout: float) -> None:
    """Convert each (source, output) pair; raises QmsError naming the file LibreOffice could not
    convert, ConverterLost when the converter died or timed out, Unavailable when none can start."""
    with _lock:
        w = _ensure(soffice)
        request = {"files": [[str(s.resolve()), str(o.resolve())] for s, o in pairs], "pdfa": pdfa}
        try:
            w.proc.stdin.write(json.dumps(request) + "\n")
            w.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            _stop_locked()
            raise ConverterLost("the resident LibreOffice converter had stopped; it is restarted on the "
                                "next conversion") from None
        crashpoint("converting")
        answer = _read_answer(w, timeout)
        if answer is None:
            _stop_locked()
            raise ConverterLost(f"the resident LibreOffice converter did not finish {len(pairs)} file(s) "
                                f"within {timeout:g} s and was stopped")
        if "lost" in answer or "ok" not in answer and "error" not in answer:
            _stop_locked()
            raise ConverterLost(f"the resident LibreOffice converter stopped: {answer.get('lost') or answer}")
        if "error" in answer:
            src = pairs[int(answer.get("index", 0))][0]
            said = str(answer["error"]).split(" at ./")[0]       # not LibreOffice's source file and line
            raise QmsError(f"LibreOffice could not convert this file to PDF: {said}; "
                           "is it a valid, unprotected Word document?", file=src)


def warm_up(soffice: str) -> None:
    """Start the converter now (in a background thread) so the first conversion finds it warm."""
    def start() -> None:
        try:
            with _lock:
                _ensure(soffice)
        except QmsError:
            pass
    threading.Thread(target=start, name="qms-converter-warm-up", daemon=True).start()


def stop() -> None:
    with _lock:
        _stop_locked()


# --------------------------------------------------------------------------- internals

def _ensure(soffice: str) -> _Worker:
    global _worker, _failed_at, starts
    w = _worker
    if w is not None and w.owner == os.getpid() and w.proc.poll() is None:
        return w
    if w is not None and w.owner == os.getpid():
        _stop_locked()                 # dead: reap it, kill what is left of its group
    elif w is not None:
        _worker = None                 # a forked child's copy of the parent's: not ours to stop
    office_bin = _office_binary(soffice)
    if office_bin is None or not os.access(PYTHON, os.X_OK):
        _failed_at = time.monotonic()
        raise Unavailable(f"no resident converter: needs {PYTHON} with python3-uno and soffice.bin")
    base = _home()
    _sweep(base)
    profile = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base))
    # Debian's python with its own modules: none of the venv's paths
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["FONTCONFIG_FILE"] = str(FONTS_CONF)
    proc = subprocess.Popen([PYTHON, str(WORKER), office_bin, str(profile)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env, start_new_session=True, close_fds=True)
    w = _Worker(proc=proc, office_pid=0, profile=profile, owner=os.getpid())
    _worker = w
    hello = _read_answer(w, START_TIMEOUT)
    if not hello or not hello.get("ready"):
        _stop_locked()
        _failed_at = time.monotonic()
        raise Unavailable(f"the resident LibreOffice converter did not start: "
                          f"{(hello or {}).get('lost', 'no answer')}")
    w.office_pid = int(hello["office"])
    starts += 1
    return w


def _read_answer(w: _Worker, timeout: float) -> dict | None:
    """One JSON line from the worker within `timeout` s; None at time-out; {"lost": …} at EOF."""
    deadline = time.monotonic() + timeout
    fd = w.proc.stdout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            line = fd.readline()
            if not line:
                return {"lost": "the converter process ended"}
            try:
                return json.loads(line)
            except ValueError:
                return {"lost": f"unexpected output {line[:80]!r}"}


def _stop_locked() -> None:
    global _worker
    w, _worker = _worker, None
    if w is None or w.owner != os.getpid():
        return
    try:
        w.proc.stdin.close()           # a live worker closes LibreOffice itself on end-of-file
    except OSError:
        pass
    try:
        w.proc.wait(timeout=3 if w.proc.poll() is None and w.office_pid else 0.1)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(w.proc.pid, signal.SIGKILL)    # the worker's group: LibreOffice too, whatever state
    except (ProcessLookupError, PermissionError):
        pass
    if w.office_pid:
        try:
            os.kill(w.office_pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    w.proc.wait()
    w.proc.stdout.close()
    shutil.rmtree(w.profile, ignore_errors=True)


def _office_binary(soffice: str) -> str | None:
    """soffice.bin beside the `soffice` script: run directly so it is the worker's own child
    (oosplash would put a process between them that PR_SET_PDEATHSIG does not reach)."""
    real = Path(os.path.realpath(soffice))
    for cand in (real.with_name("soffice.bin"), real):
        if cand.is_file() and os.access(cand, os.X_OK) and cand.name == "soffice.bin":
            return str(cand)
    return None


def _home() -> Path:
    """A folder of this user's converter profiles, under the system temp folder (not tempfile's
    current one, which write commands point at archive/.tmp/)."""
    root = Path(os.environ.get("TMPDIR") or "/tmp")
    base = root / f"qms-converter-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    return base


def _sweep(base: Path) -> None:
    """Profiles left by processes that were killed: their owner's pid is gone."""
    for child in base.iterdir():
        pid = child.name.split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(child, ignore_errors=True)


atexit.register(stop)

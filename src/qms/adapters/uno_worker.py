"""The resident converter's worker: run by Debian's /usr/bin/python3 (it has `uno`), never imported.

    /usr/bin/python3 uno_worker.py SOFFICE_BIN PROFILE_DIR

Starts LibreOffice listening on a free localhost port (its own profile), connects to it over
UNO and converts what its owner (qms.adapters.resident) asks on stdin, one JSON line a request:

    {"files": [[IN, OUT], ...], "pdfa": true}  ->  {"ok": true} | {"error": "...", "index": i}
                                                   | {"lost": "..."} (LibreOffice is gone; we exit)

The first line written is {"ready": true, "office": PID} once LibreOffice answers. stdin at EOF
(qms exited or let go) ends the worker, and LibreOffice dies with it (PR_SET_PDEATHSIG), so a
kill -9 of either side leaves nothing running. Writes only to the one stdout pipe it answers on.
"""

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

RESTART_EXIT = 81          # LibreOffice asks to be started again after setting up a new profile
START_TIMEOUT = 60.0


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


class Office:
    def __init__(self, soffice_bin: str, profile: str):
        self.soffice_bin = soffice_bin
        self.profile_url = uno.systemPathToFileUrl(os.path.abspath(profile))
        self.proc = None
        self.desktop = None

    def start(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        for _attempt in range(3):
            port = _free_port()
            self.proc = subprocess.Popen(
                [self.soffice_bin, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
                 "--nolockcheck", "--nofirststartwizard", f"-env:UserInstallation={self.profile_url}",
                 f"--accept=socket,host=127.0.0.1,port={port},tcpNoDelay=1;urp;StarOffice.ComponentContext"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent)
            local = uno.getComponentContext()
            resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
            while True:
                try:
                    ctx = resolver.resolve(f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext")
                    self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
                    return
                except NoConnectException:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
            self.stop()
            if time.monotonic() > deadline:
                break
        raise RuntimeError("LibreOffice did not start listening")

    def alive(self) -> bool:
        """LibreOffice runs and answers: a killed one may not be reaped yet, but its bridge is gone."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            self.desktop.getCurrentFrame()
        except Exception:
            return False
        return True

    def convert(self, src: str, dst: str, pdfa: bool) -> None:
        doc = self.desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(src)), "_blank", 0,
                                                (_prop("Hidden", True), _prop("ReadOnly", True)))
        if doc is None:
            raise ValueError("source file could not be loaded")
        try:
            data = uno.Any("[]com.sun.star.beans.PropertyValue",
                           (_prop("SelectPdfVersion", 2),) if pdfa else ())     # 2: PDF/A-2b
            uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(os.path.abspath(dst)),
                                           (_prop("FilterName", "writer_pdf_Export"), _prop("FilterData", data))))
        finally:
            doc.close(True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.desktop.terminate()
                self.proc.wait(timeout=5)
            except Exception:
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def main() -> int:
    soffice_bin, profile = sys.argv[1], sys.argv[2]
    owner = os.getppid()
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)             # anything else printing goes to stderr, never into the answers

    def say(obj) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    office = Office(soffice_bin, profile)
    try:
        try:
            office.start()
        except Exception as exc:
            say({"lost": f"LibreOffice did not start: {exc}"})
            return 1
        say({"ready": True, "office": office.proc.pid})
        for line in sys.stdin:
            req = json.loads(line)
            if not office.alive():
                say({"lost": "LibreOffice had stopped"})
                return 1
            for i, (src, dst) in enumerate(req["files"]):
                if os.getppid() != owner:
                    return 1           # qms was killed mid-batch: write nothing more into its temp folder
                if not os.path.isdir(os.path.dirname(dst)):
                    say({"error": "the output folder is gone", "index": i})
                    break
                try:
                    office.convert(src, dst, bool(req.get("pdfa", True)))
                except Exception as exc:
                    if not office.alive():
                        say({"lost": f"LibreOffice stopped while converting ({type(exc).__name__})"})
                        return 1
                    say({"error": str(getattr(exc, "Message", "") or exc) or type(exc).__name__, "index": i})
                    break
            else:
                say({"ok": True})
    except (BrokenPipeError, OSError):
        return 1                   # qms went while we started or answered
    finally:
        office.stop()
        shutil.rmtree(profile, ignore_errors=True)   # also when qms went without stopping us (SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main())

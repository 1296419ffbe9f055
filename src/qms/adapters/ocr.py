"""Every OCRmyPDF/tesseract call of qms: a searchable PDF/A and its plain-text sidecar.

Run as a child process (`python -m ocrmypdf`): OCR takes seconds a page, uses its own worker
processes, and a crash or kill of it must never take a qms command's state with it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

LANGUAGES = "chi_sim+eng"


class OcrFailed(Exception):
    pass


def available() -> str | None:
    """None when OCR can run here; else what is missing (one line)."""
    if not shutil.which("tesseract"):
        return "tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)"
    out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout
    if "chi_sim" not in out.split():
        return "tesseract has no Simplified Chinese data (apt-get install tesseract-ocr-chi-sim)"
    return None


def ocr_pdf(src: Path, out: Path, sidecar: Path, *, timeout: float = 600) -> None:
    """`out`: `src` with a text layer (PDF/A-2b, made without Ghostscript); `sidecar`: the text.
    Pages that already carry text are left as they are (--skip-text)."""
    cmd = [sys.executable, "-m", "ocrmypdf", "-l", LANGUAGES, "--skip-text", "--output-type", "pdfa-2",
           "--pdfa-backend", "internal", "--sidecar", str(sidecar), "--jobs", "1", "--quiet",
           str(src), str(out)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise OcrFailed(f"OCR took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise OcrFailed(last[:300])

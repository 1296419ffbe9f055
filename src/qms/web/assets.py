"""Static files (CSS, JS, icons) cached by the browser: pages link `/static/app.css?v=<hash>`, and a
request carrying the file's current hash is answered `public, max-age=31536000, immutable` — a
changed file has another hash, hence another URL.  Without the hash (an old bookmark, a hand-typed
URL) the file is revalidated by its ETag (Starlette answers 304).  Pages, the API and downloads stay
`private, no-store` (app.SecurityHeaders)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/static/"
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"public, no-cache"


@lru_cache(maxsize=64)
def _digest(name: str, mtime_ns: int) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def version(name: str) -> str:
    """The content hash of static/NAME ('' for a file that is not there)."""
    path = STATIC_DIR / name
    try:
        return _digest(name, path.stat().st_mtime_ns)
    except (FileNotFoundError, NotADirectoryError):
        return ""


def static_url(name: str) -> str:
    """The URL a template links: cached for a year, changed whenever the file changes."""
    v = version(name)
    return f"{PREFIX}{name}?v={v}" if v else f"{PREFIX}{name}"


def cache_control(path: str, query_string: bytes) -> bytes | None:
    """The Cache-Control of a /static/ response (None: not a static file)."""
    if not path.startswith(PREFIX):
        return None
    name = path[len(PREFIX):]
    v = version(name) if "/" not in name else ""
    return IMMUTABLE if v and query_string == f"v={v}".encode() else REVALIDATE

"""ISO dates in data and CLI; Chinese style (2026年03月20日) in documents."""

from __future__ import annotations

import datetime as dt
import re

from .errors import QmsError
from .input_limits import short
from zoneinfo import ZoneInfo

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Dates as people type them in Excel or a form: 2026/12/1, 2026-12-1, 2026.12.1, 2026年12月1日
# (ASCII digits only: ２０２６ typed full-width is refused, as before)
_WRITTEN_DATE = re.compile(r"^([0-9]{4})\s*(?:([-/.])\s*([0-9]{1,2})\s*\2|年\s*([0-9]{1,2})\s*月)\s*([0-9]{1,2})"
                           r"\s*(?(4)日?|)$")
_WRITTEN_TIME = re.compile(r"^(.+?)(?:\s+|T)([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$")
DATE_FORMS = "YYYY-MM-DD (also 2026/12/1 or 2026年12月1日)"
# Records and documents of a quality system: anything outside is a typo (9999-12-31 plus a
# 5-year retention would not even be a date).
MIN_YEAR, MAX_YEAR = 1900, 2999


def _in_range(day, text, **where):
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise QmsError(f"{text!r} is out of range: expected a year from {MIN_YEAR} to {MAX_YEAR}", **where)
    return day


def parse_date(value, *, file=None, field=None, line=None, row=None) -> dt.date:
    """Parse an ISO date (YAML may already give a date). Impossible dates are errors."""
    where = {"file": file, "field": field, "line": line, "row": row}
    if isinstance(value, dt.datetime):
        return _in_range(value.date(), value.date().isoformat(), **where)
    if isinstance(value, dt.date):
        return _in_range(value, value.isoformat(), **where)
    text = str(value).strip()
    if len(text) > 40:
        raise QmsError(f"expected a date as YYYY-MM-DD, got {len(text)} characters", **where)
    if not _ISO_DATE.match(text):
        m = _WRITTEN_DATE.match(text)
        if not m:
            raise QmsError(f"expected a date as {DATE_FORMS}, got {text!r}", file=file, field=field, line=line,
                           row=row)
        iso = f"{m.group(1)}-{int(m.group(3) or m.group(4)):02d}-{int(m.group(5)):02d}"
        try:
            return _in_range(dt.date.fromisoformat(iso), text, **where)
        except ValueError:
            raise QmsError(f"{text!r} is not a real calendar date", **where) from None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise QmsError(f"{text!r} is not a real calendar date", file=file, field=field, line=line, row=row) from None
    return _in_range(day, text, **where)


def parse_datetime(value, *, file=None, field=None, line=None, row=None) -> dt.datetime:
    """Parse 'YYYY-MM-DD HH:MM[:SS]' or 'YYYY-MM-DDTHH:MM[:SS]'."""
    where = {"file": file, "field": field, "line": line, "row": row}
    if isinstance(value, dt.datetime):
        return _in_range(value, value.isoformat(), **where)
    if isinstance(value, dt.date):
        return _in_range(dt.datetime.combine(value, dt.time()), value.isoformat(), **where)
    text = str(value).strip()
    written = _WRITTEN_TIME.match(text)
    if written and not _ISO_DATE.match(written.group(1)) and _WRITTEN_DATE.match(written.group(1).strip()):
        day = parse_date(written.group(1), **where)    # 2026/12/1 9:30 → 2026-12-01T09:30
        text = f"{day.isoformat()}T{int(written.group(2)):02d}:{written.group(3)}" + (
            f":{written.group(4)}" if written.group(4) else "")
    text = text.replace(" ", "T", 1)
    try:
        if len(text) > 40:
            raise ValueError
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise QmsError(f"expected a date and time as YYYY-MM-DD HH:MM, got {short(value)}", **where) from None
    return _in_range(moment, text, **where)


# The one clock. Everything that asks what time it is asks here, so a test moves time for the
# whole product at once (time_machine in process, faketime for a subprocess); nothing else does.

def now(tz: dt.tzinfo | None = None) -> dt.datetime:
    """Now, aware: in `tz`, else in the machine's local zone."""
    return dt.datetime.now(tz) if tz is not None else dt.datetime.now().astimezone()


def timestamp() -> float:
    """Seconds since the epoch: session expiry, lockouts, password ages."""
    return now().timestamp()


def today() -> dt.date:
    return now().date()


def now_iso() -> str:
    """Local time with offset, to the second: what the audit log and signatures carry."""
    return now().isoformat(timespec="seconds")


def cn_date(value: dt.date | str | None, locale: str = "zh-CN") -> str:
    """2026-03-13 → 2026年03月13日 (zh-CN); blank stays blank."""
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if locale.lower().startswith("zh"):
        return f"{value.year}年{value.month:02d}月{value.day:02d}日"
    return value.isoformat()


# ------------------------------------------------------------------ times a person reads

def zone_of(where=None):
    """The zone times are shown in: a Workspace's `timezone` (config.yaml), an IANA name, or None
    (blank) for the machine's own zone. The journal keeps ISO times with their offset; this only
    decides how they are printed."""
    name = getattr(getattr(where, "config", None), "timezone", where)
    if not name:
        return None
    return ZoneInfo(str(name))


def local_time(value, where=None, *, chinese: bool = False, seconds: bool = False) -> str:
    """An ISO timestamp as a person reads it, in the workspace's zone: 2026-12-03 16:26, or
    2026年12月03日 16:26 (`chinese`). The one formatter of times for CLI text, web pages, PDFs,
    certificates and messages; `where` is a Workspace or a zone name. Blank stays blank; a bare
    date stays a date; anything unparseable is shown as it is."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        t = value
    else:
        text = str(value)
        if len(text) <= 10:
            return cn_date(text) if chinese else text
        try:
            t = dt.datetime.fromisoformat(text)
        except ValueError:
            return text
    if t.tzinfo is not None:
        t = t.astimezone(zone_of(where))
    day = cn_date(t.date()) if chinese else t.date().isoformat()
    return f"{day} {t:%H:%M:%S}" if seconds else f"{day} {t:%H:%M}"

"""ISO dates in data and CLI; Chinese style (2026年03月20日) in documents."""

from __future__ import annotations

import datetime as dt
import re

from .errors import QmsError

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value, *, file=None, field=None, line=None, row=None) -> dt.date:
    """Parse an ISO date (YAML may already give a date). Impossible dates are errors."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not _ISO_DATE.match(text):
        raise QmsError(f"expected a date as YYYY-MM-DD, got {text!r}", file=file, field=field, line=line, row=row)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise QmsError(f"{text!r} is not a real calendar date", file=file, field=field, line=line, row=row) from None


def parse_datetime(value, *, file=None, field=None, line=None, row=None) -> dt.datetime:
    """Parse 'YYYY-MM-DD HH:MM[:SS]' or 'YYYY-MM-DDTHH:MM[:SS]'."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    text = str(value).strip().replace(" ", "T", 1)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise QmsError(f"expected a date and time as YYYY-MM-DD HH:MM, got {value!r}",
                       file=file, field=field, line=line, row=row) from None


def today() -> dt.date:
    return dt.date.today()


def now_iso() -> str:
    """Local time with offset, to the second: what the audit log and signatures carry."""
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def cn_date(value: dt.date | str | None, locale: str = "zh-CN") -> str:
    """2026-03-13 → 2026年03月13日 (zh-CN); blank stays blank."""
    if not value:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if locale.lower().startswith("zh"):
        return f"{value.year}年{value.month:02d}月{value.day:02d}日"
    return value.isoformat()

"""Small helpers shared by the route modules: query parameters and paging."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from starlette.requests import Request

from ...base.dates import parse_date
from ...base.errors import InvalidInput
from ...base.paging import DEFAULT_LIMIT, MAX_LIMIT, Page
from starlette.concurrency import run_in_threadpool

PAGE_SIZE = 20


def arg(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value or None


def date_arg(request: Request, name: str) -> dt.date | None:
    value = arg(request, name)
    return parse_date(value, field=name) if value else None


def int_arg(request: Request, name: str, default: int, lo: int = 0, hi: int = 10_000) -> int:
    value = arg(request, name)
    if value is None:
        return default
    try:
        return max(lo, min(hi, int(value)))
    except ValueError:
        raise InvalidInput(f"expected a whole number, got {value!r}", field=name) from None


async def json_body(request: Request, shape: str) -> dict:
    """The request's JSON object; anything else is one line naming the `shape` expected."""
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInput(f"expected a JSON body {shape}") from None
    if not isinstance(body, dict):
        raise InvalidInput(f"expected a JSON body {shape}")
    return body


def in_thread(fn, *args, **kw):
    """Run a blocking library call off the event loop."""
    return run_in_threadpool(fn, *args, **kw)


def limit_offset(request: Request) -> tuple[int, int]:
    """?limit= (default 50, at most 500: more is answered with 500) and ?offset= of a JSON list."""
    return (int_arg(request, "limit", DEFAULT_LIMIT, lo=1, hi=MAX_LIMIT),
            int_arg(request, "offset", 0, lo=0, hi=10**9))


def page_json(request: Request, page: Page) -> dict:
    """{total, items, next}: `next` the URL of the next page (same filters, same limit), or null."""
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}

    def url(offset: int) -> str:
        return f"{request.url.path}?" + urlencode({**params, "limit": page.limit, "offset": offset})
    return page.to_json(url)

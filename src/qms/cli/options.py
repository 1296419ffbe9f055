"""What every command module shares: option decorators, the one output helper, progress bars."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import click

from ..base.errors import InvalidInput
from .env import Env
from ..domain.labels import chinese
from ..domain.results import Change
from ..base.textfmt import table
from ..base.dates import parse_date
from ..base.paging import DEFAULT_LIMIT, MAX_LIMIT, Page

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


class FilePath(click.Path):
    """click.Path, but a NUL in the name is one clear line (click's own check stats the path
    and raises ValueError)."""

    def convert(self, value, param, ctx):
        if "\x00" in str(value):
            raise InvalidInput("the file name contains a NUL character", field=param.name if param else None)
        return super().convert(value, param, ctx)


def output_option(help: str, *, required: bool = False):
    """-o/--output FILE (a file qms writes; never inside the archive, see outputs.py)."""
    return click.option("-o", "--output", required=required, type=FilePath(), help=help)


def _chinese() -> bool:
    """Whether the current command's workspace reads Chinese (locale zh-CN): terminal tables follow it."""
    ctx = click.get_current_context(silent=True)
    env = ctx.find_object(Env) if ctx else None
    try:
        return chinese(env.ws.config.locale) if env else False
    except Exception:
        return False


def zh(chinese_text: str, english: str) -> str:
    return chinese_text if _chinese() else english


def zh_cols(chinese_cols: list[str], english: list[str]) -> list[str]:
    return chinese_cols if _chinese() else english


def emit(result, as_json: bool, render=None) -> None:
    """Print a result: its data as JSON with --json, else `render` (a string, or a function of the
    data). A Change (results.py) renders as its message and its JSON is its data."""
    if isinstance(result, Change):
        render = result.message if render is None else render
        result = result.data
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    elif render is not None:
        click.echo(render if isinstance(render, str) else render(result))


def emit_table(items: list, as_json: bool, columns: tuple[list[str], list[str]], row,
               empty: tuple[str, str] | None = None) -> None:
    """A list as JSON, or as a terminal table: `columns` (Chinese, English) as the workspace reads,
    `row(item)` its cells, `empty` (Chinese, English) the line when there is nothing."""
    emit(items, as_json, lambda xs: zh(*empty) if empty and not xs else table(zh_cols(*columns), [row(x) for x in xs]))


def warn(data: dict) -> None:
    """A service's warnings (data["warnings"]) on stderr, one a line: stdout stays the result."""
    for w in data.get("warnings", []):
        click.echo(f"warning: {w}", err=True)


def as_date(value, option: str = "--as-of"):
    """A date option's value; a bad one is named by the option the user typed."""
    if value is None:
        return None
    return parse_date(value, field=option)


@contextmanager
def progress_bar(label: str, length: int | None = None):
    """Yields a Progress callback, progress(done, total): a bar on a terminal, silence otherwise
    (CI logs, pipes). The bar is made at the first call, when the service knows the total; a
    service that reports only `done` gets the `length` given here."""
    if not sys.stderr.isatty():
        yield lambda done, total=None: None
        return
    state: dict = {}

    def progress(done: int, total: int | None = None) -> None:
        if "bar" not in state:
            size = total if total is not None else length
            if not size:
                return
            state["bar"] = click.progressbar(length=size, label=label, file=sys.stderr)
            state["bar"].__enter__()
            state["done"] = 0
        state["bar"].update(done - state["done"])
        state["done"] = done

    try:
        yield progress
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


def read_secret(from_stdin: bool, prompt: str, *, confirm: bool = False) -> str:
    """One line of stdin (--password-stdin: scripts, tests), else a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InvalidInput(f"{prompt.lower()} expected on standard input (--password-stdin)", field="password")
        return line.rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


def page_options(fn):
    """--limit and --offset of a paged list (the API's limit and offset)."""
    fn = click.option("--offset", type=click.IntRange(0), default=0, show_default=True,
                      help="Skip this many (the JSON's `next` gives the next page's).")(fn)
    return click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=DEFAULT_LIMIT, show_default=True,
                        help=f"At most this many (1–{MAX_LIMIT}).")(fn)


def emit_page(page: Page, as_json: bool, render) -> None:
    """A page as {total, items, next} with --json (next: the --offset of the next page, or null),
    else `render(items)` and a line saying which part of how many this is."""
    if as_json:
        emit(page.to_json(), True)
        return
    click.echo(render(page.items))
    if page.total > len(page.items):
        first, last = page.offset + 1, page.offset + len(page.items)
        nxt = page.next_offset
        click.echo(zh(f"共 {page.total} 条，显示第 {first}–{last} 条" + (f"；下一页 --offset {nxt}" if nxt else ""),
                      f"{page.total} in all, showing {first}–{last}" + (f"; next page --offset {nxt}" if nxt else "")))

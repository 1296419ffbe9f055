"""qms search: full-text search over documents and records."""

from __future__ import annotations

import sys

import click

from . import pass_env
from .options import as_date, emit, json_option


@click.command()
@click.argument("query")
@click.option("--kind", type=click.Choice(["doc", "record"]))
@click.option("--form", "form_id", metavar="ID")
@click.option("--status")
@click.option("--from", "date_from", metavar="DATE")
@click.option("--to", "date_to", metavar="DATE")
@click.option("--limit", default=20, show_default=True)
@click.option("--offset", default=0, show_default=True, help="Skip this many hits (the next page).")
@json_option
@pass_env
def search(env, query, kind, form_id, status, date_from, date_to, limit, offset, as_json):
    """Full-text search; a run of Chinese characters matches exactly that string."""
    from ..labels import status_label
    from ..search import search_page
    page = search_page(env.ws, query, kind=kind, form=form_id, status=status, date_from=as_date(date_from, "--from"),
                       date_to=as_date(date_to, "--to"), limit=limit, offset=offset)
    total = page["total"]

    def text(hs):
        if not hs:
            return "no hits" + (f" (共 {total} 条，--offset {offset} 已超出)" if total else "")
        out = []
        # the passage is (text, is_hit) spans: hits bold on a terminal, in 【】 in a pipe
        hit = (lambda t: click.style(t, bold=True, fg="red")) if sys.stdout.isatty() else "【{}】".format
        for h in hs:
            mark = "".join(hit(t) if is_hit else t for t, is_hit in h["highlight"])
            out.append(f"{h['number']}  [{h['kind']}{' ' + h['form'] if h['form'] else ''}]  {h['title']}  "
                       f"{h['date'] or ''}  {status_label(h['status'], env.ws.config.locale)}  "
                       f"score {h['score']:.2f}\n    {mark}")
        shown = f"{offset + 1}–{offset + len(hs)}" if offset else str(len(hs))
        more = f"; 下一页 --offset {offset + len(hs)}" if offset + len(hs) < total else ""
        out.append(f"— {shown} of {total} hits（共 {total} 条）{more}")
        return "\n".join(out)
    emit(page, as_json, lambda p: text(p["hits"]))      # --json: the web API's {total, hits}


COMMANDS = [search]

"""qms search: full-text search over documents and records."""

from __future__ import annotations

import sys

import click

from .env import pass_env
from .options import as_date, emit, json_option
from ..domain.labels import status_label
from ..search import search_page


# The whole rest of the line is the query (qms search 阳光花园 NOT 停车): a word starting with "-"
# that is no option of ours is the query's "not" (qms search 维修 -培训).
@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, required=True, metavar="QUERY...")
@click.option("--kind", type=click.Choice(["doc", "record"]))
@click.option("--form", "form_id", metavar="ID")
@click.option("--status")
@click.option("--from", "date_from", metavar="DATE")
@click.option("--to", "date_to", metavar="DATE")
@click.option("--limit", default=20, show_default=True)
@click.option("--offset", default=0, show_default=True, help="Skip this many hits (the next page).")
@click.option("--sort", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance", show_default=True,
              help="Best match first, or by date.")
@json_option
@pass_env
def search(env, words, kind, form_id, status, date_from, date_to, limit, offset, sort, as_json):
    """Full-text search; characters written together (Chinese, digits, letters) match exactly that
    string; FIELD：value searches one field of a form (label or name)."""
    typo = next((w for w in words if w.startswith("--") and len(w) > 2), None)
    if typo:     # --limt is a mistyped option, never a word to search for
        raise click.UsageError(f"No such option: {typo}")
    query = " ".join(words)
    page = search_page(env.ws, query, kind=kind, form=form_id, status=status, date_from=as_date(date_from, "--from"),
                       date_to=as_date(date_to, "--to"), limit=limit, offset=offset, sort=sort)
    total = page["total"]
    # beyond search.count_cap the total is "at least": 1,000+ (共 1000+ 条), never a number to page to
    en, zh = (str(total), str(total)) if page.get("total_exact", True) else (f"{total:,}+", f"{total}+")

    def text(hs):
        if not hs:
            return "no hits" + (f" (共 {zh} 条，--offset {offset} 已超出)" if total else "")
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
        out.append(f"— {shown} of {en} hits（共 {zh} 条）{more}")
        return "\n".join(out)
    emit(page, as_json, lambda p: text(p["hits"]))      # --json: the web API's {total, hits}


COMMANDS = [search]

"""qms retention / hold / purge / disposal / compile: retention periods, legal holds, disposal, volumes."""

from __future__ import annotations

import sys

import click

from . import QmsGroup, pass_env
from .options import as_date, emit, emit_table, json_option, output_option, progress_bar, zh, zh_cols


@click.group(cls=QmsGroup)
def retention():
    """Retention periods: what is due for disposal."""


@retention.command("report")
@click.option("--as-of", metavar="DATE")
@click.option("--form", "form_id", metavar="ID")
@json_option
@pass_env
def retention_report(env, as_of, form_id, as_json):
    """Records past their retention end, grouped by form; held ones marked."""
    from ..retention import report
    from ..textfmt import table
    rep = report(env.ws, as_of=as_date(as_of), form=form_id)

    def text(r):
        if not r["due"]:
            return zh(f"截至 {r['as_of']} 没有到期待销毁的记录", f"nothing due for disposal as of {r['as_of']}")
        out = [zh(f"截至 {r['as_of']} 保存期满待销毁：{r['disposable']} 份，冻结 {r['held']} 份",
                  f"due for disposal as of {r['as_of']}: {r['disposable']} records, {r['held']} on hold")]
        for fid, numbers in r["by_form"].items():
            rows = [[d["number"], d["record_date"], d["retention_until"], zh("冻结", "HELD") if d["held"] else ""]
                    for d in r["due"] if d["form"] == fid]
            rule = r["rules"].get(fid)
            out += ["", f"{fid} ({len(numbers)})" + (f"  {zh('保存期限', 'retention')} {rule}" if rule else ""),
                    table(zh_cols(["记录编号", "记录日期", "保存期至", ""], ["number", "record date", "retention until", ""]),
                          rows)]
        return "\n".join(out)
    emit(rep, as_json, text)


@click.group(cls=QmsGroup)
def hold():
    """Legal holds: a held record is never disposed."""


def _number_and_reason(f):
    return click.argument("number")(click.option("--reason", required=True)(pass_env(f)))


@hold.command("add")
@_number_and_reason
def hold_add_cmd(env, number, reason):
    from ..retention import hold_add
    click.echo(hold_add(env.ws, number, reason=reason, actor=env.act("records.hold")))


@hold.command("release")
@_number_and_reason
def hold_release_cmd(env, number, reason):
    from ..retention import hold_release
    click.echo(hold_release(env.ws, number, reason=reason, actor=env.act("records.hold")))


@hold.command("list")
@json_option
@pass_env
def hold_list_cmd(env, as_json):
    from ..dates import local_time
    from ..retention import hold_list
    emit_table(hold_list(env.ws), as_json, (["记录编号", "表单", "原因", "冻结日期", "冻结人"],
                                            ["number", "form", "reason", "since", "by"]),
               lambda x: [x["number"], x["form"], x["reason"], local_time(x["added_at"], env.ws)[:10], x["added_by"]],
               empty=("（无冻结）", "(no holds)"))


@click.command()
@click.option("--as-of", metavar="DATE", help="Dispose of what is due at this date (default today).")
@click.option("--form", "form_id", metavar="ID")
@click.option("--dry-run", is_flag=True, help="Say what would be disposed; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_env
def purge(env, as_of, form_id, dry_run, yes, as_json):
    """Dispose of every record past retention and not on hold; writes a disposal certificate."""
    from ..retention import dispose
    actor = "" if dry_run else env.act("records.purge")   # a dry run changes nothing: anyone may look
    ask = not dry_run and not yes and sys.stdin.isatty()
    with progress_bar("disposing") as progress:
        res = dispose(env.ws, actor=actor, as_of=as_date(as_of), form=form_id, dry_run=dry_run, progress=progress,
                      confirm=(lambda rep: click.confirm(f"Destroy {rep['disposable']} records past retention "
                                                         f"as of {rep['as_of']}?")) if ask else None)
    emit(res, as_json)


@click.group(cls=QmsGroup)
def disposal():
    """Disposal certificates (销毁记录), kept permanently."""


@disposal.command("list")
@json_option
@pass_env
def disposal_list_cmd(env, as_json):
    from ..retention import disposal_list
    emit_table(disposal_list(env.ws), as_json, (["销毁证明", "销毁时间", "截至日期", "批准人", "记录数", "目录"],
                                                ["certificate", "at", "as of", "by", "records", "folder"]),
               lambda x: [x["certificate"], x["at"][:19], x["as_of"], x["actor"], x["count"], x["folder"]],
               empty=("（无销毁记录）", "(no disposals)"))


@click.command("compile")
@click.option("--form", "form_id", required=True, metavar="ID")
@click.option("--year", required=True, type=int)
@output_option("VOLUME.pdf", required=True)
@pass_env
def compile_cmd(env, form_id, year, output):
    """The yearly volume (每年汇编成册) of one form's records."""
    from ..volumes import compile_volume
    from ..records import list_records
    actor = env.act("records.compile")
    # merge_with_bookmarks reports only `done`: the bar's size is the volume's record count
    with progress_bar("compiling", len(list_records(env.ws, form=form_id, year=year))) as progress:
        res = compile_volume(env.ws, form=form_id, year=year, out=output, actor=actor, progress=progress)
    click.echo(f"compiled {res['records']} records of {form_id} {year} into {res['file']} ({res['pages']} pages)")


COMMANDS = [retention, hold, purge, disposal, compile_cmd]

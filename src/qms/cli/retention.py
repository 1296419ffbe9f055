"""qms retention / hold / purge / disposal / compile: retention periods, legal holds, disposal, volumes."""

from __future__ import annotations

import sys

import click

from .env import QmsGroup, pass_env
from .options import (as_date, emit, emit_page, read_secret, emit_table, json_option, output_option, page_options,
                      progress_bar, zh, zh_cols)
from ..retention.periods import report, hold_add, hold_release, hold_list, disposal_page
from ..base.textfmt import table
from ..base.dates import local_time
from ..retention.disposal import dispose, propose, approve, reject, STATES, listing, show
from ..base.errors import InvalidInput
from ..retention.volumes import compile_volume
from ..records import list_records


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
    click.echo(hold_add(env.ws, number, reason=reason, actor=env.act("records.hold")))


@hold.command("release")
@_number_and_reason
def hold_release_cmd(env, number, reason):
    click.echo(hold_release(env.ws, number, reason=reason, actor=env.act("records.hold")))


@hold.command("list")
@json_option
@pass_env
def hold_list_cmd(env, as_json):
    emit_table(hold_list(env.ws), as_json, (["记录编号", "表单", "原因", "冻结日期", "冻结人"],
                                            ["number", "form", "reason", "since", "by"]),
               lambda x: [x["number"], x["form"], x["reason"], local_time(x["added_at"], env.ws)[:10], x["added_by"]],
               empty=("（无冻结）", "(no holds)"))


def _proposal_options(f):
    f = click.option("--witness", metavar="NAME", help="监销人: who witnesses the destruction.")(f)
    f = click.option("--method", metavar="TEXT", help="销毁方式, e.g. 删除电子档案并粉碎纸质件.")(f)
    return click.option("--opinion", metavar="TEXT", help="鉴定意见: why these records may go.")(f)


@click.command()
@click.option("--as-of", metavar="DATE", help="What is due at this date (default today; never later, except --dry-run).")
@click.option("--form", "form_id", metavar="ID")
@click.option("--dry-run", is_flag=True, help="Say what would be disposed; change nothing (may look ahead).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_proposal_options
@json_option
@pass_env
def purge(env, as_of, form_id, dry_run, yes, opinion, method, witness, as_json):
    """Propose every record past retention and not on hold for destruction (销毁审批).

    Nothing is destroyed until another person approves the proposal (qms disposal approve DR)."""
    actor = "" if dry_run else env.act("records.purge")   # a dry run changes nothing: anyone may look
    ask = not dry_run and not yes and sys.stdin.isatty()
    res = dispose(env.ws, actor=actor, as_of=as_date(as_of), form=form_id, dry_run=dry_run, opinion=opinion,
                  method=method, witness=witness,
                  confirm=(lambda rep: click.confirm(f"Propose {rep['disposable']} records past retention "
                                                     f"as of {rep['as_of']} for destruction?")) if ask else None)
    emit(res, as_json)


@click.group(cls=QmsGroup)
def disposal():
    """销毁审批: proposals, their approval by a second person, and the certificates (kept permanently)."""


@disposal.command("list")
@page_options
@json_option
@pass_env
def disposal_list_cmd(env, limit, offset, as_json):
    """Disposal certificates (销毁证明), kept permanently; newest first, a page at a time
    (--json: {total, items, next})."""
    emit_page(disposal_page(env.ws, limit=limit, offset=offset), as_json, lambda xs: zh("（无销毁记录）", "(no disposals)")
              if not xs else table(zh_cols(["销毁证明", "销毁时间", "截至日期", "审批单", "提出人", "批准人", "记录数", "目录"],
                                           ["certificate", "at", "as of", "proposal", "proposed by", "approved by",
                                            "records", "folder"]),
                                   [[x["certificate"], x["at"][:19], x["as_of"], x["proposal"] or "",
                                     x["proposed_by"] or "", x["actor"], x["count"], x["folder"]] for x in xs]))


@disposal.command("propose")
@click.option("--form", "form_id", metavar="ID")
@_proposal_options
@json_option
@pass_env
def disposal_propose(env, form_id, opinion, method, witness, as_json):
    """Propose what is due today and not on hold for destruction → DR-YYYY-NNNN."""
    if not (opinion or "").strip() or not (method or "").strip():
        missing = "--opinion" if not (opinion or "").strip() else "--method"
        raise InvalidInput(f"a disposal proposal needs {missing} (鉴定意见 and 销毁方式)", field=missing[2:])
    emit(propose(env.ws, actor=env.act("records.purge"), opinion=opinion, method=method, witness=witness,
                 form=form_id), as_json)


@disposal.command("approve")
@click.argument("number")
@click.option("--password-stdin", is_flag=True, help="Read your password from standard input.")
@json_option
@pass_env
def disposal_approve(env, number, password_stdin, as_json):
    """Approve proposal NUMBER with your password: destroys what is still due and unheld, writes the certificate."""
    user = env.user
    with progress_bar("disposing") as progress:
        res = approve(env.ws, number, user=user, progress=progress,
                      password=lambda: read_secret(password_stdin, f"Password of {user.login} to approve {number}"))
    emit(res, as_json)


@disposal.command("reject")
@click.argument("number")
@click.option("--reason", required=True)
@json_option
@pass_env
def disposal_reject(env, number, reason, as_json):
    """Reject proposal NUMBER (or withdraw your own); nothing is destroyed."""
    emit(reject(env.ws, number, user=env.user, reason=reason), as_json)


@disposal.command("proposals")
@click.option("--pending", is_flag=True, help="Only those awaiting a decision.")
@json_option
@pass_env
def disposal_proposals(env, pending, as_json):
    """Disposal proposals (销毁审批单) and their decisions."""
    emit_table(listing(env.ws, status="pending" if pending else None), as_json,
               (["审批单", "状态", "截至日期", "记录数", "提出人", "决定人", "销毁证明"],
                ["proposal", "status", "as of", "records", "proposed by", "decided by", "certificate"]),
               lambda x: [x["number"], zh(STATES[x["status"]], x["status"]), x["as_of"], len(x["records"]),
                          x["proposed_by"], x["decided_by"] or "", x["certificate"] or ""],
               empty=("（无销毁审批单）", "(no disposal proposals)"))


@disposal.command("show")
@click.argument("number")
@json_option
@pass_env
def disposal_show(env, number, as_json):
    """A disposal proposal (DR-…: what it lists, the opinion and method, who decided) or certificate (DC-…)."""
    req = show(env.ws, number)

    def text(r):
        if "certificate" in r and "status" not in r:
            return "\n".join([f"{r['certificate']}  {zh('销毁证明', 'disposal certificate')}  {r['disposed_at'][:19]}",
                              f"{zh('审批单', 'proposal')}: {r.get('proposal') or '—'}    "
                              f"{zh('提出人', 'proposed by')}: {r.get('proposed_by') or '—'}    "
                              f"{zh('批准人', 'approved by')}: {r['authorised_by']}    "
                              f"{zh('监销人', 'witness')}: {r.get('witness') or '—'}",
                              f"{zh('鉴定意见', 'opinion')}: {r.get('opinion') or '—'}",
                              f"{zh('销毁方式', 'method')}: {r.get('method') or '—'}"]
                             + [f"  {x['number']}  {x['form']}  {x['record_date']}  {x['retention_until']}"
                                for x in r["records"]] + [f"→ {f}" for f in r["files"]])
        lines = [f"{r['number']}  {zh(STATES[r['status']], r['status'])}",
                 f"{zh('截至日期', 'as of')}: {r['as_of']}    {zh('表单', 'form')}: {r['form'] or zh('全部', 'all')}",
                 f"{zh('提出人', 'proposed by')}: {r['proposed_by']}  {r['proposed_at'][:19]}",
                 f"{zh('鉴定意见', 'opinion')}: {r['opinion']}", f"{zh('销毁方式', 'method')}: {r['method']}",
                 f"{zh('监销人', 'witness')}: {r['witness'] or '—'}"]
        if r["decided_by"]:
            lines.append(f"{zh('决定人', 'decided by')}: {r['decided_by']}  {r['decided_at'][:19]}"
                         + (f"  {r['reason']}" if r["reason"] else "")
                         + (f"  {zh('销毁证明', 'certificate')} {r['certificate']}" if r["certificate"] else ""))
        lines += [f"  {x['number']}  {x['form']}  {x['record_date']}  {x['retention_until']}" for x in r["records"]]
        lines += [f"  {zh('未销毁', 'left out')}: {x['number']} {x['reason']}" for x in r["left_out"]]
        return "\n".join(lines)
    emit(req, as_json, text)


@click.command("compile")
@click.option("--form", "form_id", required=True, metavar="ID")
@click.option("--year", required=True, type=int)
@output_option("VOLUME.pdf", required=True)
@pass_env
def compile_cmd(env, form_id, year, output):
    """The yearly volume (每年汇编成册) of one form's records."""
    actor = env.act("records.compile")
    # merge_with_bookmarks reports only `done`: the bar's size is the volume's record count
    with progress_bar("compiling", len(list_records(env.ws, form=form_id, year=year, columns=False))) as progress:
        res = compile_volume(env.ws, form=form_id, year=year, out=output, actor=actor, progress=progress)
    click.echo(f"compiled {res['records']} records of {form_id} {year} into {res['file']} ({res['pages']} pages)")


COMMANDS = [retention, hold, purge, disposal, compile_cmd]

"""qms doc …: controlled documents."""

from __future__ import annotations

import click

from ..domain.revisions import STATUSES
from .env import QmsGroup, pass_env
from .options import FilePath, as_date, emit, emit_page, json_option, output_option, page_options, read_secret, warn
from ..documents import (check, preview, submit, sign, reject, withdraw, release, redate, obsolete, show, document_page,
                         list_documents, issue_copy, copies, recall)
from ..domain.text_views import doc_text, copies_text
from ..documents.reports import master_list


@click.group(cls=QmsGroup)
def doc():
    """Controlled documents (程序文件): write, sign, release, revise, withdraw."""


@doc.command("check")
@click.argument("source", type=FilePath())
@pass_env
def doc_check(env, source):
    """Validate SOURCE.yaml; nothing is written."""
    d = check(env.ws, source)
    for w in d.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"ok: {d.number} {d.title} ({d.kind}, {d.department}), {len(d.sections)} top-level sections")


@doc.command("render")
@click.argument("source", type=FilePath())
@output_option("OUT.docx or OUT.pdf", required=True)
@pass_env
def doc_render(env, source, output):
    """Preview SOURCE.yaml as a draft (草稿) .docx or .pdf; the archive is not touched."""
    env.act("doc.render")
    out = preview(env.ws, source, output)
    click.echo(f"rendered draft preview {out}")


@doc.command("submit")
@click.argument("source", type=FilePath())
@click.option("--change", help="What changed (修订说明); required for a revision after release.")
@click.option("--major", is_flag=True, help="A major change: next letter (A/3 → B/0).")
@click.option("--cr", metavar="CR-YYYY-NNNN", help="The approved change request (变更申请) this revision answers.")
@json_option
@pass_env
def doc_submit(env, source, change, major, cr, as_json):
    """Submit SOURCE.yaml as a new draft revision (or replace an unsigned draft)."""
    res = submit(env.ws, source, actor=env.act("doc.submit"), change=change, major=major, cr=cr)
    warn(res.data)
    emit(res, as_json)


@doc.command("sign")
@click.argument("number")
@click.option("--role", required=True, help="编制/会签/审定/标审/批准 or prepared/countersigned/reviewed/standardized/approved")
@click.option("--meaning", help="What the signature means (default from the role).")
@click.option("--password-stdin", is_flag=True, help="Read your password from standard input.")
@json_option
@pass_env
def doc_sign(env, number, role, meaning, password_stdin, as_json):
    """Sign the open draft of NUMBER in ROLE as yourself; your password is asked again."""
    user = env.user
    res = sign(env.ws, number, role=role, user=user, meaning=meaning,
               password=lambda: read_secret(password_stdin, f"Password of {user.login} to sign"))
    emit(res, as_json)


@doc.command("reject")
@click.argument("number")
@click.option("--reason", required=True)
@click.option("--password-stdin", is_flag=True, help="Read your password from standard input.")
@json_option
@pass_env
def doc_reject(env, number, reason, password_stdin, as_json):
    """Return the draft of NUMBER for rework; its signatures become void."""
    user = env.user
    res = reject(env.ws, number, user=user, reason=reason,
                 password=lambda: read_secret(password_stdin, f"Password of {user.login} to reject"))
    emit(res, as_json)


@doc.command("withdraw")
@click.argument("number")
@click.option("--reason", required=True)
@json_option
@pass_env
def doc_withdraw(env, number, reason, as_json):
    """Discard the unreleased draft of NUMBER (kept in the archive and the log as withdrawn)."""
    res = withdraw(env.ws, number, reason=reason, actor=env.act("doc.withdraw"))
    emit(res, as_json)


@doc.command("release")
@click.argument("number")
@click.option("--issued", required=True, metavar="DATE", help="发布 date, YYYY-MM-DD")
@click.option("--effective", required=True, metavar="DATE", help="实施 date, YYYY-MM-DD")
@click.option("--no-pdf", is_flag=True, help="Skip the PDF/A rendition (no LibreOffice here).")
@click.option("--no-retraining", is_flag=True, help="不需重新培训: a minor revision nobody must read again.")
@json_option
@pass_env
def doc_release(env, number, issued, effective, no_pdf, no_retraining, as_json):
    """Release the approved draft of NUMBER."""
    res = release(env.ws, number, issued=issued, effective=effective, actor=env.act("doc.release"), pdf=not no_pdf,
                  no_retraining=no_retraining)
    warn(res.data)
    emit(res, as_json)


@doc.command("redate")
@click.argument("number")
@click.option("--issued", required=True, metavar="DATE", help="The corrected 发布 date, YYYY-MM-DD")
@click.option("--effective", required=True, metavar="DATE", help="The corrected 实施 date, YYYY-MM-DD")
@click.option("--reason", required=True)
@json_option
@pass_env
def doc_redate(env, number, issued, effective, reason, as_json):
    """Correct the dates of NUMBER's release before its 发布 date (待发布); refused once issued."""
    res = redate(env.ws, number, issued=issued, effective=effective, reason=reason, actor=env.act("doc.release"))
    warn(res.data)
    emit(res, as_json)


@doc.command("obsolete")
@click.argument("number")
@click.option("--reason", required=True)
@click.option("--on", "on", metavar="DATE", help="Withdrawal date (default today).")
@json_option
@pass_env
def doc_obsolete(env, number, reason, on, as_json):
    """Withdraw NUMBER (作废)."""
    res = obsolete(env.ws, number, reason=reason, on=on, actor=env.act("doc.obsolete"))
    emit(res, as_json)


@doc.command("show")
@click.argument("number")
@click.option("--revision", help="A revision label, e.g. A/0 (default: the one current at --as-of).")
@click.option("--as-of", metavar="DATE", help="Compute status at this date (default today).")
@json_option
@pass_env
def doc_show(env, number, revision, as_of, as_json):
    """Show a document: current revision, status, approvals, files, history."""
    d = show(env.ws, number, revision=revision, as_of=as_date(as_of))
    emit(d, as_json, lambda x: doc_text(env.ws, x))


@doc.command("list")
@click.option("--as-of", metavar="DATE")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "xlsx"]), default="table")
@output_option("Write the list to a file.")
@page_options
@json_option
@pass_env
def doc_list(env, as_of, status, fmt, output, limit, offset, as_json):
    """The master list (受控文件清单): whole as a table, CSV or XLSX; --json a page of it
    ({total, items, next}, --limit/--offset) as /api/documents gives it."""
    if as_json:
        return emit_page(document_page(env.ws, as_of=as_date(as_of), status=status, limit=limit, offset=offset),
                         True, None)
    items = list_documents(env.ws, as_of=as_date(as_of), status=status)
    text = master_list(items, fmt, output, ws=env.ws, org=env.ws.config.org_name, locale=env.ws.config.locale,
                       as_of=as_date(as_of))
    if text is not None:
        click.echo(text)
    elif output:
        click.echo(f"wrote {len(items)} documents to {output}")


@doc.command("issue-copy")
@click.argument("number")
@click.option("--holder", required=True, help="The person (login) or department receiving the copy.")
@click.option("--responsible", metavar="LOGIN", help="For a department: the person who signs 签收/回收 for it.")
@json_option
@pass_env
def doc_issue_copy(env, number, holder, responsible, as_json):
    """Issue a controlled copy (发放): next distribution number, stamped PDF."""
    res = issue_copy(env.ws, number, holder=holder, actor=env.act("doc.copy"), responsible=responsible)
    emit(res, as_json)


@doc.command("copies")
@click.argument("number")
@click.option("--outstanding", is_flag=True, help="Only copies not yet recalled.")
@json_option
@pass_env
def doc_copies(env, number, outstanding, as_json):
    """Controlled copies of NUMBER; copies of a superseded revision are marked for recall."""
    items = copies(env.ws, number, outstanding=outstanding)
    emit(items, as_json, lambda xs: copies_text(env.ws, xs))


@doc.command("recall")
@click.argument("number")
@click.option("--copy", "copy_no", required=True, type=int, help="The distribution number to recall.")
@json_option
@pass_env
def doc_recall(env, number, copy_no, as_json):
    """Record the return of a controlled copy (回收)."""
    res = recall(env.ws, number, copy_no=copy_no, actor=env.act("doc.copy"))
    emit(res, as_json)


COMMANDS = [doc]

"""The command line: parse options, call one library function, print. No logic lives here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .errors import QmsError
from .revisions import STATUSES


class QmsGroup(click.Group):
    """Turns a user-fixable QmsError into one line on stderr and exit status 1 (3 when the
    work is done but PDFs are pending: see the README)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except QmsError as exc:
            err = click.ClickException(exc.format().replace("\n", " "))
            err.exit_code = getattr(exc, "exit_code", 1)
            raise err from None


class FilePath(click.Path):
    """click.Path, but a NUL in the name is one clear line (click's own check stats the path
    and raises ValueError)."""

    def convert(self, value, param, ctx):
        if "\x00" in str(value):
            raise QmsError("the file name contains a NUL character", field=param.name if param else None)
        return super().convert(value, param, ctx)


class Env:
    def __init__(self, workspace: str | None):
        self._workspace_arg = workspace
        self._ws = None

    @property
    def ws(self):
        if self._ws is None:
            from .workspace import find_workspace
            from .writer import catch_up
            self._ws = find_workspace(self._workspace_arg)
            catch_up(self._ws)      # a catalog behind the journal (a crashed command) catches up first
        return self._ws

    @property
    def user(self):
        """The session's user (qms login); refused with one line when there is no valid session."""
        from .identity.sessions import current_user
        return current_user(self.ws)

    def act(self, permission: str) -> str:
        """The journal's actor (login and name) of a state change, once the session holds `permission`;
        else one line naming what is missing, before anything is read or written."""
        from .identity import require
        return require(self.user, permission).actor


pass_env = click.make_pass_decorator(Env)


def _chinese() -> bool:
    """Whether the current command's workspace reads Chinese (locale zh-CN): terminal tables follow it."""
    ctx = click.get_current_context(silent=True)
    env = ctx.find_object(Env) if ctx else None
    try:
        from .labels import chinese
        return chinese(env.ws.config.locale) if env else False
    except Exception:
        return False


def zh(chinese_text: str, english: str) -> str:
    return chinese_text if _chinese() else english


def zh_cols(chinese_cols: list[str], english: list[str]) -> list[str]:
    return chinese_cols if _chinese() else english


def emit(data, as_json: bool, text=None) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif text is not None:
        click.echo(text if isinstance(text, str) else text(data))


def as_date(value):
    if value is None:
        return None
    from .dates import parse_date
    return parse_date(value, field="as-of")


def progress_bar(length: int, label: str):
    """A progress bar on a terminal, silence otherwise (CI logs, pipes)."""
    return click.progressbar(length=length, label=label, file=sys.stderr) if sys.stderr.isatty() and length \
        else _Quiet()


class _Quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


@click.group(cls=QmsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", metavar="DIR", help="Workspace folder (else $QMS_WORKSPACE, else the nearest folder upward holding config.yaml).")
@click.version_option(package_name="qms")
@click.pass_context
def cli(ctx, workspace):
    """qms — controlled documents and quality records (ISO 9001 / ISO 13485).

    Every command that changes state needs a session (qms login) holding the permission for it."""
    # Nothing qms (or SQLite, whoosh, LibreOffice under it) creates is readable by others,
    # whatever the caller's umask: the archive holds customer names and phone numbers.
    os.umask(os.umask(0) | 0o027)
    ctx.obj = Env(workspace)


@cli.command()
@click.argument("directory", type=FilePath(file_okay=False))
@click.option("--org", metavar="NAME", help="The organisation's name, printed on every document and form.")
@click.option("--org-en", metavar="NAME", help="Its English name (optional).")
@click.option("--admin", metavar="LOGIN", help="The first administrator's login (also for a workspace with no users yet).")
@click.option("--name", help="The administrator's printed name.")
@click.option("--department", default="", help="The administrator's department.")
@click.option("--password-stdin", is_flag=True, help="Read the administrator's password from standard input.")
def init(directory, org, org_en, admin, name, department, password_stdin):
    """Create a new workspace in DIRECTORY: defaults, first administrator, signing key."""
    from .cli_identity import read_secret
    from .identity.setup import create_workspace
    if org is None and sys.stdin.isatty():
        org = click.prompt("organisation name (公司名称)", default="XXXXXX有限公司")
    password = read_secret(password_stdin, "Administrator password", confirm=True) if admin else None
    ws, user = create_workspace(directory, admin=admin, name=name, password=password, department=department,
                                org=org, org_en=org_en)
    click.echo(f"created workspace {ws.root} for {ws.config.org_name}"
               + (f" with administrator {user.login} ({user.name})" if user else ""))


# ------------------------------------------------------------------ documents

@cli.group(cls=QmsGroup)
def doc():
    """Controlled documents (程序文件): write, sign, release, revise, withdraw."""


@doc.command("check")
@click.argument("source", type=FilePath())
@pass_env
def doc_check(env, source):
    """Validate SOURCE.yaml; nothing is written."""
    from .documents import check
    d = check(env.ws, source)
    for w in d.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"ok: {d.number} {d.title} ({d.kind}, {d.department}), {len(d.sections)} top-level sections")


@doc.command("render")
@click.argument("source", type=FilePath())
@click.option("-o", "--output", required=True, type=FilePath(), help="OUT.docx or OUT.pdf")
@pass_env
def doc_render(env, source, output):
    """Preview SOURCE.yaml as a draft (草稿) .docx or .pdf; the archive is not touched."""
    from .documents import preview
    env.act("doc.render")
    out = preview(env.ws, source, output)
    click.echo(f"rendered draft preview {out}")


@doc.command("submit")
@click.argument("source", type=FilePath())
@click.option("--change", help="What changed (修订说明); required for a revision after release.")
@click.option("--major", is_flag=True, help="A major change: next letter (A/3 → B/0).")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_submit(env, source, change, major, as_json):
    """Submit SOURCE.yaml as a new draft revision (or replace an unsigned draft)."""
    from .documents import submit
    res = submit(env.ws, source, actor=env.act("doc.submit"), change=change, major=major)
    for w in res.data.get("warnings", []):
        click.echo(f"warning: {w}", err=True)
    emit(res.data, as_json, res.message)


@doc.command("sign")
@click.argument("number")
@click.option("--role", required=True, help="编制/会签/审定/标审/批准 or prepared/countersigned/reviewed/standardized/approved")
@click.option("--meaning", help="What the signature means (default from the role).")
@click.option("--password-stdin", is_flag=True, help="Read your password from standard input.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_sign(env, number, role, meaning, password_stdin, as_json):
    """Sign the open draft of NUMBER in ROLE as yourself; your password is asked again."""
    from .cli_identity import read_secret
    from .documents import sign
    user = env.user
    res = sign(env.ws, number, role=role, user=user, meaning=meaning,
               password=lambda: read_secret(password_stdin, f"Password of {user.login} to sign"))
    emit(res.data, as_json, res.message)


@doc.command("reject")
@click.argument("number")
@click.option("--reason", required=True)
@click.option("--password-stdin", is_flag=True, help="Read your password from standard input.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_reject(env, number, reason, password_stdin, as_json):
    """Return the draft of NUMBER for rework; its signatures become void."""
    from .cli_identity import read_secret
    from .documents import reject
    user = env.user
    res = reject(env.ws, number, user=user, reason=reason,
                 password=lambda: read_secret(password_stdin, f"Password of {user.login} to reject"))
    emit(res.data, as_json, res.message)


@doc.command("withdraw")
@click.argument("number")
@click.option("--reason", required=True)
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_withdraw(env, number, reason, as_json):
    """Discard the unreleased draft of NUMBER (kept in the archive and the log as withdrawn)."""
    from .documents import withdraw
    res = withdraw(env.ws, number, reason=reason, actor=env.act("doc.withdraw"))
    emit(res.data, as_json, res.message)


@doc.command("release")
@click.argument("number")
@click.option("--issued", required=True, metavar="DATE", help="发布 date, YYYY-MM-DD")
@click.option("--effective", required=True, metavar="DATE", help="实施 date, YYYY-MM-DD")
@click.option("--no-pdf", is_flag=True, help="Skip the PDF/A rendition (no LibreOffice here).")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_release(env, number, issued, effective, no_pdf, as_json):
    """Release the approved draft of NUMBER."""
    from .documents import release
    res = release(env.ws, number, issued=issued, effective=effective, actor=env.act("doc.release"), pdf=not no_pdf)
    for w in res.data.get("warnings", []):
        click.echo(f"warning: {w}", err=True)
    emit(res.data, as_json, res.message)


@doc.command("obsolete")
@click.argument("number")
@click.option("--reason", required=True)
@click.option("--on", "on", metavar="DATE", help="Withdrawal date (default today).")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_obsolete(env, number, reason, on, as_json):
    """Withdraw NUMBER (作废)."""
    from .documents import obsolete
    res = obsolete(env.ws, number, reason=reason, on=on, actor=env.act("doc.obsolete"))
    emit(res.data, as_json, res.message)


@doc.command("show")
@click.argument("number")
@click.option("--revision", help="A revision label, e.g. A/0 (default: the one current at --as-of).")
@click.option("--as-of", metavar="DATE", help="Compute status at this date (default today).")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_show(env, number, revision, as_of, as_json):
    """Show a document: current revision, status, approvals, files, history."""
    from .documents import show
    from .views import doc_text
    d = show(env.ws, number, revision=revision, as_of=as_date(as_of))
    emit(d, as_json, lambda x: doc_text(env.ws, x))


@doc.command("list")
@click.option("--as-of", metavar="DATE")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "xlsx"]), default="table")
@click.option("-o", "--output", type=FilePath(), help="Write the list to a file.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_list(env, as_of, status, fmt, output, as_json):
    """The master list (受控文件清单)."""
    from .documents import list_documents
    items = list_documents(env.ws, as_of=as_date(as_of), status=status)
    if as_json:
        return emit(items, True)
    from .reports import master_list
    text = master_list(items, fmt, output, ws=env.ws, org=env.ws.config.org_name, locale=env.ws.config.locale,
                       as_of=as_date(as_of))
    if text is not None:
        click.echo(text)
    elif output:
        click.echo(f"wrote {len(items)} documents to {output}")


@doc.command("issue-copy")
@click.argument("number")
@click.option("--holder", required=True, help="The department or person receiving the copy.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_issue_copy(env, number, holder, as_json):
    """Issue a controlled copy (发放): next distribution number, stamped PDF."""
    from .documents import issue_copy
    res = issue_copy(env.ws, number, holder=holder, actor=env.act("doc.copy"))
    emit(res.data, as_json, res.message)


@doc.command("copies")
@click.argument("number")
@click.option("--outstanding", is_flag=True, help="Only copies not yet recalled.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_copies(env, number, outstanding, as_json):
    """Controlled copies of NUMBER; copies of a superseded revision are marked for recall."""
    from .documents import copies
    from .views import copies_text
    items = copies(env.ws, number, outstanding=outstanding)
    emit(items, as_json, lambda xs: copies_text(env.ws, xs))


@doc.command("recall")
@click.argument("number")
@click.option("--copy", "copy_no", required=True, type=int, help="The distribution number to recall.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def doc_recall(env, number, copy_no, as_json):
    """Record the return of a controlled copy (回收)."""
    from .documents import recall
    res = recall(env.ws, number, copy_no=copy_no, actor=env.act("doc.copy"))
    emit(res.data, as_json, res.message)


# ------------------------------------------------------------------ forms and records

@cli.group(cls=QmsGroup)
def form():
    """Record forms (schemas/*.yaml)."""


@form.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def form_list(env, as_json):
    """Every form: id, title, procedure, retention, signature required."""
    from .forms import forms_table, load_forms
    forms = list(load_forms(env.ws).values())
    items = [{"id": f.id, "title": f.title, "procedure": f.procedure, "retention": f.retention.describe(),
              "signature_required": f.signature_required} for f in forms]
    emit(items, as_json, lambda xs: forms_table(forms, env.ws.config.locale))


@form.command("show")
@click.argument("form_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def form_show(env, form_id, as_json):
    """A form's fields, numbering and retention."""
    from .forms import form_sheet, load_form
    the_form = load_form(env.ws, form_id)
    emit(the_form.to_json(), as_json, lambda d: form_sheet(the_form, env.ws.config.locale))


@form.command("blank")
@click.argument("form_id", metavar="ID")
@click.option("-o", "--output", required=True, type=FilePath(), help="FILE.docx or FILE.pdf")
@pass_env
def form_blank(env, form_id, output):
    """A blank printable form."""
    from .records import blank_form
    click.echo(f"wrote blank form {blank_form(env.ws, form_id, output)}")


@cli.group(cls=QmsGroup)
def record():
    """Records: file, import, sign, amend, show, list."""


@record.command("file")
@click.argument("form_id", metavar="ID")
@click.option("--data", "data_file", required=True, type=FilePath(), help="FILE.yaml or FILE.json")
@click.option("--on", metavar="DATE", help="The date the record was made (default: the form's date field, else today).")
@click.option("--attach", multiple=True, type=FilePath(), help="A file to keep with the record (repeatable).")
@click.option("--no-pdf", is_flag=True, help="Skip the PDF/A rendition (qms record pdf --pending makes it later).")
@click.option("--sign", "esign", is_flag=True, help="Sign the form's filer fields (e.g. 服务工程师) as yourself.")
@click.option("--password-stdin", is_flag=True, help="With --sign: read your password from standard input.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def record_file(env, form_id, data_file, on, attach, no_pdf, esign, password_stdin, as_json):
    """File one record of form ID."""
    from .cli_identity import read_secret
    from .records import file_record
    actor = env.act("record.file")
    res = file_record(env.ws, form_id, data_file, actor=actor, on=on, attachments=list(attach), pdf=not no_pdf,
                      signer=env.user if esign else None,
                      password=lambda: read_secret(password_stdin, "Your password to sign"))
    emit({"number": res.data["number"], "status": res.data["status"]}, as_json, res.message)


@record.command("import")
@click.argument("form_id", metavar="ID")
@click.argument("path", type=FilePath())
@click.option("--on", metavar="DATE", help="Record date for every row (default: each row's date field).")
@click.option("--no-pdf", is_flag=True, help="Defer PDF renditions (qms record pdf --pending).")
@click.option("--again", is_flag=True, help="Import a file that was imported before (same SHA-256).")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def record_import(env, form_id, path, on, no_pdf, again, as_json):
    """File one record per row of a CSV or XLSX file; all rows or none."""
    from .records import import_records, read_rows
    actor = env.act("record.import")
    total = len(read_rows(Path(path))) if Path(path).is_file() else 0
    with progress_bar(total, "filing") as bar:
        filed = import_records(env.ws, form_id, path, actor=actor, on=on, pdf=not no_pdf, again=again,
                               progress=lambda n: bar.update(1))
    first, last = filed[0]["number"], filed[-1]["number"]
    emit([{"number": f["number"], "status": f["status"]} for f in filed], as_json,
         f"imported {len(filed)} records of {form_id}: {first} … {last}")


@record.command("pdf")
@click.option("--pending", is_flag=True, help="Every record still without a PDF (the default and only mode).")
@pass_env
def record_pdf(env, pending):
    """Make the PDF/A renditions deferred by --no-pdf (LibreOffice in chunks of 100)."""
    from .records import convert_pending
    done = convert_pending(env.ws, actor=env.act("record.pdf"))
    click.echo(f"converted {len(done)} records to PDF/A")


@record.command("sign")
@click.argument("number")
@click.option("--scan", required=True, type=FilePath(), help="The signed scan, a PDF.")
@click.option("--signer", "signers", required=True, multiple=True, metavar="NAME[:ROLE]",
              help="Who signed on paper, e.g. 王海涛:用户代表 (repeatable: the customer, the engineer …).")
@click.option("--signer-role", help="The role of a --signer given without one, e.g. 用户代表.")
@click.option("--signed-on", metavar="DATE", help="The date written by the signature (default today).")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def record_sign(env, number, scan, signers, signer_role, signed_on, as_json):
    """Attach the signed scan; the record becomes valid (filed)."""
    from .records import sign
    actor = env.act("record.sign")
    pairs = []
    for s in signers:
        name, _, role = s.replace("：", ":").partition(":")
        pairs.append((name, role or signer_role or ""))
    res = sign(env.ws, number, scan=scan, signers=pairs, actor=actor, signed_on=signed_on)
    emit(res.data, as_json, res.message)


@record.command("amend")
@click.argument("number")
@click.option("--data", "data_file", type=FilePath(), help="The whole record again (YAML or JSON).")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="Change one field (repeatable).")
@click.option("--reason", required=True)
@click.option("--no-pdf", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@pass_env
def record_amend(env, number, data_file, sets, reason, no_pdf, as_json):
    """A new version of NUMBER beside the original: --set for what changed, or --data for all."""
    from .records import amend
    res = amend(env.ws, number, data_file, reason=reason, actor=env.act("record.amend"), pdf=not no_pdf,
                sets=list(sets))
    emit(res.data, as_json, res.message)


@record.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def record_show(env, number, as_json):
    """A record: data, status, signatures, files, versions."""
    from .forms import load_forms_quietly
    from .records import show
    from .views import record_text
    d = show(env.ws, number)
    form = load_forms_quietly(env.ws).get(d["form"])
    labels = {f.name: f.label for f in form.fields} if form else {}
    labels.update({f"{f.name}.{c.name}": c.label for f in (form.fields if form else []) for c in f.columns})
    emit(d, as_json, lambda x: record_text(env.ws, x, labels))


@record.command("list")
@click.option("--form", "form_id", metavar="ID")
@click.option("--status", type=click.Choice(["awaiting_signature", "filed"]))
@click.option("--year", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_env
def record_list(env, form_id, status, year, as_json):
    """Records, filtered by form, status, year."""
    from .records import list_records
    from .views import record_list_text
    items = list_records(env.ws, form=form_id, status=status, year=year)
    emit(items, as_json, lambda xs: record_list_text(env.ws, xs))


# ------------------------------------------------------------------ retention, holds, disposal

@cli.group(cls=QmsGroup)
def retention():
    """Retention periods: what is due for disposal."""


@retention.command("report")
@click.option("--as-of", metavar="DATE")
@click.option("--form", "form_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def retention_report(env, as_of, form_id, as_json):
    """Records past their retention end, grouped by form; held ones marked."""
    from .retention import report
    from .textfmt import table
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


@cli.group(cls=QmsGroup)
def hold():
    """Legal holds: a held record is never disposed."""


@hold.command("add")
@click.argument("number")
@click.option("--reason", required=True)
@pass_env
def hold_add_cmd(env, number, reason):
    from .retention import hold_add
    click.echo(hold_add(env.ws, number, reason=reason, actor=env.act("records.hold")))


@hold.command("release")
@click.argument("number")
@click.option("--reason", required=True)
@pass_env
def hold_release_cmd(env, number, reason):
    from .retention import hold_release
    click.echo(hold_release(env.ws, number, reason=reason, actor=env.act("records.hold")))


@hold.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def hold_list_cmd(env, as_json):
    from .retention import hold_list
    from .textfmt import table
    items = hold_list(env.ws)
    emit(items, as_json, lambda xs: table(zh_cols(["记录编号", "表单", "原因", "冻结日期", "冻结人"],
                                                  ["number", "form", "reason", "since", "by"]),
                                          [[x["number"], x["form"], x["reason"], x["added_at"][:10], x["added_by"]]
                                           for x in xs]) if xs else zh("（无冻结）", "(no holds)"))


@cli.command()
@click.option("--as-of", metavar="DATE", help="Dispose of what is due at this date (default today).")
@click.option("--form", "form_id", metavar="ID")
@click.option("--dry-run", is_flag=True, help="Say what would be disposed; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def purge(env, as_of, form_id, dry_run, yes, as_json):
    """Dispose of every record past retention and not on hold; writes a disposal certificate."""
    from .retention import purge as do_purge, report
    actor = "" if dry_run else env.act("records.purge")   # a dry run changes nothing: anyone may look
    day = as_date(as_of)
    rep = report(env.ws, as_of=day, form=form_id)
    if not dry_run and not yes and sys.stdin.isatty():
        if rep["disposable"] and not click.confirm(
                f"Destroy {rep['disposable']} records past retention as of {rep['as_of']}?"):
            raise click.ClickException("purge cancelled; nothing changed")
    with progress_bar(0 if dry_run else rep["disposable"], "disposing") as bar:
        res = do_purge(env.ws, actor=actor, as_of=day, form=form_id, dry_run=dry_run,
                       progress=lambda n: bar.update(1))
    if as_json:
        return emit({"certificate": res["certificate"], "disposed": res["disposed"], "dry_run": dry_run}, True)
    if dry_run:
        click.echo(f"dry run: would dispose of {len(res['disposed'])} records: " + ", ".join(res["disposed"][:20])
                   + (" …" if len(res["disposed"]) > 20 else ""))
    elif res["certificate"]:
        click.echo(f"disposed of {len(res['disposed'])} records; certificate {res['certificate']} → {res['file']}")
    else:
        click.echo(f"nothing to dispose of as of {res['as_of']}")


@cli.group(cls=QmsGroup)
def disposal():
    """Disposal certificates (销毁记录), kept permanently."""


@disposal.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def disposal_list_cmd(env, as_json):
    from .retention import disposal_list
    from .textfmt import table
    items = disposal_list(env.ws)
    emit(items, as_json, lambda xs: table(zh_cols(["销毁证明", "销毁时间", "截至日期", "批准人", "记录数", "目录"],
                                                  ["certificate", "at", "as of", "by", "records", "folder"]),
                                          [[x["certificate"], x["at"][:19], x["as_of"], x["actor"], x["count"],
                                            x["folder"]] for x in xs]) if xs else zh("（无销毁记录）", "(no disposals)"))


@cli.command("compile")
@click.option("--form", "form_id", required=True, metavar="ID")
@click.option("--year", required=True, type=int)
@click.option("-o", "--output", required=True, type=FilePath(), help="VOLUME.pdf")
@pass_env
def compile_cmd(env, form_id, year, output):
    """The yearly volume (每年汇编成册) of one form's records."""
    from .volumes import compile_volume
    from .records import list_records
    actor = env.act("records.compile")
    with progress_bar(len(list_records(env.ws, form=form_id, year=year)), "compiling") as bar:
        res = compile_volume(env.ws, form=form_id, year=year, out=output, actor=actor,
                             progress=lambda n: bar.update(1))
    click.echo(f"compiled {res['records']} records of {form_id} {year} into {res['file']} ({res['pages']} pages)")


# ------------------------------------------------------------------ search

@cli.command()
@click.argument("query")
@click.option("--kind", type=click.Choice(["doc", "record"]))
@click.option("--form", "form_id", metavar="ID")
@click.option("--status")
@click.option("--from", "date_from", metavar="DATE")
@click.option("--to", "date_to", metavar="DATE")
@click.option("--limit", default=20, show_default=True)
@click.option("--offset", default=0, show_default=True, help="Skip this many hits (the next page).")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def search(env, query, kind, form_id, status, date_from, date_to, limit, offset, as_json):
    """Full-text search; a run of Chinese characters matches exactly that string."""
    from .labels import status_label
    from .search import search_page
    page = search_page(env.ws, query, kind=kind, form=form_id, status=status, date_from=as_date(date_from),
                       date_to=as_date(date_to), limit=limit, offset=offset)
    total = page["total"]

    def text(hs):
        if not hs:
            return "no hits" + (f" (共 {total} 条，--offset {offset} 已超出)" if total else "")
        out = []
        for h in hs:
            # the passage is (text, is_hit) spans: hits bold on a terminal, in 【】 in a pipe
            hit = (lambda t: click.style(t, bold=True, fg="red")) if sys.stdout.isatty() else "【{}】".format
            mark = "".join(hit(t) if is_hit else t for t, is_hit in h["highlight"])
            out.append(f"{h['number']}  [{h['kind']}{' ' + h['form'] if h['form'] else ''}]  {h['title']}  "
                       f"{h['date'] or ''}  {status_label(h['status'], env.ws.config.locale)}  "
                       f"score {h['score']:.2f}\n    {mark}")
        shown = f"{offset + 1}–{offset + len(hs)}" if offset else str(len(hs))
        more = f"; 下一页 --offset {offset + len(hs)}" if offset + len(hs) < total else ""
        out.append(f"— {shown} of {total} hits（共 {total} 条）{more}")
        return "\n".join(out)
    emit(page, as_json, lambda p: text(p["hits"]))      # --json: the web API's {total, hits}


@cli.command()
@pass_env
def reindex(env):
    """Rebuild the search index from the archive."""
    from .search import reindex as do_reindex, count_entries
    env.act("archive.maintain")
    with progress_bar(count_entries(env.ws), "indexing") as bar:
        n = do_reindex(env.ws, progress=lambda k: bar.update(1))
    click.echo(f"reindexed {n} documents and records")


# ------------------------------------------------------------------ audit, verify

@cli.command("log")
@click.option("--target", metavar="NUMBER", help="Only entries about this document or record.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def log_cmd(env, target, as_json):
    """The audit trail: who did what, when."""
    from dataclasses import asdict
    from . import audit
    entries = [asdict(e) for e in audit.read(env.ws.audit_path, target)]

    from .labels import local_time

    def text(es):
        return "\n".join(f"{e['seq']:>5}  {local_time(e['at'], env.ws.config.timezone)}  {e['actor']:<10} {e['action']:<16} {e['target']}  "
                         + json.dumps({k: v for k, v in e['data'].items() if k not in ('files',)},
                                      ensure_ascii=False)[:160] for e in es) or "(no entries)"
    emit(entries, as_json, text)


@cli.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also prove the journal still extends this signed checkpoint.")
@click.option("--deep", is_flag=True, hidden=True, help="Kept for scripts: every check now runs by default.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def verify_cmd(env, checkpoint_file, deep, as_json):
    """Check files, manifests and the journal against each other, the catalog and the index.
    Exit status 3 when a problem is found."""
    from .verify import verify
    rep = verify(env.ws, checkpoint=Path(checkpoint_file) if checkpoint_file else None)
    if as_json:
        emit(rep.to_json(), True)
    else:
        for p in rep.problems:
            click.echo(f"PROBLEM {p}")
        click.echo(f"{'ok' if rep.ok else 'FAILED'}: {rep.folders} folders, {rep.files} files, "
                   f"{rep.audit_entries} audit entries, {len(rep.problems)} problems")
    if not rep.ok:
        sys.exit(3)


@cli.command()
@pass_env
def rebuild(env):
    """Rebuild the catalog: the journal's projection applied from its first event."""
    from .rebuild import rebuild_catalog
    env.act("archive.maintain")
    rep = rebuild_catalog(env.ws)
    click.echo(rep.message())


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@pass_env
def recover(env, as_json):
    """Finish what a crashed command's journal event promised; remove what none promised."""
    from .writer import recover as do_recover
    env.act("archive.maintain")
    res = do_recover(env.ws)
    emit(res, as_json, lambda r: f"recovered: catalog at event {r['head']}, index at event {r['indexed']}")


@cli.command()
@click.option("--init-key", is_flag=True, help="Create the signing key (outside the archive) and print its public key.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Also write the checkpoint here.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def checkpoint(env, init_key, output, as_json):
    """Sign the journal's head with a key kept outside the archive."""
    from . import checkpoint as cp
    env.act("archive.maintain")
    if init_key:
        res = cp.init_key(env.ws)
        emit(res, as_json, lambda r: f"created {r['key']} (keep it private; 0600)\n"
                                     f"public key, also in {r['stored']}:\n{r['public_key']}")
        return
    res = cp.write_checkpoint(env.ws, Path(output) if output else None)
    emit(res, as_json, lambda r: f"checkpoint of seq {r['seq']} ({r['hash'][:16]}…) → {r['file']}"
         + (f" and {r['output']}" if r["output"] else "")
         + "\nkeep a copy outside this machine (print it, e-mail it, another disk): "
           "qms verify --checkpoint FILE proves the journal still extends it")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; keep 127.0.0.1 and put a TLS reverse proxy in front (README).")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@pass_env
def serve(env, host, port, workers):
    """The web application: auditors, approvers, engineers, keepers in a browser."""
    from .web.serve import run
    run(env.ws.root, host=host, port=port, workers=workers)


from .cli_identity import register as _register_identity  # noqa: E402  (user, login, keys commands)

_register_identity(cli, pass_env, emit)


def main():
    cli(prog_name="qms")


if __name__ == "__main__":
    main()

"""qms init, log, rebuild, recover, checkpoint, reindex, serve: the workspace and the archive's upkeep
(verify, which an auditor runs, has its own module: it loads none of these commands' services)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .env import pass_env
from .options import FilePath, as_date, emit, emit_page, json_option, page_options, progress_bar, read_secret, zh
from ..integrity.workspace_setup import create_workspace
from ..search import reindex as do_reindex, count_entries
from ..store import checkpoint as cp
from ..base.dates import local_time
from ..domain.labels import chinese
from ..domain import trail
from ..domain.trail import deed
from ..integrity.rebuild import rebuild_catalog
from ..migrate.migration import migrate
from ..store.writer import recover as do_recover
from ..store.checkpointer import checkpoint_now, write_checkpoint
from ..base.errors import QmsError
from ..integrity.governance import apply_config, status as governance_status
from ..scan.watch import start as start_scan_watch
from ..adapters import http_server


@click.command()
@click.argument("directory", type=FilePath(file_okay=False))
@click.option("--org", metavar="NAME", help="The organisation's name, printed on every document and form.")
@click.option("--org-en", metavar="NAME", help="Its English name (optional).")
@click.option("--admin", metavar="LOGIN", help="The first administrator's login (also for a workspace with no users yet).")
@click.option("--name", help="The administrator's printed name.")
@click.option("--department", default="", help="The administrator's department.")
@click.option("--password-stdin", is_flag=True, help="Read the administrator's password from standard input.")
@click.option("--no-examples", is_flag=True, help="Start without the example forms (schemas/ empty): for your own.")
@click.option("--database", metavar="URL", help="postgresql://USER@HOST[:PORT]/DB: catalog and journal in PostgreSQL (several sites).")
@click.option("--objects", metavar="URL", help="s3://BUCKET[/PREFIX]: archived files in object storage with Object Lock.")
@click.option("--s3-endpoint", metavar="URL", help="The S3 API's address when not AWS (Ceph RGW, …); credentials from AWS_*.")
def init(directory, org, org_en, admin, name, department, password_stdin, no_examples, database, objects,
         s3_endpoint):
    """Create a new workspace in DIRECTORY: defaults, first administrator, signing key."""
    if org is None and sys.stdin.isatty():
        org = click.prompt("organisation name (公司名称)", default="XXXXXX有限公司")
    password = read_secret(password_stdin, "Administrator password", confirm=True) if admin else None
    ws, user = create_workspace(directory, admin=admin, name=name, password=password, department=department,
                                org=org, org_en=org_en, examples=not no_examples,
                                storage={"database": database, "objects": objects, "s3_endpoint": s3_endpoint})
    click.echo(f"created workspace {ws.root} for {ws.config.org_name}"
               + (f" with administrator {user.login} ({user.name})" if user else "")
               + (" (no example forms)" if no_examples else ""))


@click.command()
@pass_env
def reindex(env):
    """Rebuild the search index from the archive."""
    env.act("archive.maintain")
    with progress_bar("indexing", count_entries(env.ws)) as progress:
        n = do_reindex(env.ws, progress=progress)
    click.echo(f"reindexed {n} documents and records")



@click.command("log")
@click.option("--target", metavar="NUMBER", help="Only entries about this document, record or user.")
@click.option("--actor", metavar="WHO", help="Only entries by this login or name.")
@click.option("--action", metavar="PREFIX", help="Only this action (record.file), or a family ending in a dot (doc.: every document event).")
@click.option("--from", "date_from", metavar="DATE", help="From this day on (the workspace's calendar).")
@click.option("--to", "date_to", metavar="DATE", help="Up to and including this day.")
@page_options
@json_option
@pass_env
def log_cmd(env, target, actor, action, date_from, date_to, limit, offset, as_json):
    """The audit trail: who did what, when — newest first, a page at a time
    (--json: {total, items, next})."""
    ws = env.ws
    page = trail.query(ws, limit=limit, offset=offset, target=target, actor=actor, action=action,
                       date_from=as_date(date_from, "--from") if date_from else None,
                       date_to=as_date(date_to, "--to") if date_to else None, check_journal=True)

    # a person reads the time in the workspace's zone and, in Chinese, who (login and name) did what
    # to what, the action's code kept for grep; --json keeps the ISO time with its offset and the data
    def line(e):
        if chinese(ws.config.locale):
            return f"{e['seq']:>5}  {local_time(e['at'], ws)}  {e['actor']}  {deed(e)}  [{e['action']}]"
        return (f"{e['seq']:>5}  {local_time(e['at'], ws)}  {e['actor']:<10} {e['action']:<16} {e['target']}  "
                + json.dumps({k: v for k, v in e['data'].items()
                             if k not in ('files', 'digests', 'settings', 'certificate')}, ensure_ascii=False)[:160])

    def text(es):
        return "\n".join(line(e) for e in es) or ("（无记录）" if chinese(ws.config.locale) else "(no entries)")
    emit_page(page, as_json, text)


@click.command()
@pass_env
def rebuild(env):
    """Rebuild the catalog: the journal's projection applied from its first event."""
    env.act("archive.maintain")
    rep = rebuild_catalog(env.ws)
    click.echo(rep.message())


@click.command("migrate")
@click.option("--to", "to", required=True, metavar="URL|DIR",
              help="postgresql://USER@HOST[:PORT]/DB (with --into DIR), or a folder: the embedded form.")
@click.option("--objects", metavar="URL", help="s3://BUCKET[/PREFIX]: the archived files also into this bucket, locked.")
@click.option("--s3-endpoint", metavar="URL", help="The S3 API's address when not AWS; credentials from AWS_*.")
@click.option("--into", metavar="DIR", help="The new workspace's folder when --to names a database.")
@json_option
@pass_env
def migrate_cmd(env, to, objects, s3_endpoint, into, as_json):
    """Copy this workspace to PostgreSQL (+ a bucket) or back to a folder; rerun to resume."""
    env.act("archive.maintain")
    rep = migrate(env.ws, to=to, objects=objects, s3_endpoint=s3_endpoint, into=into,
                  step=lambda name: click.echo(f"qms migrate: {name} …", err=True))
    emit(rep.to_json(), as_json, lambda _: rep.message())


@click.command()
@json_option
@pass_env
def recover(env, as_json):
    """Finish what a crashed command's journal event promised; remove what none promised."""
    env.act("archive.maintain")
    res = do_recover(env.ws)
    emit(res, as_json, lambda r: f"recovered: catalog at event {r['head']}, index at event {r['indexed']}"
         + (f"; PDFs pending for {len(r['pdf_pending'])} records (e.g. {r['pdf_pending'][0]}) — run "
            "`qms record pdf --pending`" if r["pdf_pending"] else ""))


@click.command()
@click.option("--init-key", is_flag=True, help="Create the signing key (outside the archive) and print its public key.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Also write the checkpoint here.")
@json_option
@pass_env
def checkpoint(env, init_key, output, as_json):
    """Sign the journal's head with a key kept outside the archive."""
    actor = env.act("archive.maintain")
    if init_key:
        res = cp.init_key(env.ws)
        emit(res, as_json, lambda r: f"created {r['key']} (keep it private; 0600)\n"
                                     f"public key, also in {r['stored']}:\n{r['public_key']}")
        return
    res = write_checkpoint(env.ws, Path(output) if output else None, actor=actor)
    emit(res, as_json, lambda r: f"checkpoint of seq {r['seq']} ({r['hash'][:16]}…) → {r['file']}"
         + (f" and {r['output']}" if r["output"] else "")
         + "\nkeep a copy outside this machine (print it, e-mail it, another disk): "
           "qms verify --checkpoint FILE proves the journal still extends it")


def default_workers() -> int:
    """One worker process per core this process may use, at most 4: sessions, locks, CSRF and the
    search totals live in the workspace's files, so any worker answers any request."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:          # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; keep 127.0.0.1 and put a TLS reverse proxy in front (README).")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes (default: one per core, at most 4).")
@pass_env
def serve(env, host, port, workers):
    """The web application: auditors, approvers, engineers, keepers in a browser."""
    try:
        checkpoint_now(env.ws, actor="qms serve", reason="serve start")     # the head as the server starts
    except (QmsError, OSError) as exc:        # read-only use goes on (a lost key stops writes, not reading)
        click.echo(f"qms: no checkpoint at start: {exc}", err=True)
    # (the checkpoint's write brought this server's folder up to the others' — several servers)
    # by name, so each worker process imports the app afresh; the CLI never imports the web package
    os.environ["QMS_WORKSPACE"] = str(env.ws.root)
    workers = workers or default_workers()
    print(f"qms web: http://{host}:{port}/  (workspace {env.ws.root}; {workers} worker processes; Ctrl-C stops)",
          flush=True)
    start_scan_watch(env.ws)         # the scan inbox (scan.inbox) and the job worker, one each
    code = http_server.run("qms.web.app:app_from_env", host=host, port=port, workers=workers,
                           proxy_headers=True, server_header=False, log_level="info")
    if code:
        raise SystemExit(code)


@click.group("config")
def config_group():
    """What governs the archive: config.yaml, schemas/, templates/ (journaled when applied)."""


@config_group.command("apply")
@json_option
@pass_env
def config_apply(env, as_json):
    """Check the edited configuration and journal it (an admin); writes resume."""
    res = apply_config(env.ws, actor=env.user)
    emit(res, as_json, lambda r: zh(f"已应用配置 {r['files']} 个文件（审计日志第 {r['seq']} 条）；变更：",
                                    f"applied {r['files']} files (audit.log entry {r['seq']}); changed: ")
         + (", ".join(r["changed"]) or "-") + "".join(f"\n  {line}" for line in r["changes"]))


@config_group.command("status")
@json_option
@pass_env
def config_status(env, as_json):
    """Files changed since the configuration was last applied."""
    res = governance_status(env.ws)
    emit(res, as_json, lambda r: "\n".join(zh(f"未应用  {p}", f"changed  {p}") for p in r["changed"])
         or zh(f"与已应用的配置一致（审计日志第 {r['applied_seq']} 条）", f"as applied (audit.log entry {r['applied_seq']})"))


COMMANDS = [init, reindex, log_cmd, rebuild, recover, migrate_cmd, checkpoint, serve, config_group]

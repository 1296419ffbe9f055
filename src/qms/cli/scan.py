"""qms scan … (the scan inbox and its review queue) and qms jobs … (work that waits)."""

from __future__ import annotations

import click

from .env import QmsGroup, pass_env, Env
from .options import emit, emit_table, json_option, zh
from ..scan import consume, queue, item, assign, discard
from ..jobs import list_jobs, run_pending


@click.group(cls=QmsGroup)
def scan():
    """Signed paper coming back: the scan inbox and the review queue."""


@scan.command("consume")
@click.argument("folder", required=False, type=click.Path(file_okay=False))
@json_option
@pass_env
def scan_consume(env, folder, as_json):
    """Read every scan in FOLDER (default: scan.inbox): split at each qms QR, file, queue the rest."""
    outcomes = consume(env.ws, folder, actor=env.act("record.sign"))
    emit([o.to_json() for o in outcomes], as_json,
         lambda xs: "\n".join(o.message for o in outcomes) or zh("收件箱中没有文件", "nothing in the inbox"))


@scan.command("list")
@click.option("--all", "all_items", is_flag=True, help="Every part ever received, not only the queue.")
@json_option
@pass_env
def scan_list(env, all_items, as_json):
    """The review queue: pages without a usable QR, unreadable files."""
    emit_table(queue(env.ws, all_items=all_items), as_json,
               (["编号", "文件", "页", "状态", "原因"], ["id", "file", "pages", "state", "reason"]),
               lambda x: [x["id"], x["file"], ",".join(map(str, x["pages"])) or "-", x["state"],
                          (x["reason"] or x["number"] or "")[:70]],
               empty=("待审队列为空", "the review queue is empty"))


@scan.command("show")
@click.argument("item_id", metavar="ID")
@json_option
@pass_env
def scan_show(env, item_id, as_json):
    """One queue item: its file, pages, reason, where it is archived."""
    emit(item(env.ws, item_id), as_json,
         lambda x: "\n".join(f"{k}: {v}" for k, v in x.items() if v not in (None, "", [])))


@scan.command("assign")
@click.argument("item_id", metavar="ID")
@click.argument("number")
@click.option("--signer", required=True, metavar="NAME[:ROLE]", help="Who signed the paper, e.g. 王海涛:用户代表.")
@click.option("--signed-on", metavar="DATE", help="The date by the signature (default today).")
@json_option
@pass_env
def scan_assign(env, item_id, number, signer, signed_on, as_json):
    """File a queued part as NUMBER's customer-signed scan."""
    name, _, role = signer.replace("：", ":").partition(":")
    emit(assign(env.ws, item_id, number, signer=(name, role), signed_on=signed_on,
                actor=env.act("record.sign")), as_json)


@scan.command("discard")
@click.argument("item_id", metavar="ID")
@click.option("--reason", required=True)
@json_option
@pass_env
def scan_discard(env, item_id, reason, as_json):
    """Take a part out of the queue as no record's scan (it stays in the archive)."""
    emit(discard(env.ws, item_id, reason=reason, actor=env.act("record.sign")), as_json)


@click.group(cls=QmsGroup, invoke_without_command=True)
@json_option
@click.pass_context
def jobs(ctx, as_json):
    """Work that waits (OCR …): what is queued, done, failed."""
    if ctx.invoked_subcommand is not None:
        return
    env = ctx.find_object(Env)
    emit_table(list_jobs(env.ws), as_json,
               (["任务", "类型", "对象", "状态", "尝试", "错误"], ["job", "kind", "target", "state", "attempts", "error"]),
               lambda j: [j["id"], j["kind"], j["target"], j["state"], j["attempts"], (j["last_error"] or "")[:60]],
               empty=("没有任务", "no jobs"))


@jobs.command("run")
@click.option("--wait", is_flag=True, help="Keep going until nothing queued is left to try (retries included).")
@json_option
@pass_env
def jobs_run(env, wait, as_json):
    """Run queued jobs in the foreground (for cron and tests)."""
    actor = env.act("record.sign")
    done = run_pending(env.ws, actor=actor, wait=wait)
    emit([r.to_json() for r in done], as_json,
         lambda xs: "\n".join(f"{r.id}: {r.outcome} — {r.message}" for r in done) or zh("没有待办任务", "no queued jobs"))


COMMANDS = [scan, jobs]

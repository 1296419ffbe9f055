"""qms todo, review, training, tick; user edit; doc receive-copy / return-copy (issue 23)."""

from __future__ import annotations

import click

from . import QmsGroup, pass_env
from .documents import doc
from .identity import user
from .options import emit, emit_table, json_option, read_secret


def _password(password_stdin: bool):
    return lambda: read_secret(password_stdin, "Password")


# ------------------------------------------------------------------ 我的待办

def _todo_text(d: dict) -> str:
    if not d["items"]:
        return f"{d['name']}（{d['login']}）：没有待办事项"
    lines = [f"{d['name']}（{d['login']}）的待办：{d['total']} 项，逾期 {d['overdue']} 项"]
    for i in d["items"]:
        due = f"  截止 {i['due']}" if i.get("due") else ""
        mark = "【逾期】" if i["overdue"] else ""
        lines.append(f"- {mark}{i['kind_zh']}：{i['title']}{due}")
    return "\n".join(lines)


def _overdue_text(d: dict) -> str:
    if not d["departments"]:
        return f"截至 {d['as_of']}，没有逾期事项"
    lines = [f"截至 {d['as_of']} 的逾期事项（按部门）："]
    for g in d["departments"]:
        lines.append(f"{g['department']}：{g['count']} 项")
        lines += [f"  - {i['name']}（{i['login']}）{i['kind_zh']}：{i['title']}  截止 {i['due']}" for i in g["items"]]
    return "\n".join(lines)


@click.command("todo")
@click.option("--all", "everyone", is_flag=True, help="全员逾期事项，按部门（质量负责人）。")
@json_option
@pass_env
def todo_cmd(env, everyone, as_json):
    """我的待办: everything waiting on you, overdue first."""
    from ..todo import overdue_by_department, todo
    if everyone:
        emit(overdue_by_department(env.ws, env.user), as_json, _overdue_text)
    else:
        emit(todo(env.ws, env.user), as_json, _todo_text)


# ------------------------------------------------------------------ 定期评审

@click.group(cls=QmsGroup)
def review():
    """Periodic review (定期评审): list what is due, close a review by signature."""


@review.command("list")
@click.option("--due-before", metavar="DATE", help="Only reviews due on or before DATE.")
@json_option
@pass_env
def review_list(env, due_before, as_json):
    """Every document in force with its next review (下次评审)."""
    from ..review.service import review_list as run
    emit_table(run(env.ws, due_before=due_before), as_json,
               (["文件编号", "名称", "版本", "实施", "下次评审", "状态", "负责人"],
                ["number", "title", "revision", "effective", "next review", "state", "owner"]),
               lambda s: [s["number"], s["title"], s["revision"], s["effective"], s["due"], s["state_zh"],
                          s["owner_name"]], empty=("没有需要定期评审的文件", "no document to review"))


@review.command("close")
@click.argument("number")
@click.option("--outcome", required=True, help="继续有效 | 需修订 | 作废")
@click.option("--comment", required=True, help="评审意见")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@pass_env
def review_close(env, number, outcome, comment, password_stdin, as_json):
    """Close NUMBER's open review (the owner's signature)."""
    from ..review.service import close
    emit(close(env.ws, number, outcome=outcome, comment=comment, user=env.user,
               password=_password(password_stdin)), as_json)


# ------------------------------------------------------------------ 阅读确认

@click.group(cls=QmsGroup)
def training():
    """Read-and-understood (阅读确认): assignments, acknowledge, matrix, who has not read."""


@training.command("list")
@click.option("--login", help="One person's assignments (default: yours; 'all' for everyone).")
@click.option("--open", "open_only", is_flag=True, help="Only those not yet read.")
@json_option
@pass_env
def training_list(env, login, open_only, as_json):
    """Reading assignments."""
    from ..training.service import assignments
    who = None if login == "all" else (login or env.user.login)
    emit_table(assignments(env.ws, login=who, open_only=open_only), as_json,
               (["文件编号", "版本", "名称", "姓名", "部门", "截止", "状态", "阅读日期"],
                ["number", "revision", "title", "name", "department", "due", "state", "read on"]),
               lambda a: [a["number"], a["revision"], a["title"], a["name"], a["department"], a["due"],
                          a["state_zh"], a["read_on"] or ""], empty=("没有阅读任务", "no reading assignment"))


@training.command("ack")
@click.argument("number")
@click.option("--revision", help="Default: the latest revision assigned.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@pass_env
def training_ack(env, number, revision, password_stdin, as_json):
    """Sign 已阅读并理解 for NUMBER."""
    from ..training.service import acknowledge
    emit(acknowledge(env.ws, number, user=env.user, password=_password(password_stdin), revision=revision), as_json)


@training.command("missing")
@click.argument("number")
@click.option("--revision")
@json_option
@pass_env
def training_missing(env, number, revision, as_json):
    """Who has not read NUMBER (its latest assigned revision) yet."""
    from ..training.service import missing
    d = missing(env.ws, number, revision=revision)
    emit(d, as_json, lambda d: f"{d['number']} {d['revision']}：应读 {d['assigned']} 人，已读 {d['read']} 人，"
                               f"未读 {len(d['missing'])} 人" + "".join(
                                   f"\n- {a['name']}（{a['login']}，{a['department'] or '—'}）截止 {a['due']}"
                                   f"{' 逾期' if a['state'] == 'overdue' else ''}" for a in d["missing"]))


@training.command("matrix")
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False), help="Write the matrix to an .xlsx file.")
@json_option
@pass_env
def training_matrix(env, xlsx, as_json):
    """The training matrix: people × documents (current revision), read on / due / overdue."""
    from ..training.service import matrix, matrix_xlsx
    if xlsx:
        import tempfile
        from pathlib import Path
        from .. import outputs
        with tempfile.TemporaryDirectory() as tmp:
            built = Path(tmp) / "matrix.xlsx"
            matrix_xlsx(env.ws, built)
            outputs.install(env.ws, built, xlsx, (".xlsx",))
        click.echo(f"已写出培训矩阵 → {xlsx}")
        return
    m = matrix(env.ws)
    by = {(c["login"], c["number"]): c for c in m["cells"]}
    from ..textfmt import table
    emit(m, as_json, lambda m: table(["姓名", "部门"] + [f"{d['number']} {d['revision']}" for d in m["documents"]],
                                     [[p["name"], p["department"]] + [
                                         (by[(p["login"], d["number"])]["read_on"] or by[(p["login"], d["number"])]["state_zh"])
                                         for d in m["documents"]] for p in m["people"]])
         if m["people"] else "没有阅读任务")


# ------------------------------------------------------------------ scheduler

@click.command("tick")
@json_option
@pass_env
def tick_cmd(env, as_json):
    """Create due reminders (exactly once) and send their e-mails; for cron (qms serve ticks itself)."""
    from ..notify.scheduler import tick
    d = tick(env.ws)
    emit(d, as_json, lambda d: f"提醒：新建 {len(d['created'])} 条，发送 {len(d['sent'])} 封"
                               + (f"，发送失败 {len(d['failed'])} 封" if d["failed"] else ""))


# ------------------------------------------------------------------ people, copies

@user.command("edit")
@click.argument("login")
@click.option("--department", help="部门 (a person moved in gets its current reading assignments)")
@click.option("--email", help="E-mail address for reminders")
@json_option
@pass_env
def user_edit(env, login, department, email, as_json):
    """Change a person's department or e-mail address."""
    from ..identity.profile import edit_user
    d = edit_user(env.ws, login, actor=env.user, department=department, email=email)
    emit(d, as_json, lambda d: f"已更新 {d['login']}：部门 {d['department'] or '—'}"
                               + (f"；待阅读 {'、'.join(d['to_read'])}" if d["to_read"] else ""))


@doc.command("receive-copy")
@click.argument("number")
@click.option("--copy", "copy_no", required=True, type=int, help="The distribution number (发放编号).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@pass_env
def doc_receive_copy(env, number, copy_no, password_stdin, as_json):
    """签收: the holder signs for a controlled copy."""
    from ..documents.receipts import receive
    emit(receive(env.ws, number, copy_no=copy_no, user=env.user, password=_password(password_stdin)), as_json)


@doc.command("return-copy")
@click.argument("number")
@click.option("--copy", "copy_no", required=True, type=int, help="The distribution number (发放编号).")
@click.option("--reason", default="", help="When a keeper records the paper's return for the holder.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@pass_env
def doc_return_copy(env, number, copy_no, reason, password_stdin, as_json):
    """回收: the holder signs that the copy is returned."""
    from ..documents.receipts import give_back
    emit(give_back(env.ws, number, copy_no=copy_no, user=env.user, password=_password(password_stdin),
                   reason=reason), as_json)


COMMANDS = [todo_cmd, review, training, tick_cmd]

"""qms todo, review, training, tick; user edit; doc receive-copy / return-copy (issue 23)."""

from __future__ import annotations

import click

from .env import QmsGroup, pass_env
from .documents import doc
from .identity import user
from .options import emit, emit_table, json_option, read_secret
from ..todo import overdue_by_department, todo
from ..review.reviews import close as close_review, review_list as run
from ..training.readings import assignments, acknowledge, missing, matrix, matrix_xlsx
import tempfile
from pathlib import Path
from ..store import outputs
from ..base.textfmt import table
from ..notify.scheduler import tick
from ..identity.profile import edit_user
from ..documents.receipts import receive, give_back
from ..change.requests import approve, cancel, list_requests, open_request, show as show_request
from ..capa.capas import add_action, close as close_capa, complete_action, open_capa, show as show_capa, verify
from ..base.errors import InvalidInput


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
    emit_table(run(env.ws, due_before=due_before), as_json,
               (["文件编号", "名称", "版本", "实施", "下次评审", "状态", "负责人"],
                ["number", "title", "revision", "effective", "next review", "state", "owner"]),
               lambda s: [s["number"], s["title"], s["revision"], s["effective"], s["due"], s["state_zh"],
                          s["owner_name"]], empty=("没有需要定期评审的文件", "no document to review"))


@review.command("close")
@click.argument("number")
@click.option("--outcome", required=True, help="继续有效 | 需修订 | 作废")
@click.option("--comment", required=True, help="评审意见")
@click.option("--approvers", help="需修订: the change request's approvers (logins, comma-separated).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@pass_env
def review_close(env, number, outcome, comment, approvers, password_stdin, as_json):
    """Close NUMBER's open review (the owner's signature): 继续有效, 需修订 (opens a change request), 作废."""
    emit(close_review(env.ws, number, outcome=outcome, comment=comment, user=env.user,
               password=_password(password_stdin), approvers=approvers), as_json)


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
    emit(acknowledge(env.ws, number, user=env.user, password=_password(password_stdin), revision=revision), as_json)


@training.command("missing")
@click.argument("number")
@click.option("--revision")
@json_option
@pass_env
def training_missing(env, number, revision, as_json):
    """Who has not read NUMBER (its latest assigned revision) yet."""
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
    if xlsx:
        with tempfile.TemporaryDirectory() as tmp:
            built = Path(tmp) / "matrix.xlsx"
            matrix_xlsx(env.ws, built)
            outputs.install(env.ws, built, xlsx, (".xlsx",))
        click.echo(f"已写出培训矩阵 → {xlsx}")
        return
    m = matrix(env.ws)
    by = {(c["login"], c["number"]): c for c in m["cells"]}
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
    emit(give_back(env.ws, number, copy_no=copy_no, user=env.user, password=_password(password_stdin),
                   reason=reason), as_json)


COMMANDS = [todo_cmd, review, training, tick_cmd]


# ------------------------------------------------------------------ 变更申请

def _cr_text(d: dict) -> str:
    lines = [f"{d['number']} {d['title']}（{d['status_zh']}）", f"原因：{d['reason']}"]
    if d["description"]:
        lines.append(f"说明：{d['description']}")
    if d["impact"]:
        lines.append(f"影响评估：{d['impact']}")
    lines.append(f"涉及文件：{'、'.join(d['affects'])}")
    lines.append("批准人：" + "、".join(f"{a['name']}（{'已批准 ' + a['signed']['signed_at'][:10] if a['signed'] else '待批准'}）"
                                      for a in d["approvers"]))
    lines += [f"- {r['number']} {r['revision']} {r['state_zh']}" for r in d["revisions"]]
    return "\n".join(lines)


@click.group(cls=QmsGroup)
def cr():
    """Change requests (变更申请): new, approve, show, list."""


@cr.command("new")
@click.option("--title", required=True)
@click.option("--reason", required=True, help="变更原因")
@click.option("--description", default="", help="变更内容")
@click.option("--impact", default="", help="影响评估")
@click.option("--affects", required=True, help="受影响的文件编号，逗号分隔")
@click.option("--approvers", required=True, help="批准人登录名，逗号分隔")
@json_option
@pass_env
def cr_new(env, title, reason, description, impact, affects, approvers, as_json):
    """Open a change request (numbered CR-YYYY-NNNN)."""
    emit(open_request(env.ws, title=title, reason=reason, description=description, impact=impact, affects=affects,
                      approvers=approvers, user=env.user), as_json)


@cr.command("approve")
@click.argument("number")
@click.option("--comment", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@pass_env
def cr_approve(env, number, comment, password_stdin, as_json):
    """Approve a change request (signature, meaning 批准变更)."""
    emit(approve(env.ws, number, user=env.user, password=_password(password_stdin), comment=comment), as_json)


@cr.command("cancel")
@click.argument("number")
@click.option("--reason", required=True)
@json_option
@pass_env
def cr_cancel(env, number, reason, as_json):
    """Cancel a change request that is not yet closed."""
    emit(cancel(env.ws, number, reason=reason, user=env.user), as_json)


@cr.command("show")
@click.argument("number")
@json_option
@pass_env
def cr_show(env, number, as_json):
    """A change request with the revisions drafted, signed and released under it."""
    emit(show_request(env.ws, number), as_json, _cr_text)


@cr.command("list")
@json_option
@pass_env
def cr_list(env, as_json):
    """Every change request and its status."""
    emit_table(list_requests(env.ws), as_json, (["编号", "标题", "状态", "涉及文件"], ["number", "title", "status", "affects"]),
               lambda d: [d["number"], d["title"], d["status_zh"], "、".join(d["affects"])],
               empty=("没有变更申请", "no change requests"))


# ------------------------------------------------------------------ 纠正预防措施

def _capa_text(d: dict) -> str:
    lines = [f"{d['number']} {d['title']}（{d['status_zh']}，来源：{d['source_zh']}"
             + (f" {d['record']}" if d["record"] else "") + "）", f"问题描述：{d['description']}"]
    if d["containment"]:
        lines.append(f"遏制措施：{d['containment']}")
    if d["root_cause"]:
        lines.append(f"根本原因：{d['root_cause']}")
    lines += [f"措施 {a['no']}：{a['text']}（{a['owner_name']}，期限 {a['due']}，{a['state_zh']}）" for a in d["actions"]]
    if d["verification"]:
        lines.append(f"有效性验证：{d['verification']}（{d['verified_by']}）")
    return "\n".join(lines)


@click.group(cls=QmsGroup)
def capa():
    """NC/CAPA (纠正预防措施): new, action, verify, close, show."""


@capa.command("new")
@click.option("--title", required=True)
@click.option("--description", required=True, help="问题描述")
@click.option("--from-record", "record", help="The complaint (or other) record it comes from.")
@click.option("--source", default="manual", help="complaint | audit | review | manual")
@click.option("--document", help="The document involved.")
@click.option("--containment", default="", help="遏制措施")
@click.option("--root-cause", default="", help="根本原因")
@json_option
@pass_env
def capa_new(env, title, description, record, source, document, containment, root_cause, as_json):
    """Open a CAPA (numbered CAPA-YYYY-NNNN)."""
    emit(open_capa(env.ws, title=title, description=description, user=env.user, source=source, record=record,
                   document=document, containment=containment, root_cause=root_cause), as_json)


@capa.command("action")
@click.argument("number")
@click.option("--owner", help="Add an action: its owner (login).")
@click.option("--due", help="Add an action: its due date.")
@click.option("--text", help="Add an action: what is to be done.")
@click.option("--done", "done", type=int, help="Sign action N as done (its owner).")
@click.option("--note", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@pass_env
def capa_action(env, number, owner, due, text, done, note, password_stdin, as_json):
    """Add an action (--owner --due --text) or sign one done (--done N)."""
    if done is not None:
        emit(complete_action(env.ws, number, done, user=env.user, password=_password(password_stdin), note=note),
             as_json)
    else:
        if not (owner and due and text):
            raise InvalidInput("增加措施须给出 --owner、--due 和 --text（或用 --done N 签署完成）", field="action")
        emit(add_action(env.ws, number, owner=owner, due=due, text=text, user=env.user), as_json)


@capa.command("verify")
@click.argument("number")
@click.option("--result", required=True, help="有效性验证结论")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@pass_env
def capa_verify(env, number, result, password_stdin, as_json):
    """Verify the effectiveness (signature) once every action is done."""
    emit(verify(env.ws, number, result=result, user=env.user, password=_password(password_stdin)), as_json)


@capa.command("close")
@click.argument("number")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@pass_env
def capa_close(env, number, password_stdin, as_json):
    """Close a verified CAPA (signature)."""
    emit(close_capa(env.ws, number, user=env.user, password=_password(password_stdin)), as_json)


@capa.command("show")
@click.argument("number")
@json_option
@pass_env
def capa_show(env, number, as_json):
    """A CAPA with its actions and verification."""
    emit(show_capa(env.ws, number), as_json, _capa_text)


COMMANDS += [cr, capa]

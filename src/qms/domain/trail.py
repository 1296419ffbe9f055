"""The audit trail as an auditor filters it: by target, actor, action and dates (newest first),
a page at a time from the catalog's indexed audit_trail table, each entry told as a sentence (who
did what to what) in the workspace's language."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from ..base.dates import local_time, zone_of
from ..base.paging import Page, bounds
from ..store import audit
from ..store.catalog import reading
from .labels import chinese
from ..store.workspace import Workspace


# the --json/API shape of one entry: the journal's own fields, as `qms log` always gave them
_ENTRY = "seq, at, actor, action, target, data, prev, hash, sig, psig"


def _day_start(day: dt.date, ws: Workspace) -> str:
    """Midnight of `day` in the reader's zone, as the table's UTC text (an event at 23:30 UTC is
    the next day in Shanghai)."""
    zone = zone_of(ws)
    start = dt.datetime.combine(day, dt.time())
    start = start.replace(tzinfo=zone) if zone is not None else start.astimezone()
    return start.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def _actor(cat, actor: str) -> str:
    """The column `actor` names: "login name" whole, else a login when one acted under it, else a
    printed name — one equality on one index, whose rows come in seq order (an OR of the three
    made SQLite sort every match of a busy person to cut one page)."""
    if " " in actor.strip():
        return "actor"
    return "login" if cat.one("SELECT 1 FROM audit_trail WHERE login=? LIMIT 1", actor) else "name"


def _where(ws: Workspace, cat, target, actor, action, date_from, date_to) -> tuple[str, list]:
    where, args = [], []
    if target:
        where.append("seq IN (SELECT seq FROM audit_numbers WHERE number=?)")
        args.append(target)
    if actor:                                   # the login, the printed name, or "login name"
        where.append(f"{_actor(cat, actor)}=?")
        args.append(actor.strip())
    if action:
        # one action (record.file), or a family ending in a dot (doc.: every document event): each an
        # equality on its own index, whose rows come in seq order (no sort of every match for a page)
        where.append("family=?" if action.endswith(".") else "action=?")
        args.append(action)
    if date_from:
        where.append("utc >= ?")
        args.append(_day_start(date_from, ws))
    if date_to:
        where.append("utc < ?")
        args.append(_day_start(date_to + dt.timedelta(days=1), ws))
    return (" WHERE " + " AND ".join(where)) if where else "", args


def query(ws: Workspace, *, limit: int | None = None, offset: int | None = None, target: str | None = None,
          actor: str | None = None, action: str | None = None, date_from: dt.date | None = None,
          date_to: dt.date | None = None, check_journal: bool = False) -> Page:
    """One page of the filtered trail, newest first, read from the catalog's audit_trail table
    (the journal's projection: indexed, counted and cut in SQL); entries shaped as `qms log --json`.
    `action` is one action or a family ("doc."); `actor` the login, the printed name or the whole "login name".
    `check_journal`: first read every line of audit.log as a reader does, refusing (exit 3) a line a
    person could misread (a duplicate key, a non-canonical line) — `qms log`'s promise, which costs a
    pass over the journal; the web and the API leave that to verify."""
    limit, offset = bounds(limit, offset)
    if check_journal:
        audit.entries_after(ws.audit_path, 0)
    with reading(ws) as cat:
        where, args = _where(ws, cat, target, actor, action, date_from, date_to)
        total = cat.one(f"SELECT COUNT(*) AS n FROM audit_trail{where}", *args)["n"]
        if not where:
            # the whole trail: seq runs 1…N without a gap (the projection adds entries in journal
            # order), so page k starts at seq N - offset — one index lookup however deep the page
            top = cat.one("SELECT COALESCE(MAX(seq), 0) AS n FROM audit_trail")["n"] - offset
            rows = cat.all(f"SELECT {_ENTRY} FROM audit_trail WHERE seq <= ? ORDER BY seq DESC LIMIT ?", top, limit)
        else:
            rows = cat.all(f"SELECT {_ENTRY} FROM audit_trail{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                           *args, limit, offset)
    items = [dict(r) | {"data": json.loads(r["data"])} for r in rows]
    return Page(total, items, offset, limit)


@dataclass
class TrailPage:
    total: int
    entries: list[dict]      # each with `when` (local time) and `sentence` added


def trail_page(ws: Workspace, *, limit: int, offset: int = 0, **filters) -> TrailPage:
    """One page of the filtered trail, newest first, each entry put into words."""
    page = query(ws, limit=limit, offset=offset, **filters)
    zh = chinese(ws.config.locale)
    for e in page.items:
        e["when"] = local_time(e["at"], ws)
        e["who"] = person(e["actor"])
        e["sentence"] = sentence(e, zh=zh)
    return TrailPage(page.total, page.items)


def person(actor: str) -> str:
    """'liming 李明' → 李明 (the printed name; a login alone, or 'qms init', stays as it is)."""
    login, _, name = (actor or "").partition(" ")
    return name if name and not name.startswith("init") else (actor or "")


def _rev(d: dict) -> str:
    return f" {d['revision']}" if d.get("revision") else ""


def _reason(d: dict, key: str = "reason") -> str:
    return f"：{d[key]}" if d.get(key) else ""


# action → what the person did, in words; `t` is the target, `d` the event's data
_ZH = {
    "doc.submit": lambda t, d: (f"替换了 {t}{_rev(d)} 草稿" if d.get("replaces_draft") else f"提交了 {t}{_rev(d)} 草稿")
    + (f"（{d['change']}）" if d.get("change") else ""),
    "doc.sign": lambda t, d: f"签署了 {t}{_rev(d)}（{d.get('role_label') or d.get('role') or ''}）",
    "doc.reject": lambda t, d: f"驳回了 {t}{_rev(d)}，{len(d.get('voided') or [])} 个签署作废{_reason(d)}",
    "doc.withdraw": lambda t, d: f"撤回了 {t}{_rev(d)} 草稿{_reason(d)}",
    "doc.release": lambda t, d: f"发布了 {t}{_rev(d)}（发布 {d.get('issued', '')}，实施 {d.get('effective', '')}）",
    "doc.obsolete": lambda t, d: f"作废了 {t} {'、'.join(d.get('revisions') or [])}".rstrip() + _reason(d),
    "doc.issue_copy": lambda t, d: f"向 {d.get('holder', '')} 发放了 {t}{_rev(d)} 受控副本 No.{d.get('copy_no', '')}",
    "doc.recall": lambda t, d: f"从 {d.get('holder', '')} 回收了 {t}{_rev(d)} 受控副本 No.{d.get('copy_no', '')}",
    "record.file": lambda t, d: f"归档了记录 {t}" + (f"（{d['customer']}）" if d.get("customer") else ""),
    "record.sign": lambda t, d: f"上传了 {t} 的签字扫描件（签字人 {d.get('signer', '')}，{d.get('signed_on', '')}）",
    "record.amend": lambda t, d: f"修改了记录 {t}，形成第 {d.get('version', '')} 版{_reason(d)}",
    "record.pdf": lambda t, d: f"生成了 {t} 的 PDF",
    "record.compile": lambda t, d: f"汇编了 {t} {d.get('year', '')} 年度记录（{d.get('records', 0)} 份，{d.get('pages', 0)} 页）",
    "hold.add": lambda t, d: f"对 {t} 加入法律保全{_reason(d)}",
    "hold.release": lambda t, d: f"解除了 {t} 的法律保全{_reason(d)}",
    "disposal.propose": lambda t, d: f"提出了销毁审批 {t}（{len(d.get('records') or [])} 条记录，截至 {d.get('as_of', '')}）",
    "disposal.reject": lambda t, d: f"驳回了销毁审批 {t}{_reason(d)}",
    "doc.redate": lambda t, d: f"更正了 {t}{_rev(d)} 的日期（发布 {d.get('issued', '')}，实施 {d.get('effective', '')}）"
    + _reason(d),
    "purge": lambda t, d: f"销毁了 {len(d.get('disposed') or [])} 条记录（销毁证明 {t}，截至 {d.get('as_of', '')}）",
    "user.created": lambda t, d: f"创建了用户 {t}（{d.get('name', '')}，角色 {'、'.join(d.get('roles') or [])}）",
    "user.roles": lambda t, d: f"修改了用户 {t} 的角色" + (f"为 {'、'.join(d['roles'])}" if d.get("roles") else ""),
    "user.disabled": lambda t, d: f"停用了用户 {t}{_reason(d)}",
    "user.password_changed": lambda t, d: f"修改了用户 {t} 的密码",
    "login.failed": lambda t, d: f"登录失败（账号 {t}）",
    "login.locked": lambda t, d: f"登录失败次数过多，账号 {t} 已锁定",
    "keys.created": lambda t, d: "生成了组织的签章密钥",
    "keys.imported": lambda t, d: "导入了组织的签章密钥",
    "kpi.capa_proposed": lambda t, d: f"指标“{d.get('title', '')}”{d.get('period', '')}"
    + (f"（{d['group']}）" if d.get("group") else "") + f"未达目标，提出纠正预防措施（CAPA）建议",
    "kpi.capa_accepted": lambda t, d: f"接受了纠正预防措施建议 {t}" + (f"，开立 {d['capa']}" if d.get("capa") else ""),
    "kpi.capa_dismissed": lambda t, d: f"不采纳纠正预防措施建议 {t}{_reason(d)}",
    # issue 23: the quality process around documents
    "user.department": lambda t, d: f"将用户 {t} 调入{d.get('department') or '（无部门）'}",
    "user.email": lambda t, d: f"设置了用户 {t} 的电子邮件地址",
    "training.assigned": lambda t, d: f"布置了 {t}{_rev(d)} 的阅读任务（"
    + ("、".join(a.get("name", "") for a in d.get("assignments") or []) or "无需重新培训") + "）",
    "training.ack": lambda t, d: f"签署了 {t}{_rev(d)}「{d.get('meaning', '已阅读并理解')}」",
    "review.closed": lambda t, d: f"关闭了 {t} 的定期评审（{d.get('outcome', '')}）"
    + (f"，下次评审 {d['next_due']}" if d.get("next_due") else ""),
    "reminder": lambda t, d: f"生成提醒：{d.get('subject', t)}",
    "reminder.sent": lambda t, d: f"发送了提醒邮件至 {d.get('to', '')}",
    "doc.copy_received": lambda t, d: f"签收了 {t}{_rev(d)} 受控副本 No.{d.get('copy_no', '')}",
    "cr.opened": lambda t, d: f"提出了变更申请 {t}：{d.get('title', '')}（涉及 {'、'.join(d.get('affects') or [])}）",
    "cr.approved": lambda t, d: f"批准了变更申请 {t}",
    "cr.linked": lambda t, d: f"将 {d.get('number', '')} {d.get('revision', '')} 关联到变更申请 {t}",
    "cr.cancelled": lambda t, d: f"取消了变更申请 {t}{_reason(d)}",
    "capa.opened": lambda t, d: f"登记了纠正预防措施 {t}：{d.get('title', '')}"
    + (f"（来自记录 {d['record']}）" if d.get("record") else ""),
    "capa.action": lambda t, d: f"为 {t} 增加措施 {d.get('no', '')}（责任人 {d.get('owner_name', '')}，期限 {d.get('due', '')}）",
    "capa.action_done": lambda t, d: f"签署完成 {t} 措施 {d.get('no', '')}",
    "capa.verified": lambda t, d: f"验证了 {t} 的有效性",
    "capa.closed": lambda t, d: f"关闭了纠正预防措施 {t}",
    "doc.copy_returned": lambda t, d: f"签署回收了 {t}{_rev(d)} 受控副本 No.{d.get('copy_no', '')}{_reason(d)}",
    # the scan inbox and jobs (issue 22)
    "scan.receive": lambda t, d: f"收到扫描文件 {d.get('name', '')}（{t}，{d.get('pages', 0)} 页，"
    f"拆分为 {len(d.get('parts') or [])} 份）",
    "scan.filed": lambda t, d: f"将扫描件 {t}-{d.get('part', '')} 归档为 {d.get('number', '')} 的签字扫描件",
    "scan.queued": lambda t, d: f"将扫描件 {t}-{d.get('part', '')} 转入待审{_reason(d)}",
    "scan.discard": lambda t, d: f"将扫描件 {t}-{d.get('part', '')} 移出待审（不归档）{_reason(d)}",
    "scan.ocr": lambda t, d: f"完成了 {t} 签字扫描件的文字识别（OCR）",
    "job.queue": lambda t, d: f"排队了后台任务 {t}",
    "job.fail": lambda t, d: f"后台任务 {t} 失败：{d.get('error', '')}",
    "job.done": lambda t, d: f"完成了后台任务 {t}",
}


def deed(e: dict, *, zh: bool = True) -> str:
    """'签署了 QP-SC-015 A/1（批准）': what was done to what. An action without words of its own
    (added later) still reads: the action and the target."""
    target, data = e.get("target") or "", e.get("data") or {}
    words = _ZH.get(e["action"]) if zh else None
    if words is not None:
        try:
            return words(target, data)
        except (TypeError, KeyError, AttributeError):
            pass            # an older entry shaped differently: fall through to the plain form
    return f"{e['action']} {target}".rstrip()


def sentence(e: dict, *, zh: bool = True) -> str:
    """'李明 签署了 QP-SC-015 A/1（批准）': who did what to what (the time is shown beside it)."""
    return f"{person(e['actor'])} {deed(e, zh=zh)}"

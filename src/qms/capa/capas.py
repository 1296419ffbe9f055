"""CAPA: open, add actions, complete an action, verify effectiveness, close — each completion an
e-signature. The record it came from links to it (records_of)."""

from __future__ import annotations

from ..store.catalog import reading
from ..base.dates import parse_date, today
from ..base.errors import Conflict, InvalidInput, NotFound, Refused
from ..identity import User, require
from ..identity.users import get_user
from ..domain.results import Change
from ..identity.completion import completion_signature, may_see_all
from ..store.workspace import Workspace
from ..store.writer import writing

SOURCES = {"complaint": "客户投诉", "audit": "审核发现", "review": "评审", "manual": "手工登记", "kpi": "指标未达成"}
STATUS_ZH = {"open": "处理中", "verified": "已验证", "closed": "已关闭"}


def _text(value: str, field: str, what: str) -> str:
    if not value or not value.strip():
        raise InvalidInput(f"{what}不能为空（--{field}）", field=field)
    return value.strip()


def open_capa(ws: Workspace, *, title: str, description: str, user: User, source: str = "manual",
              record: str | None = None, document: str | None = None, containment: str = "",
              root_cause: str = "") -> Change:
    if not user.may("doc.submit"):        # quality staff or the clerk who filed the complaint
        require(user, "record.file")
    title, description = _text(title, "title", "标题"), _text(description, "description", "问题描述")
    if record:
        source = "complaint" if source == "manual" else source
    if source not in SOURCES:
        raise InvalidInput(f"来源 {source!r} 无效；应为 {'、'.join(SOURCES)}", field="source")
    with writing(ws, purpose="capa new") as w:
        if record and w.cat.one("SELECT 1 FROM records WHERE number=?", record) is None:
            raise NotFound(f"没有记录 {record}（qms record list 列出记录）", field="record")
        if document:
            doc = w.cat.one("SELECT obsolete_on FROM documents WHERE number=?", document)
            if doc is None:
                raise NotFound(f"没有文件 {document}", field="document")
        year = today().year
        key = f"CAPA-{year}"
        seq = w.next_seq(key)
        number = f"CAPA-{year}-{seq:04d}"
        (entry,) = w.commit([{"action": "capa.opened", "target": number,
                              "data": {"sequence": key, "seq": seq, "title": title, "description": description,
                                       "source": source, "record": record, "document": document,
                                       "containment": containment.strip(), "root_cause": root_cause.strip()}}],
                            actor=user.actor)
    return Change(f"已登记纠正预防措施 {number}：{title}" + (f"（来自记录 {record}）" if record else ""),
                  {"number": number, "record": record, "source": source}, seq=entry.seq)


def _row(cat, number: str):
    row = cat.one("SELECT * FROM capas WHERE number=?", number)
    if row is None:
        raise NotFound(f"没有纠正预防措施 {number}", field="capa")
    return row


def show(ws: Workspace, number: str) -> dict:
    on = today().isoformat()
    with reading(ws) as cat:
        row = _row(cat, number)
        actions = [dict(a) for a in cat.all("SELECT * FROM capa_actions WHERE capa=? ORDER BY no", number)]
    for a in actions:
        a["state_zh"] = "已完成" if a["done_at"] else ("逾期" if a["due"] < on else "进行中")
    status = "closed" if row["closed_at"] else "verified" if row["verified_at"] else "open"
    return {**dict(row), "source_zh": SOURCES.get(row["source"], row["source"]), "actions": actions,
            "status": status, "status_zh": STATUS_ZH[status]}


def add_action(ws: Workspace, number: str, *, owner: str, due: str, text: str, user: User) -> Change:
    text = _text(text, "text", "措施内容")
    day = parse_date(due, field="--due")
    if day < today():
        raise InvalidInput(f"完成期限 {day} 已过（今天 {today()}）；应为今天或以后", field="due")
    person = get_user(ws, owner)
    if person is None or person.disabled:
        raise NotFound(f"没有用户 {owner!r}（责任人须是在用的登录名）", field="owner")
    with writing(ws, purpose="capa action") as w:
        row = _row(w.cat, number)
        if row["closed_at"] or row["verified_at"]:
            raise Conflict(f"{number} 已验证或关闭，不能再增加措施", field="capa")
        no = (w.cat.one("SELECT MAX(no) AS n FROM capa_actions WHERE capa=?", number)["n"] or 0) + 1
        (entry,) = w.commit([{"action": "capa.action", "target": number,
                              "data": {"no": no, "owner": person.login, "owner_name": person.name,
                                       "due": day.isoformat(), "text": text}}], actor=user.actor)
    return Change(f"{number} 增加措施 {no}：{text}（责任人 {person.name}，期限 {day}）",
                  {"number": number, "no": no, "owner": person.login, "due": day.isoformat()}, seq=entry.seq)


def complete_action(ws: Workspace, number: str, no: int, *, user: User, password, note: str = "") -> Change:
    d = show(ws, number)
    action = next((a for a in d["actions"] if a["no"] == no), None)
    if action is None:
        raise NotFound(f"{number} 没有措施 {no}", field="action")
    if action["owner"] != user.login:
        raise Refused(f"措施 {no} 的责任人是 {action['owner_name']}，由其签署完成", field="action")
    if action["done_at"]:
        raise Conflict(f"措施 {no} 已完成", field="action")
    sig = completion_signature(ws, user, password, "措施已完成")
    with writing(ws, purpose="capa action done") as w:
        (entry,) = w.commit([{"action": "capa.action_done", "target": number,
                              "data": {"no": no, "note": note.strip(), **sig}}], actor=user.actor)
    return Change(f"{user.name} 已签署完成 {number} 措施 {no}", {"number": number, "no": no, **sig}, seq=entry.seq)


def _quality_manager(user: User, what: str) -> None:
    if not may_see_all(user):
        raise Refused(f"{user.name}（{user.login}）无权{what}（需质量负责人：doc.release、users.manage 或 "
                      "records.dispose.approve）", field="capa")


def verify(ws: Workspace, number: str, *, result: str, user: User, password) -> Change:
    _quality_manager(user, "验证有效性")
    result = _text(result, "result", "有效性验证结论")
    d = show(ws, number)
    if d["status"] != "open":
        raise Conflict(f"{number} {d['status_zh']}", field="capa")
    if not d["actions"]:
        raise Conflict(f"{number} 还没有措施（qms capa action）", field="capa")
    if any(not a["done_at"] for a in d["actions"]):
        raise Conflict(f"{number} 尚有措施未完成：" + "、".join(str(a["no"]) for a in d["actions"] if not a["done_at"]),
                       field="capa")
    sig = completion_signature(ws, user, password, "有效性已验证")
    with writing(ws, purpose="capa verify") as w:
        (entry,) = w.commit([{"action": "capa.verified", "target": number, "data": {"result": result, **sig}}],
                            actor=user.actor)
    return Change(f"{user.name} 已验证 {number} 的有效性", {"number": number, "result": result, **sig}, seq=entry.seq)


def close(ws: Workspace, number: str, *, user: User, password) -> Change:
    _quality_manager(user, "关闭纠正预防措施")
    d = show(ws, number)
    if d["status"] == "closed":
        raise Conflict(f"{number} 已关闭", field="capa")
    if d["status"] != "verified":
        raise Conflict(f"{number} 尚未验证有效性（qms capa verify），不能关闭", field="capa")
    sig = completion_signature(ws, user, password, "批准关闭")
    with writing(ws, purpose="capa close") as w:
        (entry,) = w.commit([{"action": "capa.closed", "target": number, "data": sig}], actor=user.actor)
    return Change(f"{user.name} 已关闭 {number}", {"number": number, **sig}, seq=entry.seq)


def of_record(ws: Workspace, record: str) -> list[dict]:
    """The CAPAs opened from a record: its page links to them."""
    with reading(ws) as cat:
        rows = cat.all("SELECT number, title, verified_at, closed_at FROM capas WHERE record=? ORDER BY number", record)
    return [{"number": r["number"], "title": r["title"],
             "status_zh": STATUS_ZH["closed" if r["closed_at"] else "verified" if r["verified_at"] else "open"]}
            for r in rows]


def my_actions(ws: Workspace, user: User, on) -> list[dict]:
    """The to-do's source: open CAPA actions this person owns."""
    with reading(ws) as cat:
        rows = cat.all("SELECT a.*, c.title FROM capa_actions a JOIN capas c ON c.number=a.capa "
                       "WHERE a.owner=? AND a.done_at IS NULL AND c.closed_at IS NULL ORDER BY a.due", user.login)
    return [{"kind": "capa", "kind_zh": "纠正预防措施", "title": f"{r['capa']} 措施 {r['no']}：{r['text']}",
             "due": r["due"], "link": f"/capa/{r['capa']}", "number": r["capa"]} for r in rows]


def open_capas(ws: Workspace) -> list[dict]:
    """CAPAs not yet closed, oldest first, with their earliest open action's due date and their state."""
    with reading(ws) as cat:
        rows = cat.all("SELECT number, title, opened_at, verified_at FROM capas WHERE closed_at IS NULL "
                       "ORDER BY number")
        out = []
        for r in rows:
            due = cat.one("SELECT MIN(due) AS due FROM capa_actions WHERE capa=? AND done_at IS NULL", r["number"])
            out.append({"number": r["number"], "title": r["title"], "due": (due or {}).get("due") or "",
                        "state": "已验证待关闭" if r["verified_at"] else "进行中"})
    return out

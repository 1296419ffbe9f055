"""Terminal text for `doc show`, `record show`, `record list` and `search`: what a person reads.

Chinese labels and statuses when the workspace's locale is zh-CN (English otherwise),
times in the workspace's time zone, table fields as tables. --json output is untouched.
"""

from __future__ import annotations

from .labels import chinese, local_time, status_label
from .textfmt import table
from .workspace import Workspace


def _t(ws: Workspace, zh: str, en: str) -> str:
    return zh if chinese(ws.config.locale) else en


def doc_text(ws: Workspace, d: dict) -> str:
    loc, tz = ws.config.locale, ws.config.timezone
    lines = [f"{d['number']}  {d['title']}",
             f"{_t(ws, '版本', 'revision')} {d['revision']}  {_t(ws, '状态', 'status')} "
             f"{status_label(d['status'], loc)}（{_t(ws, '截至', 'as of')} {d['as_of']}）",
             f"发布 {d['issued'] or '-'}  实施 {d['effective'] or '-'}  {_t(ws, '编制部门', 'department')} "
             f"{d['department']}"]
    if d.get("obsolete_on"):
        lines.append(f"作废 {d['obsolete_on']}: {d['obsolete_reason']}")
    if d["approvals"]:
        lines.append(_t(ws, "签署：", "approvals:"))
        # the manifestation (21 CFR 11.50): printed name and login, role, meaning, time; a void
        # signature (a rejected draft) stays listed, marked VOID with when and why
        lines += [f"  {a['role_label']} ({a['role']})  {a['name']} ({a.get('login') or '-'})  {a['signed_on'] or ''}  "
                  f"（{_t(ws, '签署于', 'signed')} {local_time(a['signed_at'], tz)}）  — {a.get('meaning') or ''}"
                  + (f"  VOID {a.get('void_at')}: {a.get('void_reason')}" if a.get("void") else "")
                  for a in d["approvals"]]
    lines.append(_t(ws, "文件：", "files:"))
    lines += [f"  {k}: {v}" for k, v in d["files"].items()]
    lines.append(_t(ws, "修订记录：", "revisions:"))
    lines += [f"  {r['revision']}  {status_label(r['status'], loc)}  发布 {r['issued'] or '-'}  "
              f"实施 {r['effective'] or '-'}  {r['change'] or ''}" for r in d["revisions"]]
    return "\n".join(lines)


def _value_lines(label: str, value, col_labels: dict[str, str]) -> list[str]:
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        cols: list[str] = []
        for r in value:
            cols += [c for c in r if c not in cols]
        body = table([col_labels.get(c, c) for c in cols], [[r.get(c, "") for c in cols] for r in value])
        return [f"  {label}:"] + ["    " + line for line in body.splitlines()]
    return [f"  {label}: {'' if value is None else value}"]


def record_text(ws: Workspace, d: dict, labels: dict[str, str] | None = None) -> str:
    """`labels`: field name → label, and "field.column" → column label for table fields."""
    loc, tz = ws.config.locale, ws.config.timezone
    if d["status"] == "disposed":
        return (f"{d['number']}  {d['form']}  {_t(ws, '已销毁', 'DISPOSED')} DISPOSED {d['disposed_at'][:10]}"
                f"（{_t(ws, '销毁证书', 'certificate')} {d['certificate']}）；"
                f"{_t(ws, '保存期至', 'retention ended')} {d['retention_until']}")
    labels = labels or {}
    lines = [f"{d['number']}  {d['form']}  {_t(ws, '状态', 'status')} {status_label(d['status'], loc)}"
             f"{_t(ws, '  法律保全中', '  ON HOLD') if d.get('held') else ''}",
             f"{_t(ws, '记录日期', 'record date')} {d['record_date']}  {_t(ws, '归档', 'filed')} "
             f"{local_time(d['filed_at'], tz)} {_t(ws, '归档人', 'by')} {d['filed_by']}  "
             f"{_t(ws, '保存期至', 'retention until')} {d['retention_until'] or _t(ws, '永久', 'permanent')}  "
             f"{_t(ws, '版本', 'version')} {d['version']}"]
    for k, v in d["data"].items():
        cols = {key.split(".", 1)[1]: lab for key, lab in labels.items() if key.startswith(k + ".")}
        lines += _value_lines(labels.get(k, k), v, cols)
    for s in d["signatures"]:
        lines.append(f"{_t(ws, '用户签字', 'signed by')} {s['signer']} {s['role']}  {local_time(s['at'], tz)}")
    lines += [f"{_t(ws, '文件', 'file')} {k}: {v}" for k, v in d["files"].items()]
    if d.get("pdf_pending"):
        lines.append(_t(ws, "PDF 待生成（运行 qms record pdf --pending）", "PDF pending (run qms record pdf --pending)"))
    if len(d["versions"]) > 1:
        lines += [f"{_t(ws, '版本', 'version')} {v['version']}  {local_time(v['filed_at'], tz)}  {v['filed_by']}  "
                  f"{v['reason'] or _t(ws, '（原始版本）', '(original)')}" for v in d["versions"]]
    return "\n".join(lines)


def record_list_text(ws: Workspace, items: list[dict]) -> str:
    if not items:
        return _t(ws, "（无记录）", "(no records)")
    loc = ws.config.locale
    headers = (["记录编号", "表单", "状态", "记录日期", "保存期至", "用户单位"] if chinese(loc)
               else ["number", "form", "status", "record date", "retention until", "customer"])
    return table(headers, [[x["number"], x["form"], status_label(x["status"], loc), x["record_date"],
                            x["retention_until"], x["customer"]] for x in items])


def copies_text(ws: Workspace, items: list[dict]) -> str:
    if not items:
        return _t(ws, "（无受控副本）", "(no controlled copies)")
    loc, tz = ws.config.locale, ws.config.timezone
    zh = chinese(loc)
    headers = ["发放编号", "持有部门", "版本", "发放日期", "回收日期", ""] if zh else \
        ["No.", "holder", "revision", "issued", "recalled", ""]
    return table(headers, [[x["copy_no"], x["holder"], x["revision"], local_time(x["issued_at"], tz)[:10],
                            local_time(x["recalled_at"], tz)[:10],
                            (f"应回收（该版本{status_label(x['revision_status'], loc)}）" if zh else
                             f"RECALL (revision {x['revision_status']})") if x["to_recall"] else ""]
                           for x in items])

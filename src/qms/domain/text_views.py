"""Terminal text for `doc show`, `record show`, `record list` and `search`: what a person reads.

Chinese labels and statuses when the workspace's locale is zh-CN (English otherwise),
times in the workspace's time zone, table fields as tables. --json output is untouched.
"""

from __future__ import annotations

from .labels import chinese, local_time, status_label
from ..base.textfmt import table
from ..store.workspace import Workspace
from .forms import load_forms_quietly


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
        return (f"{d['number']}  {d['form']}  {_t(ws, '已销毁', 'DISPOSED')} DISPOSED {local_time(d['disposed_at'], tz)[:10]}"
                f"（{_t(ws, '销毁证书', 'certificate')} {d['certificate']}）；"
                f"{_t(ws, '保存期至', 'retention ended')} {d['retention_until']}")
    labels = labels or {}
    form = load_forms_quietly(ws).get(d["form"])
    noun = form.signer_noun if form else None       # 待业主签字 for a form whose signer is the 业主
    lines = [f"{d['number']}  {d['form']}{'  ' + form.title if form else ''}  {_t(ws, '状态', 'status')} "
             f"{status_label(d['status'], loc, noun)}"
             f"{_t(ws, '  法律保全中', '  ON HOLD') if d.get('held') else ''}",
             f"{_t(ws, '记录日期', 'record date')} {d['record_date']}  {_t(ws, '归档', 'filed')} "
             f"{local_time(d['filed_at'], tz)} {_t(ws, '归档人', 'by')} {d['filed_by']}  "
             f"{_t(ws, '保存期至', 'retention until')} {d['retention_until'] or _t(ws, '永久', 'permanent')}  "
             f"{_t(ws, '版本', 'version')} {d['version']}"]
    for k, v in d["data"].items():
        cols = {key.split(".", 1)[1]: lab for key, lab in labels.items() if key.startswith(k + ".")}
        lines += _value_lines(labels.get(k, k), v, cols)
    lines += _signature_lines(ws, d)
    lines += [f"{_t(ws, '文件', 'file')} {k}: {v}" for k, v in d["files"].items()]
    if d.get("pdf_pending"):
        lines.append(_t(ws, "PDF 待生成（运行 qms record pdf --pending）", "PDF pending (run qms record pdf --pending)"))
    if len(d["versions"]) > 1:
        lines += [f"{_t(ws, '版本', 'version')} {v['version']}  {local_time(v['filed_at'], tz)}  {v['filed_by']}  "
                  f"{v['reason'] or _t(ws, '（原始版本）', '(original)')}" for v in d["versions"]]
    return "\n".join(lines)


def _signature_lines(ws: Workspace, d: dict) -> list[str]:
    """Each signature with the version it covers; the customer's with the date they wrote, the
    filer's electronic one with its time; and a line when the current version is not the one signed."""
    tz = ws.config.timezone
    lines = []
    for s in d["signatures"]:
        ver = _t(ws, f"第{s.get('version')}版", f"version {s.get('version')}") if s.get("version") else ""
        if s.get("kind") == "electronic":
            lines.append(f"{_t(ws, '电子签名', 'e-signed')} {s['role']} {s['name']}"
                         f"{_t(ws, '（' + str(s['login']) + '）', ' (' + str(s['login']) + ')')}  "
                         f"{local_time(s['at'], tz)}  {ver}".rstrip())
        else:
            lines.append(f"{_t(ws, '用户签字', 'signed by')} {s['signer']} {s['role'] or ''}  "
                         f"{_t(ws, '签字日期', 'signed on')} {s['signed_on']}  {ver}".rstrip())
    signed = d.get("signed_version")
    if signed and signed != d.get("version"):
        lines.append(_t(ws, f"用户签字签于第{signed}版；现行第{d['version']}版{status_label(d['status'], ws.config.locale)}",
                        f"the customer signed version {signed}; version {d['version']} is {d['status']}"))
    return lines


def record_list_text(ws: Workspace, items: list[dict]) -> str:
    """Records of one form: its title above, its list columns as columns. Of several forms: each
    form's title, and a 摘要 of each record's list columns (label：value)."""
    if not items:
        return _t(ws, "（无记录）", "(no records)")
    loc = ws.config.locale
    zh = chinese(loc)
    head = (["记录编号", "状态", "记录日期", "保存期至"] if zh
            else ["number", "status", "record date", "retention until"])

    def common(x):
        return [x["number"], x.get("status_text") or status_label(x["status"], loc), x["record_date"],
                x["retention_until"] or _t(ws, "永久", "permanent")]

    forms = {x["form"] for x in items}
    if len(forms) == 1:
        x0 = items[0]
        title = f"{x0['form']}  {x0.get('form_title') or ''}".rstrip()
        labels = [c["label"] for c in x0.get("columns") or []]
        return title + "\n" + table(head + labels, [common(x) + [c["value"] for c in x.get("columns") or []]
                                                    for x in items])
    sep, colon = ("；", "：") if zh else ("; ", ": ")
    return table(head[:1] + [_t(ws, "表单", "form")] + head[1:] + [_t(ws, "摘要", "summary")],
                 [common(x)[:1] + [x.get("form_title") or x["form"]] + common(x)[1:]
                  + [sep.join(f"{c['label']}{colon}{c['value']}" for c in x.get("columns") or [] if c["value"])]
                  for x in items], max_col=60)


def copies_text(ws: Workspace, items: list[dict]) -> str:
    if not items:
        return _t(ws, "（无受控副本）", "(no controlled copies)")
    loc, tz = ws.config.locale, ws.config.timezone
    zh = chinese(loc)
    headers = ["发放编号", "持有部门", "版本", "发放日期", "签收", "回收日期", ""] if zh else \
        ["No.", "holder", "revision", "issued", "received", "recalled", ""]

    def signed(at, by):       # 签收/回收 signed by the holder (issue 23): date and login
        return f"{local_time(at, tz)[:10]} {by}" if at else ""
    return table(headers, [[x["copy_no"], x["holder"], x["revision"], local_time(x["issued_at"], tz)[:10],
                            signed(x.get("received_at"), x.get("received_by")),
                            signed(x.get("returned_at"), x.get("returned_by")) or local_time(x["recalled_at"], tz)[:10],
                            (f"应回收（该版本{status_label(x['revision_status'], loc)}）" if zh else
                             f"RECALL (revision {x['revision_status']})") if x["to_recall"] else ""]
                           for x in items])

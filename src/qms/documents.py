"""Controlled documents: submit → sign → release → (revise) → obsolete, and what a reader sees."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from .catalog import Catalog, open_catalog
from .docstate import all_approvals, approvals, doc_row, revisions, status_map
from .dates import cn_date, now_iso, parse_date, today
from .docsource import DocumentSource, figure_paths, flatten, load_source, parse_source_text, plain_text
from .errors import QmsError
from .results import Change
from .revisions import (RevisionState, compute_status, current_revision, folder_name, next_label,
                        safe_name)
from .workspace import Workspace
from .writer import writing

DEFAULT_MEANINGS = {
    "prepared": "编制 / prepared by",
    "countersigned": "会签 / countersigned by",
    "reviewed": "审定 / reviewed by",
    "standardized": "标审 / standardization check by",
    "approved": "批准 / approved by",
}




# ---------------------------------------------------------------- helpers

def _catalog(ws: Workspace, write: bool = False) -> Catalog:
    return open_catalog(ws.catalog_path, create=write)


_doc_row, _revisions, _approvals, _status_map = doc_row, revisions, approvals, status_map
_all_approvals = all_approvals


def _doc_folder(ws: Workspace, number: str, revision: str) -> Path:
    from .inputs import inside, safe_id
    # a '/' (HX/QP-05) becomes a full-width solidus in the folder name; the rest must be a safe id
    safe_id(number.replace("/", "-"), "document number")
    folder = ws.archive_dir / "documents" / safe_name(number) / folder_name(revision)
    inside(folder, ws.archive_dir, "document folder")
    return folder


# ---------------------------------------------------------------- reading sources

def check(ws: Workspace, source: Path | str) -> DocumentSource:
    """Validate a source file; nothing is written."""
    doc = load_source(source, ws)
    doc.warnings += cross_reference_warnings(ws, doc)
    return doc


def cross_reference_warnings(ws: Workspace, doc: DocumentSource) -> list[str]:
    """记录 naming a form that does not exist, 相关文件 naming a document number qms does not know.
    Warnings, not errors: a procedure is often written before its forms, and may cite documents
    kept elsewhere (the 质量手册 on paper); the author sees them at check and submit."""
    out = []
    if doc.records:
        from .forms import load_forms_quietly
        forms = load_forms_quietly(ws)
        out += [f"{doc.path}: records: form {r.id!r} does not exist in {ws.rel(ws.schemas_dir)}/ "
                f"(qms form list shows the forms)" for r in doc.records if r.id and r.id not in forms]
    numbers = [r.number for r in doc.references if r.number and r.number != doc.number]
    if numbers:
        known: set[str] = set()
        if ws.catalog_path.exists():
            with _catalog(ws) as cat:
                known = {row["number"] for row in cat.all("SELECT number FROM documents")}
        out += [f"{doc.path}: references: document {n} is not in this workspace (qms doc list shows the documents)"
                for n in numbers if n not in known]
    return out


def render_context(ws: Workspace, doc: DocumentSource, *, revision: str, draft: bool,
                   approvals: list | None = None, issued: str | None = None, effective: str | None = None,
                   history: list[dict] | None = None) -> dict:
    """The dict templates/procedure.docx is rendered with (see render.py)."""
    loc = ws.config.locale
    kind = ws.config.kinds.get(doc.kind)
    rows = []
    for role in ws.config.roles:
        # each signer on a line of their own with the date they signed on the same line: 会签 by
        # three reads as one 会签 cell beside three names and three dates, as on a paper cover
        signed = [a for a in (approvals or []) if a["role"] == role.key]
        rows.append({"role": role.label, "names": "\n".join(a["name"] for a in signed),
                     "date": "\n".join(cn_date(a["signed_on"], loc) for a in signed)})
    from .figures import Placed, marker
    blocks, figures = _blocks_with_terms(doc), []
    for b in blocks:
        if b["type"] == "figure":   # the image path is relative to the source file (archived beside it)
            b["marker"] = marker(len(figures) + 1)
            figures.append(Placed(b["marker"], Path(doc.path).parent / b["image"], b["width_cm"]))
    forms = {}
    if doc.records:
        from .forms import load_forms_quietly   # forms sit beside documents in the service layer
        forms = load_forms_quietly(ws)
    return {
        "company": ws.config.org_name,
        "series": kind.series if kind else "质量管理体系文件",
        "kind_label": kind.label if kind else doc.kind,
        "title": doc.title,
        "title_en": doc.title_en,
        "number": doc.number,
        "revision": revision,
        "controlled_status": "草稿" if draft else "受控",
        "copy_no": "",
        "draft": draft,
        "department": doc.department,
        "basis": doc.basis,
        "approvals": rows,
        "issued": cn_date(issued, loc),
        "effective": cn_date(effective, loc),
        "terms": [{"term": t.term, "definition": t.definition} for t in doc.terms],
        "blocks": blocks,
        "figures": figures,
        "references": [{"number": r.number, "title": r.title} for r in doc.references],
        "records": [{"id": r.id, "title": r.title or (forms[r.id].title if r.id in forms else "")}
                    for r in doc.records],
        "history": history or [],
    }


TERM_SECTION_TITLES = ("术语", "术语和定义", "术语和缩略语", "定义", "术语与定义")
SCOPE_TITLES = ("范围", "适用范围", "应用范围")
TERMS_TITLE = "术语"


def _blocks_with_terms(doc: DocumentSource) -> list[dict]:
    """Print `terms` where procedures put them: inside the source's own 术语 clause, else in a
    术语 clause right after 范围 (as the seed's 3.0 术语; the later clauses move down by one),
    else after 目的; a procedure with neither gets them after its body (the template's tail)."""
    from .docsource import Section
    if not doc.terms:
        return flatten(doc.sections)
    sections = list(doc.sections)
    titles = [s.title.strip() for s in sections]
    if not any(t in TERM_SECTION_TITLES for t in titles):
        after = next((i for i, t in enumerate(titles) if t in SCOPE_TITLES), None)
        if after is None:
            after = next((i for i, t in enumerate(titles) if t == "目的"), None)
        if after is None:
            return flatten(sections)
        sections.insert(after + 1, Section(title=TERMS_TITLE))
    blocks = flatten(sections)
    for i, b in enumerate(blocks):
        if b["type"] == "heading" and b["level"] == 1 and b["text"].strip() in TERM_SECTION_TITLES:
            j = i + 1
            while j < len(blocks) and blocks[j]["type"] not in ("heading", "clause"):
                j += 1
            return blocks[:j] + [{"type": "terms"}] + blocks[j:]
    return blocks


def _render_docx(ws: Workspace, ctx: dict, out: Path) -> Path:
    from .render import render_procedure   # docxtpl is slow to import; only when rendering
    render_procedure(ws.templates_dir / "procedure.docx", ctx, out)
    if ctx.get("figures"):
        from .figures import embed
        embed(out, ctx["figures"])
    return out


def preview(ws: Workspace, source: Path | str, out: Path | str) -> Path:
    """Render a source as a draft (草稿) preview, .docx or .pdf; the archive is not touched."""
    from . import outputs
    out = outputs.check(ws, out, (".docx", ".pdf"))
    doc = load_source(source, ws)
    suffix = out.suffix.lower()
    ctx = render_context(ws, doc, revision="草稿", draft=True)
    with tempfile.TemporaryDirectory(prefix="qms-preview-") as tmp:
        docx = Path(tmp) / f"{doc.number}_draft.docx"
        _render_docx(ws, ctx, docx)
        if suffix == ".docx":
            return outputs.install(ws, docx, out)
        from .convert import to_pdf
        from .stamp import stamp_pdf
        (pdf,) = to_pdf([docx], pdfa=False)
        stamped = Path(tmp) / "stamped.pdf"
        stamp_pdf(pdf, stamped, "草稿 DRAFT", style="draft")
        return outputs.install(ws, stamped, out)


# ---------------------------------------------------------------- state changes

def submit(ws: Workspace, source: Path | str, *, actor: str, change: str | None = None,
           major: bool = False) -> Change:
    """A new draft revision, or a replacement of an unsigned draft; after release, the next revision."""
    doc = check(ws, source)
    with writing(ws, purpose="doc submit") as w:
        cat = w.cat
        row = cat.one("SELECT * FROM documents WHERE number=?", doc.number)
        revs = _revisions(cat, doc.number) if row else []
        latest = revs[-1] if revs else None
        if row and row["obsolete_on"]:
            raise QmsError(f"{doc.number} was withdrawn (obsolete) on {row['obsolete_on']}; "
                           "give a new document number", file=source, field="number")
        if latest is not None and latest["state"] == "draft":
            if _approvals(cat, latest["id"]):
                signers = ", ".join(f"{a['role_label']} {a['name']}" for a in _approvals(cat, latest["id"]))
                raise QmsError(f"{doc.number} {latest['revision']} is in review (signed by {signers}); "
                               "a signed draft cannot be replaced", file=source)
            return _replace_draft(ws, w, doc, latest, change, actor)
        if latest is None:
            revision, seq = ws.config.first_revision, 1
            change = change or "首次发布"
        elif not any(r["state"] == "released" for r in revs):
            # every earlier draft was withdrawn: a fresh first issue, its label not reused
            revision, seq = next_label(latest["revision"], major), latest["seq"] + 1
            change = change or "首次发布"
        else:
            if not change:
                raise QmsError(f"{doc.number} {latest['revision']} is released; a new revision needs "
                               "--change describing what changed", field="change")
            if _same_source(ws, latest, doc):
                raise QmsError(f"the source is the same as {doc.number} {latest['revision']} (byte for byte, "
                               "figures included); edit it before submitting a new revision", file=source)
            revision, seq = next_label(latest["revision"], major), latest["seq"] + 1
        rel = ws.rel(_doc_folder(ws, doc.number, revision))
        st = w.stage()
        st.folder(rel)
        sha = st.write(f"{rel}/source.yaml", doc.text.encode("utf-8"))
        figures = {name: st.copy_in(f"{rel}/{name}", Path(doc.path).parent / name) for name in figure_paths(doc)}
        st.manifest(rel, now=now_iso())
        w.commit([{"action": "doc.submit", "target": doc.number,
                   "data": {"revision": revision, "seq": seq, "title": doc.title, "kind": doc.kind,
                            "department": doc.department, "change": change, "folder": rel,
                            "source": "source.yaml", "sha256": sha, **({"figures": figures} if figures else {}),
                            **st.promise(rel)}}], actor=actor)
    return Change(f"submitted {doc.number} {revision} (draft): {doc.title}",
                  {"number": doc.number, "revision": revision, "status": "draft", "warnings": doc.warnings})


def _same_source(ws: Workspace, latest, doc: DocumentSource) -> bool:
    folder = ws.root / latest["folder"]
    if (folder / latest["source"]).read_text(encoding="utf-8") != doc.text:
        return False
    return all((folder / name).is_file() and (folder / name).read_bytes() == (Path(doc.path).parent / name).read_bytes()
               for name in figure_paths(doc))


def _new_figures(folder: Path, doc: DocumentSource) -> dict[str, Path]:
    """The source's images the draft's folder does not hold yet; a changed image under a name
    already archived is refused (files in the archive are written once)."""
    out = {}
    for name in figure_paths(doc):
        src = Path(doc.path).parent / name
        if (folder / name).is_file():
            if (folder / name).read_bytes() != src.read_bytes():
                raise QmsError(f"the image {name} differs from the one already filed with this draft; "
                               "give the changed image a new file name", file=src)
            continue
        out[name] = src
    return out


def _replace_draft(ws, w, doc, latest, change, actor) -> Change:
    folder = ws.root / latest["folder"]
    n = 2
    while (folder / f"source-{n}.yaml").exists():
        n += 1
    name = f"source-{n}.yaml"
    st = w.stage()
    sha = st.write(f"{latest['folder']}/{name}", doc.text.encode("utf-8"))
    figures = {n: st.copy_in(f"{latest['folder']}/{n}", src) for n, src in _new_figures(folder, doc).items()}
    st.manifest(latest["folder"], now=now_iso())
    w.commit([{"action": "doc.submit", "target": doc.number,
               "data": {"revision": latest["revision"], "title": doc.title, "kind": doc.kind,
                        "department": doc.department, "change": change, "replaces_draft": True,
                        "source": name, "sha256": sha, **({"figures": figures} if figures else {}),
                        **st.promise(latest["folder"])}}], actor=actor)
    return Change(f"replaced the draft of {doc.number} {latest['revision']}: {doc.title}",
                  {"number": doc.number, "revision": latest["revision"], "status": "draft",
                   "warnings": doc.warnings})


def sign(ws: Workspace, number: str, *, role: str, user, password, meaning: str | None = None) -> Change:
    """Sign the open draft in a role as the authenticated `user`, who gives their password again
    (esign.py: permission, separation of duties, manifestation, binding to the content).
    Roles sign in the configured order (编制 first, 批准 last)."""
    from .esign import authorize_signature, content_binding, signing_time
    from .identity import require
    the_role = ws.role(role)
    with _catalog(ws) as cat:
        doc = _doc_row(cat, number)
        require(user, f"doc.sign.{the_role.key}", department=doc["department"] or "")
        draft = _check_can_sign(ws, cat, number, the_role)
        signed = [dict(a) for a in _approvals(cat, draft["id"])]
    # the password is checked before the write: a wrong one is journaled (its own event) and must stay so
    authorize_signature(ws, user, password, the_role, department=doc["department"] or "", approvals=signed)
    binding = content_binding(ws, ws.root / draft["folder"], draft["source"], draft["revision"])
    when = signing_time(ws)
    at, signed_on = when.isoformat(), when.date().isoformat()
    meaning = meaning or DEFAULT_MEANINGS.get(the_role.key, the_role.label)
    with writing(ws, purpose="doc sign") as w:
        now = _check_can_sign(ws, w.cat, number, the_role)
        if now["id"] != draft["id"] or len(_approvals(w.cat, draft["id"])) != len(signed):
            raise QmsError(f"{number} changed while signing; run the command again")
        w.commit([{"action": "doc.sign", "target": number,
                   "data": {"revision": draft["revision"], "role": the_role.key, "role_label": the_role.label,
                            "name": user.name, "login": user.login, "meaning": meaning, "signed_at": at,
                            "signed_on": signed_on, "source": f"{draft['folder']}/{draft['source']}",
                            "source_sha256": binding.source_sha256, "docx_sha256": binding.docx_sha256}}],
                 actor=user.actor)
    return Change(f"signed {number} {draft['revision']} as {the_role.label} ({the_role.key}): {user.name} "
                  f"({user.login}) at {at}",
                  {"number": number, "revision": draft["revision"], "role": the_role.key, "name": user.name,
                   "login": user.login, "meaning": meaning, "signed_at": at,
                   "source_sha256": binding.source_sha256, "docx_sha256": binding.docx_sha256})


def _check_can_sign(ws: Workspace, cat: Catalog, number: str, the_role):
    """The open draft, when `the_role` may sign it now (order of roles, one signature per role)."""
    _refuse_withdrawn(_doc_row(cat, number))
    revs = _revisions(cat, number)
    draft = revs[-1]
    if draft["state"] == "withdrawn":
        raise QmsError(f"{number} {draft['revision']} was withdrawn; submit a new draft")
    if draft["state"] != "draft":
        raise QmsError(f"{number} {draft['revision']} is already released; submit a new revision to change it")
    signed = _approvals(cat, draft["id"])
    order = [r.key for r in ws.config.roles]
    idx = order.index(the_role.key)
    have = {a["role"] for a in signed}
    if the_role.key in have and not the_role.multiple:
        raise QmsError(f"{number} {draft['revision']} is already signed as {the_role.label} "
                       f"({the_role.key}); this role takes one signature", field="role")
    later = [r for r in ws.config.roles[idx + 1:] if r.key in have]
    if later:
        raise QmsError(f"{the_role.label} ({the_role.key}) cannot sign after {later[0].label} "
                       f"({later[0].key}); roles sign in the order "
                       + " → ".join(r.label for r in ws.config.roles), field="role")
    missing = [r for r in ws.config.roles[:idx] if r.required and r.key not in have]
    if missing:
        raise QmsError(f"{the_role.label} ({the_role.key}) cannot sign before "
                       + "、".join(f"{r.label} ({r.key})" for r in missing) + "; roles sign in the order "
                       + " → ".join(r.label for r in ws.config.roles), field="role")
    return draft


def reject(ws: Workspace, number: str, *, user, password, reason: str) -> Change:
    """Return the draft for rework: its signatures become void (kept, shown as void, in the log).
    Any member of the chain may reject — whoever may sign one of its roles — with their password."""
    from .identity.users import authenticate
    if not reason or not reason.strip():
        raise QmsError("rejecting a draft needs --reason", field="reason")
    with _catalog(ws) as cat:
        doc = _doc_row(cat, number)
        draft = _revisions(cat, number)[-1]
        if draft["state"] != "draft":
            raise QmsError(f"{number} {draft['revision']} is {draft['state']}; only an unreleased draft can be "
                           "rejected")
    dept = doc["department"] or ""
    if not any(user.may(f"doc.sign.{r.key}", department=dept) for r in ws.config.roles):
        from .identity import PermissionDenied
        raise PermissionDenied(f"{user.login} ({user.name}) lacks a permission doc.sign.<role> for {number}; "
                               "only a member of the approval chain may reject", permission="doc.sign.*")
    authenticate(ws, user.login, password() if callable(password) else password, purpose="reject")
    with writing(ws, purpose="doc reject") as w:
        now = _revisions(w.cat, number)[-1]
        if now["id"] != draft["id"] or now["state"] != "draft":
            raise QmsError(f"{number} changed meanwhile; run the command again")
        signed = [dict(a) for a in _approvals(w.cat, draft["id"])]
        w.commit([{"action": "doc.reject", "target": number,
                   "data": {"revision": draft["revision"], "reason": reason.strip(), "by": user.login,
                            "voided": [{"role": a["role"], "login": a["login"], "name": a["name"],
                                        "signed_at": a["signed_at"]} for a in signed]}}], actor=user.actor)
    return Change(f"rejected {number} {draft['revision']}: {len(signed)} signature(s) void, back to draft — "
                  f"{reason.strip()}", {"number": number, "revision": draft["revision"], "voided": len(signed)})


def withdraw(ws: Workspace, number: str, *, actor: str, reason: str) -> Change:
    """Discard an unreleased draft: it stays in the archive and the log, marked withdrawn."""
    if not reason or not reason.strip():
        raise QmsError("withdrawing a draft needs --reason", field="reason")
    with writing(ws, purpose="doc withdraw") as w:
        _doc_row(w.cat, number)
        draft = _revisions(w.cat, number)[-1]
        if draft["state"] != "draft":
            raise QmsError(f"{number} has no unreleased draft ({draft['revision']} is {draft['state']}); "
                           "a released document is withdrawn with qms doc obsolete")
        w.commit([{"action": "doc.withdraw", "target": number,
                   "data": {"revision": draft["revision"], "reason": reason.strip()}}], actor=actor)
    return Change(f"withdrew the draft {number} {draft['revision']}: {reason.strip()}",
                  {"number": number, "revision": draft["revision"], "status": "withdrawn"})


def _released_context(ws: Workspace, cat: Catalog, number: str, rev) -> dict:
    """The render context of a released revision, as at its release (for copies and stamps)."""
    folder = ws.root / rev["folder"]
    source = parse_source_text((folder / rev["source"]).read_text(encoding="utf-8"), folder / rev["source"], ws)
    revs = _revisions(cat, number)
    return render_context(ws, source, revision=rev["revision"], draft=False,
                          approvals=[dict(a) for a in _approvals(cat, rev["id"])], issued=rev["issued"],
                          effective=rev["effective"], history=_history(cat, revs, rev["seq"], rev["issued"],
                                                                       rev["effective"]))


def _refuse_withdrawn(doc) -> None:
    if doc["obsolete_on"]:
        raise QmsError(f"{doc['number']} was withdrawn (作废) on {doc['obsolete_on']}; "
                       "nothing of it can be signed or released any more")


def _history(cat: Catalog, revs: list, upto_seq: int, issued: str, effective: str) -> list[dict]:
    out = []
    for r in revs:
        if r["seq"] > upto_seq or (r["state"] != "released" and r["seq"] != upto_seq):
            continue
        is_this = r["seq"] == upto_seq
        out.append({"revision": r["revision"], "change": r["change"] or "",
                    "issued": cn_date(issued if is_this else r["issued"]),
                    "effective": cn_date(effective if is_this else r["effective"])})
    return out


def release(ws: Workspace, number: str, *, issued: str, effective: str, actor: str, pdf: bool = True) -> Change:
    """Release the approved draft with 发布 (issue) and 实施 (effective) dates; renders the final files."""
    issued_d = parse_date(issued, field="issued")
    effective_d = parse_date(effective, field="effective")
    if effective_d < issued_d:
        raise QmsError(f"the effective date {effective_d} is before the issue date {issued_d}; "
                       "实施 must be on or after 发布", field="effective")
    with writing(ws, purpose="doc release") as w:
        cat = w.cat
        _refuse_withdrawn(_doc_row(cat, number))
        revs = _revisions(cat, number)
        draft = revs[-1]
        if draft["state"] != "draft":
            raise QmsError(f"{number} {draft['revision']} is {'withdrawn' if draft['state'] == 'withdrawn' else 'already released'}; nothing to release")
        approvals = [dict(a) for a in _approvals(cat, draft["id"])]
        # Electronic signatures carry the moment they were made: a 发布 date before one of them means
        # the document is being back-dated. Said plainly (in the result and the journal), not refused:
        # an issue date is the quality manager's to choose, and an auditor sees both dates.
        late = [a for a in approvals if a["signed_on"] and a["signed_on"] > issued_d.isoformat()]
        warnings = [f"{a['role_label']} {a['name']} signed on {a['signed_on']}, after the 发布 date {issued_d}"
                    for a in late]
        have = {a["role"] for a in approvals}
        missing = [r for r in ws.config.roles if r.required and r.key not in have]
        if missing:
            raise QmsError(f"{number} {draft['revision']} cannot be released: not yet signed as "
                           + "、".join(f"{r.label} ({r.key})" for r in missing))
        from .esign import changed_since_signed, content_binding
        changed = changed_since_signed(approvals, content_binding(ws, ws.root / draft["folder"], draft["source"],
                                                                  draft["revision"]))
        if changed:
            raise QmsError(f"{number} {draft['revision']} cannot be released: its content changed after the "
                           f"signature of {', '.join(changed)}; reject it (qms doc reject) and sign again")
        previous = [r for r in revs if r["state"] == "released"]
        if previous and previous[-1]["effective"] and effective_d <= dt.date.fromisoformat(previous[-1]["effective"]):
            raise QmsError(f"the effective date {effective_d} must be after the effective date "
                           f"{previous[-1]['effective']} of {previous[-1]['revision']}", field="effective")
        folder = ws.root / draft["folder"]
        source = parse_source_text((folder / draft["source"]).read_text(encoding="utf-8"),
                                   folder / draft["source"], ws)
        ctx = render_context(ws, source, revision=draft["revision"], draft=False, approvals=approvals,
                             issued=issued_d.isoformat(), effective=effective_d.isoformat(),
                             history=_history(cat, revs, draft["seq"], issued_d.isoformat(), effective_d.isoformat()))
        stem = f"{safe_name(number)}_{folder_name(draft['revision'])}"
        rel = draft["folder"]
        st = w.stage()
        docx = _render_docx(ws, ctx, st.at(f"{rel}/{stem}.docx"))
        st.add(f"{rel}/{stem}.docx")
        if pdf:
            from .convert import to_pdf
            from .seal import seal_pdf
            (pdf_path,) = to_pdf([docx])
            # the organisation's PAdES seal, its reason listing the approvals (anyone can check it)
            seal_pdf(ws, pdf_path, f"{number} {draft['revision']} 发布 {issued_d} 实施 {effective_d}; " + "; ".join(
                f"{a['role_label']} {a['name']} ({a['login'] or '-'}) {a['signed_at']}" for a in approvals))
            st.add(f"{rel}/{stem}.pdf")
        now = now_iso()
        st.manifest(rel, now=now)
        superseded = {}
        if previous and previous[-1]["pdf"]:
            # the master it replaces gets a reading copy stamped 已替代, in the same event
            superseded = _stamp_superseded(ws, st, previous[-1], effective_d)
            st.manifest(previous[-1]["folder"], now=now)
        promise = st.promise()
        w.commit([{"action": "doc.release", "target": number,
                   "data": {"revision": draft["revision"], "issued": issued_d.isoformat(),
                            "effective": effective_d.isoformat(), "docx": f"{stem}.docx",
                            "pdf": f"{stem}.pdf" if pdf else None, **superseded,
                            **({"warnings": warnings} if warnings else {}), **promise}}], actor=actor)
        hashes = [k for k in promise["files"] if k.startswith(rel + "/") and not k.endswith("manifest.json")]
    return Change(f"released {number} {draft['revision']}: 发布 {issued_d}, 实施 {effective_d} → "
                  f"{rel}/{stem}.docx",
                  {"number": number, "revision": draft["revision"], "issued": issued_d.isoformat(),
                   "effective": effective_d.isoformat(), "files": {k.rsplit("/", 1)[1]: k for k in hashes},
                   "warnings": warnings})


def obsolete(ws: Workspace, number: str, *, reason: str, actor: str, on: str | None = None) -> Change:
    """Withdraw a document (作废): from `on` its current revision reads as obsolete."""
    if not reason or not reason.strip():
        raise QmsError("withdrawing a document needs --reason", field="reason")
    on_d = parse_date(on, field="on") if on else today()
    with writing(ws, purpose="doc obsolete") as w:
        cat = w.cat
        doc = _doc_row(cat, number)
        if doc["obsolete_on"]:
            raise QmsError(f"{number} was already withdrawn on {doc['obsolete_on']}")
        revs = _revisions(cat, number)
        released = [r for r in revs if r["state"] == "released"]
        if not released:
            raise QmsError(f"{number} has never been released; there is nothing to withdraw")
        if revs[-1]["state"] == "draft":
            # withdrawing now would leave a draft that could still be signed and released, and
            # then read as 作废 before it was ever issued
            raise QmsError(f"{number} {revs[-1]['revision']} is an open draft; release it first, or withdraw "
                           "the document once no revision is in progress")
        as_withdrawn = dict(doc) | {"obsolete_on": on_d.isoformat()}
        _, statuses = _status_map(ws, cat, as_withdrawn, revs, on_d)
        withdrawn = [r for r in released if statuses[r["revision"]] == "obsolete"]
        st = w.stage()
        stamped = {}
        for r in withdrawn:
            name = _stamp_obsolete(ws, st, r)
            if name:
                stamped[r["revision"]] = name
        now = now_iso()
        for r in withdrawn:
            if r["revision"] in stamped:
                st.manifest(r["folder"], now=now)
        w.commit([{"action": "doc.obsolete", "target": number,
                   "data": {"revisions": [r["revision"] for r in withdrawn], "on": on_d.isoformat(),
                            "reason": reason.strip(), "stamped": stamped, **st.promise()}}], actor=actor)
    return Change(f"withdrew {number} (作废) on {on_d}: {reason.strip()}",
                  {"number": number, "obsolete_on": on_d.isoformat(),
                   "revisions": [r["revision"] for r in withdrawn]})


def _stamp_obsolete(ws: Workspace, st, rev) -> str | None:
    """A reading copy stamped 作废 beside the original PDF (which stays untouched)."""
    if not rev["pdf"]:
        return None
    from .stamp import stamp_pdf
    name = f"{Path(rev['pdf']).stem}_作废.pdf"
    stamp_pdf(ws.root / rev["folder"] / rev["pdf"], st.at(f"{rev['folder']}/{name}"), "作废 OBSOLETE",
              style="obsolete")
    st.add(f"{rev['folder']}/{name}")
    return name


def superseded_name(rev) -> str:
    return f"{Path(rev['pdf']).stem}_已替代.pdf"


def _stamp_superseded(ws: Workspace, st, rev, effective: dt.date) -> dict:
    """The master of the revision a new one replaces gets a reading copy stamped 已替代 with the
    date it stops being valid (the original PDF stays as released); `show` finds it in the folder."""
    from .stamp import stamp_pdf
    name = superseded_name(rev)
    if (ws.root / rev["folder"] / name).exists():
        return {}
    stamp_pdf(ws.root / rev["folder"] / rev["pdf"], st.at(f"{rev['folder']}/{name}"),
              f"已替代 SUPERSEDED\n{cn_date(effective, ws.config.locale)}起", style="obsolete")
    st.add(f"{rev['folder']}/{name}")
    return {"superseded": {"revision": rev["revision"], "file": name}}


# ---------------------------------------------------------------- reading

def _revision_files(ws: Workspace, r) -> dict:
    folder = ws.root / r["folder"]
    files = {"source": ws.rel(folder / r["source"])}
    if r["docx"]:
        files["docx"] = ws.rel(folder / r["docx"])
    if r["pdf"]:
        files["pdf"] = ws.rel(folder / r["pdf"])
    if r["obsolete_pdf"]:
        files["obsolete_pdf"] = ws.rel(folder / r["obsolete_pdf"])
    if r["pdf"] and (folder / superseded_name(r)).is_file():
        files["superseded_pdf"] = ws.rel(folder / superseded_name(r))
    return files


def show(ws: Workspace, number: str, *, revision: str | None = None, as_of: dt.date | None = None) -> dict:
    as_of = as_of or today()
    with _catalog(ws) as cat:
        doc = _doc_row(cat, number)
        revs = _revisions(cat, number)
        states, statuses = _status_map(ws, cat, doc, revs, as_of)
        if revision:
            picked = [r for r in revs if r["revision"] == revision]
            if not picked:
                raise QmsError(f"{number} has no revision {revision!r}; it has "
                               + ", ".join(r["revision"] for r in revs), field="revision")
            rev = picked[0]
        else:
            cur = current_revision(states, statuses)
            rev = next(r for r in revs if r["revision"] == cur.revision)
        approvals = [{"role": a["role"], "role_label": a["role_label"], "name": a["name"], "login": a["login"],
                      "meaning": a["meaning"], "signed_at": a["signed_at"], "signed_on": a["signed_on"],
                      "source_sha256": a["source_sha256"], "docx_sha256": a["docx_sha256"],
                      "void": a["void_at"] is not None, "void_at": a["void_at"], "void_reason": a["void_reason"]}
                     for a in _all_approvals(cat, rev["id"])]
        copies = cat.all("SELECT * FROM copies WHERE number=? AND revision=? AND recalled_at IS NULL",
                         number, rev["revision"])
        return {
            "number": number, "title": rev["title"], "kind": doc["kind"], "department": doc["department"],
            "revision": rev["revision"], "status": statuses[rev["revision"]], "as_of": as_of.isoformat(),
            "issued": rev["issued"], "effective": rev["effective"], "change": rev["change"],
            "obsolete_on": doc["obsolete_on"], "obsolete_reason": doc["obsolete_reason"],
            "approvals": approvals, "files": _revision_files(ws, rev),
            "copies_outstanding": len(copies),
            "revisions": [{"revision": r["revision"], "status": statuses[r["revision"]], "issued": r["issued"],
                           "effective": r["effective"], "change": r["change"],
                           "submitted_at": r["submitted_at"], "released_at": r["released_at"]} for r in revs],
        }


def list_documents(ws: Workspace, *, as_of: dt.date | None = None, status: str | None = None) -> list[dict]:
    as_of = as_of or today()
    out = []
    with _catalog(ws) as cat:
        for doc in cat.all("SELECT * FROM documents ORDER BY number"):
            revs = _revisions(cat, doc["number"])
            states, statuses = _status_map(ws, cat, doc, revs, as_of)
            cur = current_revision(states, statuses)
            rev = next(r for r in revs if r["revision"] == cur.revision)
            outstanding = cat.one("SELECT COUNT(*) AS n FROM copies WHERE number=? AND recalled_at IS NULL "
                                  "AND revision<>?", doc["number"], rev["revision"])["n"] \
                if statuses[rev["revision"]] == "effective" else \
                cat.one("SELECT COUNT(*) AS n FROM copies WHERE number=? AND recalled_at IS NULL",
                        doc["number"])["n"]
            item = {"number": doc["number"], "title": rev["title"], "kind": doc["kind"],
                    "department": doc["department"], "revision": rev["revision"],
                    "status": statuses[rev["revision"]], "issued": rev["issued"], "effective": rev["effective"],
                    "copies_outstanding": outstanding}
            if status is None or item["status"] == status:
                out.append(item)
    return out


# ---------------------------------------------------------------- controlled copies (发放/回收)

def issue_copy(ws: Workspace, number: str, *, holder: str, actor: str) -> Change:
    """The next distribution number (发放编号) for NUMBER and a PDF stamped 受控副本 No.N."""
    if not holder or not holder.strip():
        raise QmsError("a controlled copy needs --holder", field="holder")
    from .stamp import stamp_pdf
    with writing(ws, purpose="doc issue-copy") as w:
        cat = w.cat
        doc = _doc_row(cat, number)
        revs = _revisions(cat, number)
        states, statuses = _status_map(ws, cat, doc, revs, today())
        cur = current_revision(states, statuses)
        rev = next(r for r in revs if r["revision"] == cur.revision)
        if statuses[rev["revision"]] not in ("effective", "released"):
            raise QmsError(f"{number} has no released revision to copy (current {rev['revision']} is "
                           f"{statuses[rev['revision']]})")
        if not rev["pdf"]:
            raise QmsError(f"{number} {rev['revision']} has no PDF (released with --no-pdf)")
        copy_no = (cat.one("SELECT MAX(copy_no) AS n FROM copies WHERE number=?", number)["n"] or 0) + 1
        folder = rev["folder"]
        name = f"copies/{safe_name(number)}_{folder_name(rev['revision'])}_copy-{copy_no:03d}.pdf"
        on = today()
        st = w.stage()
        # the copy is the released revision rendered again with its 发放编号 on the cover, then
        # stamped; the master PDF stays as released
        ctx = _released_context(ws, cat, number, rev)
        ctx["copy_no"] = f"{copy_no:03d}"
        tmp = Path(tempfile.mkdtemp(prefix="copy-"))     # inside the command's private temp folder
        docx = _render_docx(ws, ctx, tmp / "copy-master.docx")
        from .convert import to_pdf
        (pdf,) = to_pdf([docx])
        stamp_pdf(pdf, st.at(f"{folder}/{name}"),
                  f"受控副本 No.{copy_no}\n{holder.strip()}\n发放日期 {cn_date(on, ws.config.locale)}", style="copy")
        st.add(f"{folder}/{name}")
        st.manifest(folder, now=now_iso())
        w.commit([{"action": "doc.issue_copy", "target": number,
                   "data": {"copy_no": copy_no, "revision": rev["revision"], "holder": holder.strip(),
                            "file": f"{folder}/{name}", **st.promise(folder)}}], actor=actor)
    return Change(f"issued controlled copy No.{copy_no} of {number} {rev['revision']} to {holder.strip()} → "
                  f"{folder}/{name}",
                  {"copy_no": copy_no, "holder": holder.strip(), "revision": rev["revision"],
                   "file": f"{folder}/{name}"})


def copies(ws: Workspace, number: str, *, outstanding: bool = False, as_of: dt.date | None = None) -> list[dict]:
    """Controlled copies of NUMBER; copies of a revision no longer current are flagged for recall."""
    as_of = as_of or today()
    with _catalog(ws) as cat:
        doc = _doc_row(cat, number)
        revs = _revisions(cat, number)
        _, statuses = _status_map(ws, cat, doc, revs, as_of)
        rows = cat.all("SELECT * FROM copies WHERE number=? ORDER BY copy_no", number)
    out = []
    for r in rows:
        status = statuses.get(r["revision"], "")
        item = {"copy_no": r["copy_no"], "holder": r["holder"], "revision": r["revision"],
                "revision_status": status, "issued_at": r["issued_at"], "recalled": r["recalled_at"] is not None,
                "recalled_at": r["recalled_at"], "file": r["file"],
                "to_recall": r["recalled_at"] is None and status in ("superseded", "obsolete")}
        if not outstanding or not item["recalled"]:
            out.append(item)
    return out


def recall(ws: Workspace, number: str, *, copy_no: int, actor: str) -> Change:
    with writing(ws, purpose="doc recall") as w:
        _doc_row(w.cat, number)
        row = w.cat.one("SELECT * FROM copies WHERE number=? AND copy_no=?", number, copy_no)
        if row is None:
            raise QmsError(f"{number} has no controlled copy No.{copy_no}", field="copy")
        if row["recalled_at"]:
            raise QmsError(f"copy No.{copy_no} of {number} was already recalled on {row['recalled_at'][:10]}")
        (entry,) = w.commit([{"action": "doc.recall", "target": number,
                              "data": {"copy_no": copy_no, "revision": row["revision"], "holder": row["holder"]}}],
                            actor=actor)
    return Change(f"recalled controlled copy No.{copy_no} of {number} {row['revision']} from {row['holder']}",
                  {"copy_no": copy_no, "recalled_at": entry.at})

"""What a procedure is rendered with: the source checked, the render context (terms and scope
placed), the draft preview, and the context of a released revision (for controlled copies)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..domain import docstate
from ..store import outputs
from ..store.catalog import Catalog, present, reading
from ..base.dates import cn_date
from ..domain.docsource import DocumentSource, flatten, load_source, parse_source_text, Section
from ..store.workspace import Workspace
from ..domain.forms import load_forms_quietly
from ..adapters.figures import Placed, marker, embed
from ..adapters.convert import to_pdf
from ..adapters.stamp import stamp_pdf
from ..store.archive import sha256_file
from ..identity.esign import Binding, docx_digest
from ..domain.flows.figure import flow_warnings, placed_flow


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
        forms = load_forms_quietly(ws)
        out += [f"{doc.path}: records: form {r.id!r} does not exist in {ws.rel(ws.schemas_dir)}/ "
                f"(qms form list shows the forms)" for r in doc.records if r.id and r.id not in forms]
    out += flow_warnings(ws, doc)
    numbers = [r.number for r in doc.references if r.number and r.number != doc.number]
    if numbers:
        known: set[str] = set()
        if present(ws):
            with reading(ws) as cat:
                known = docstate.document_numbers(cat)
        out += [f"{doc.path}: references: document {n} is not in this workspace (qms doc list shows the documents)"
                for n in numbers if n not in known]
    return out


def render_context(ws: Workspace, doc: DocumentSource, *, revision: str, draft: bool,
                   approvals: list | None = None, issued: str | None = None, effective: str | None = None,
                   history: list[dict] | None = None) -> dict:
    """The dict templates/procedure.docx is rendered with (see qms.adapters.render.procedure)."""
    loc = ws.config.locale
    kind = ws.config.kinds.get(doc.kind)
    rows = []
    for role in ws.config.roles:
        # each signer on a line of their own with the date they signed on the same line: 会签 by
        # three reads as one 会签 cell beside three names and three dates, as on a paper cover
        signed = [a for a in (approvals or []) if a["role"] == role.key]
        rows.append({"role": role.label, "names": "\n".join(a["name"] for a in signed),
                     "date": "\n".join(cn_date(a["signed_on"], loc) for a in signed)})
    blocks, figures = _blocks_with_terms(doc), []
    for b in blocks:
        if b["type"] == "figure" and b.get("flow") is not None:    # drawn from the source's flow: block
            figures.append(placed_flow(ws, b, len(figures) + 1))
        elif b["type"] == "figure":   # the image path is relative to the source file (archived beside it)
            b["marker"] = marker(len(figures) + 1)
            figures.append(Placed(b["marker"], Path(doc.path).parent / b["image"], b["width_cm"]))
    forms = {}
    if doc.records:
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
        "records": [_record_row(ws, doc, r, forms.get(r.id)) for r in doc.records],
        "history": history or [],
    }


def _record_row(ws: Workspace, doc: DocumentSource, ref, form) -> dict:
    """A row of the 记录 table: the form's number and title, who keeps its records (the form's
    `department`, else the procedure's own) and for how long (its retention rule as a person reads
    it); a form this workspace does not have prints what the source says and blanks."""
    return {"id": ref.id, "title": ref.title or (form.title if form else ""),
            "department": (form.department or doc.department) if form else "",
            "retention": form.retention.reads(ws.config.locale, form) if form else ""}


TERM_SECTION_TITLES = ("术语", "术语和定义", "术语和缩略语", "定义", "术语与定义")
SCOPE_TITLES = ("范围", "适用范围", "应用范围")
TERMS_TITLE = "术语"


def _blocks_with_terms(doc: DocumentSource) -> list[dict]:
    """Print `terms` where procedures put them: inside the source's own 术语 clause, else in a
    术语 clause right after 范围 (as the seed's 3.0 术语; the later clauses move down by one),
    else after 目的; a procedure with neither gets them after its body (the template's tail)."""
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


def render_docx(ws: Workspace, ctx: dict, out: Path) -> Path:
    from ..adapters.render import render_procedure    # lazy: the renderer brings docxtpl and python-docx (~80 ms); only a render needs them
    render_procedure(ws.templates_dir / "procedure.docx", ctx, out)
    if ctx.get("figures"):
        embed(out, ctx["figures"])
    return out


def preview(ws: Workspace, source: Path | str, out: Path | str) -> Path:
    """Render a source as a draft (草稿) preview, .docx or .pdf; the archive is not touched."""
    out = outputs.check(ws, out, (".docx", ".pdf"))
    doc = load_source(source, ws)
    suffix = out.suffix.lower()
    ctx = render_context(ws, doc, revision="草稿", draft=True)
    with tempfile.TemporaryDirectory(prefix="qms-preview-") as tmp:
        docx = Path(tmp) / "draft.docx"     # not the number: HX/QP-05 holds a '/'
        render_docx(ws, ctx, docx)
        if suffix == ".docx":
            return outputs.install(ws, docx, out)
        (pdf,) = to_pdf([docx], pdfa=False)
        stamped = Path(tmp) / "stamped.pdf"
        stamp_pdf(pdf, stamped, "草稿 DRAFT", style="draft")
        return outputs.install(ws, stamped, out)


def released_context(ws: Workspace, cat: Catalog, number: str, rev) -> dict:
    """The render context of a released revision, as at its release (for copies and stamps)."""
    folder = ws.root / rev["folder"]
    source = parse_source_text((folder / rev["source"]).read_text(encoding="utf-8"), folder / rev["source"], ws)
    revs = docstate.revisions(cat, number)
    return render_context(ws, source, revision=rev["revision"], draft=False,
                          approvals=[dict(a) for a in docstate.approvals(cat, rev["id"])], issued=rev["issued"],
                          effective=rev["effective"],
                          history=change_history(revs, rev["seq"], rev["issued"], rev["effective"],
                                                 signers=history_signers(ws, cat, revs)))


def history_signers(ws: Workspace, cat: Catalog, revs: list) -> dict:
    """Revision id → (修订人, 批准人): who signed the first role of the chain (编制) and its last
    (批准) for each revision, as the 修订记录 prints them."""
    roles = ws.config.roles
    if not roles:
        return {}
    first, last = roles[0].key, roles[-1].key
    out = {}
    for r in revs:
        signed = docstate.approvals(cat, r["id"])
        out[r["id"]] = ("、".join(a["name"] for a in signed if a["role"] == first),
                        "、".join(a["name"] for a in signed if a["role"] == last))
    return out


def change_history(revs: list, upto_seq: int, issued: str, effective: str,
                   signers: dict | None = None) -> list[dict]:
    """The 修订记录 rows up to the revision `upto_seq`, which gets the dates it is released with;
    `signers` (history_signers) fills 修订人 and 批准人."""
    out = []
    for r in revs:
        if r["seq"] > upto_seq or (r["state"] != "released" and r["seq"] != upto_seq):
            continue
        is_this = r["seq"] == upto_seq
        author, approver = (signers or {}).get(r["id"], ("", ""))
        out.append({"revision": r["revision"], "change": r["change"] or "", "author": author,
                    "approver": approver,
                    "issued": cn_date(issued if is_this else r["issued"]),
                    "effective": cn_date(effective if is_this else r["effective"])})
    return out


def content_binding(ws: Workspace, folder: Path, source_name: str, revision: str):
    """What a signature is bound to: the archived source file and its content rendering
    (esign.Binding; here because it renders the revision as a draft)."""
    src = folder / source_name
    doc = parse_source_text(src.read_text(encoding="utf-8"), src, ws)
    ctx = render_context(ws, doc, revision=revision, draft=True)
    with tempfile.TemporaryDirectory(prefix="qms-bind-") as tmp:
        docx = render_docx(ws, ctx, Path(tmp) / "content.docx")
        return Binding(source_sha256=sha256_file(src), docx_sha256=docx_digest(docx))

"""The approval state machine: submit → sign (in role order) → release → … → obsolete;
a draft may be rejected (signatures void) or withdrawn."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..domain import docstate
from ..store.catalog import Catalog, reading
from ..base.dates import now_iso, parse_date, today
from ..domain.docsource import DocumentSource, figure_paths, parse_source_text
from ..base.errors import Conflict, InvalidInput
from ..domain.results import Change
from ..domain.revisions import folder_name, next_label, safe_name
from ..store.workspace import Workspace
from ..store.writer import writing
from .procedure_context import (change_history, check, history_signers, render_context, render_docx,
                                content_binding)
from .copies import stamp_obsolete, stamp_superseded
from ..base.input_limits import inside, safe_id
from ..identity.esign import authorize_signature, changed_since_signed, confirm_password, signing_time
from ..identity import require, PermissionDenied
from ..adapters.convert import to_pdf
from ..adapters.pades import seal_pdf
from ..change.requests import check_submit

DEFAULT_MEANINGS = {
    "prepared": "编制 / prepared by",
    "countersigned": "会签 / countersigned by",
    "reviewed": "审定 / reviewed by",
    "standardized": "标审 / standardization check by",
    "approved": "批准 / approved by",
}


def _doc_folder(ws: Workspace, number: str, revision: str) -> Path:
    # a '/' (HX/QP-05) becomes a full-width solidus in the folder name; the rest must be a safe id
    safe_id(number.replace("/", "-"), "document number")
    folder = ws.archive_dir / "documents" / safe_name(number) / folder_name(revision)
    inside(folder, ws.archive_dir, "document folder")
    return folder


def submit(ws: Workspace, source: Path | str, *, actor: str, change: str | None = None,
           major: bool = False, cr: str | None = None) -> Change:
    """A new draft revision, or a replacement of an unsigned draft; after release, the next revision.
    `cr`: the approved change request (变更申请) the revision answers; it must affect this document."""
    doc = check(ws, source)
    with writing(ws, purpose="doc submit") as w:
        cat = w.cat
        if cr:
            check_submit(ws, cat, cr, doc.number)
        row = docstate.find_document(cat, doc.number)
        revs = docstate.revisions(cat, doc.number) if row else []
        latest = revs[-1] if revs else None
        if row and row["obsolete_on"]:
            raise Conflict(f"{doc.number} was withdrawn (obsolete) on {row['obsolete_on']}; "
                           "give a new document number", file=source, field="number")
        if latest is not None and latest["state"] == "draft":
            if docstate.approvals(cat, latest["id"]):
                signers = ", ".join(f"{a['role_label']} {a['name']}" for a in docstate.approvals(cat, latest["id"]))
                raise Conflict(f"{doc.number} {latest['revision']} is in review (signed by {signers}); "
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
                raise InvalidInput(f"{doc.number} {latest['revision']} is released; a new revision needs "
                               "--change describing what changed", field="change")
            if _same_source(ws, latest, doc):
                raise InvalidInput(f"the source is the same as {doc.number} {latest['revision']} (byte for byte, "
                               "figures included); edit it before submitting a new revision", file=source)
            revision, seq = next_label(latest["revision"], major), latest["seq"] + 1
        rel = ws.rel(_doc_folder(ws, doc.number, revision))
        st = w.stage()
        st.folder(rel)
        sha = st.write(f"{rel}/source.yaml", doc.text.encode("utf-8"))
        figures = {name: st.copy_in(f"{rel}/{name}", Path(doc.path).parent / name) for name in figure_paths(doc)}
        st.manifest(rel, now=now_iso())
        (entry,) = w.commit([{"action": "doc.submit", "target": doc.number,
                   "data": {"revision": revision, "seq": seq, "title": doc.title, "kind": doc.kind,
                            "department": doc.department, "change": change, "folder": rel,
                            "source": "source.yaml", "sha256": sha, **({"figures": figures} if figures else {}),
                            **({"cr": cr} if cr else {}),
                            **st.promise(rel)}}], actor=actor)
    return Change(f"submitted {doc.number} {revision} (draft): {doc.title}",
                  {"number": doc.number, "revision": revision, "status": "draft", "warnings": doc.warnings},
                  seq=entry.seq)


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
                raise Conflict(f"the image {name} differs from the one already filed with this draft; "
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
    (entry,) = w.commit([{"action": "doc.submit", "target": doc.number,
               "data": {"revision": latest["revision"], "title": doc.title, "kind": doc.kind,
                        "department": doc.department, "change": change, "replaces_draft": True,
                        "source": name, "sha256": sha, **({"figures": figures} if figures else {}),
                        **st.promise(latest["folder"])}}], actor=actor)
    return Change(f"replaced the draft of {doc.number} {latest['revision']}: {doc.title}",
                  {"number": doc.number, "revision": latest["revision"], "status": "draft",
                   "warnings": doc.warnings},
                  seq=entry.seq)


def sign(ws: Workspace, number: str, *, role: str, user, password, meaning: str | None = None) -> Change:
    """Sign the open draft in a role as the authenticated `user`, who gives their password again
    (esign.py: permission, separation of duties, manifestation, binding to the content).
    Roles sign in the configured order (编制 first, 批准 last)."""
    the_role = ws.role(role)
    with reading(ws) as cat:
        doc = docstate.doc_row(cat, number)
        require(user, f"doc.sign.{the_role.key}", department=doc["department"] or "")
        draft = _check_can_sign(ws, cat, number, the_role)
        signed = [dict(a) for a in docstate.approvals(cat, draft["id"])]
    # the password is checked before the write: a wrong one is journaled (its own event) and must stay so
    authorize_signature(ws, user, password, the_role, department=doc["department"] or "", approvals=signed)
    binding = content_binding(ws, ws.root / draft["folder"], draft["source"], draft["revision"])
    when = signing_time(ws)
    at, signed_on = when.isoformat(), when.date().isoformat()
    meaning = meaning or DEFAULT_MEANINGS.get(the_role.key, the_role.label)
    with writing(ws, purpose="doc sign") as w:
        now = _check_can_sign(ws, w.cat, number, the_role)
        if now["id"] != draft["id"] or len(docstate.approvals(w.cat, draft["id"])) != len(signed):
            raise Conflict(f"{number} changed while signing; run the command again")
        (entry,) = w.commit([{"action": "doc.sign", "target": number,
                   "data": {"revision": draft["revision"], "role": the_role.key, "role_label": the_role.label,
                            "name": user.name, "login": user.login, "meaning": meaning, "signed_at": at,
                            "signed_on": signed_on, "source": f"{draft['folder']}/{draft['source']}",
                            "source_sha256": binding.source_sha256, "docx_sha256": binding.docx_sha256}}],
                 actor=user.actor)
    return Change(f"signed {number} {draft['revision']} as {the_role.label} ({the_role.key}): {user.name} "
                  f"({user.login}) at {at}",
                  {"number": number, "revision": draft["revision"], "role": the_role.key, "name": user.name,
                   "login": user.login, "meaning": meaning, "signed_at": at,
                   "source_sha256": binding.source_sha256, "docx_sha256": binding.docx_sha256}, seq=entry.seq)


def _check_can_sign(ws: Workspace, cat: Catalog, number: str, the_role):
    """The open draft, when `the_role` may sign it now (order of roles, one signature per role)."""
    _refuse_withdrawn(docstate.doc_row(cat, number))
    revs = docstate.revisions(cat, number)
    draft = revs[-1]
    if draft["state"] == "withdrawn":
        raise Conflict(f"{number} {draft['revision']} was withdrawn; submit a new draft")
    if draft["state"] != "draft":
        raise Conflict(f"{number} {draft['revision']} is already released; submit a new revision to change it")
    signed = docstate.approvals(cat, draft["id"])
    order = [r.key for r in ws.config.roles]
    idx = order.index(the_role.key)
    have = {a["role"] for a in signed}
    if the_role.key in have and not the_role.multiple:
        raise Conflict(f"{number} {draft['revision']} is already signed as {the_role.label} "
                       f"({the_role.key}); this role takes one signature", field="role")
    later = [r for r in ws.config.roles[idx + 1:] if r.key in have]
    if later:
        raise Conflict(f"{the_role.label} ({the_role.key}) cannot sign after {later[0].label} "
                       f"({later[0].key}); roles sign in the order "
                       + " → ".join(r.label for r in ws.config.roles), field="role")
    missing = [r for r in ws.config.roles[:idx] if r.required and r.key not in have]
    if missing:
        raise Conflict(f"{the_role.label} ({the_role.key}) cannot sign before "
                       + "、".join(f"{r.label} ({r.key})" for r in missing) + "; roles sign in the order "
                       + " → ".join(r.label for r in ws.config.roles), field="role")
    return draft


def reject(ws: Workspace, number: str, *, user, password, reason: str) -> Change:
    """Return the draft for rework: its signatures become void (kept, shown as void, in the log).
    Any member of the chain may reject — whoever may sign one of its roles — with their password."""
    if not reason or not reason.strip():
        raise InvalidInput("rejecting a draft needs --reason", field="reason")
    with reading(ws) as cat:
        doc = docstate.doc_row(cat, number)
        draft = docstate.revisions(cat, number)[-1]
        if draft["state"] != "draft":
            raise Conflict(f"{number} {draft['revision']} is {draft['state']}; only an unreleased draft can be "
                           "rejected")
    dept = doc["department"] or ""
    if not any(user.may(f"doc.sign.{r.key}", department=dept) for r in ws.config.roles):
        raise PermissionDenied(f"{user.login} ({user.name}) lacks a permission doc.sign.<role> for {number}; "
                               "only a member of the approval chain may reject", permission="doc.sign.*")
    confirm_password(ws, user, password, purpose="reject")
    with writing(ws, purpose="doc reject") as w:
        now = docstate.revisions(w.cat, number)[-1]
        if now["id"] != draft["id"] or now["state"] != "draft":
            raise Conflict(f"{number} changed meanwhile; run the command again")
        signed = [dict(a) for a in docstate.approvals(w.cat, draft["id"])]
        (entry,) = w.commit([{"action": "doc.reject", "target": number,
                   "data": {"revision": draft["revision"], "reason": reason.strip(), "by": user.login,
                            "voided": [{"role": a["role"], "login": a["login"], "name": a["name"],
                                        "signed_at": a["signed_at"]} for a in signed]}}], actor=user.actor)
    return Change(f"rejected {number} {draft['revision']}: {len(signed)} signature(s) void, back to draft — "
                  f"{reason.strip()}", {"number": number, "revision": draft["revision"], "voided": len(signed)},
                  seq=entry.seq)


def withdraw(ws: Workspace, number: str, *, actor: str, reason: str) -> Change:
    """Discard an unreleased draft: it stays in the archive and the log, marked withdrawn."""
    if not reason or not reason.strip():
        raise InvalidInput("withdrawing a draft needs --reason", field="reason")
    with writing(ws, purpose="doc withdraw") as w:
        docstate.doc_row(w.cat, number)
        draft = docstate.revisions(w.cat, number)[-1]
        if draft["state"] != "draft":
            raise Conflict(f"{number} has no unreleased draft ({draft['revision']} is {draft['state']}); "
                           "a released document is withdrawn with qms doc obsolete")
        (entry,) = w.commit([{"action": "doc.withdraw", "target": number,
                   "data": {"revision": draft["revision"], "reason": reason.strip()}}], actor=actor)
    return Change(f"withdrew the draft {number} {draft['revision']}: {reason.strip()}",
                  {"number": number, "revision": draft["revision"], "status": "withdrawn"}, seq=entry.seq)


def _refuse_withdrawn(doc) -> None:
    if doc["obsolete_on"]:
        raise Conflict(f"{doc['number']} was withdrawn (作废) on {doc['obsolete_on']}; "
                       "nothing of it can be signed or released any more")


def release(ws: Workspace, number: str, *, issued: str, effective: str, actor: str, pdf: bool = True,
            no_retraining: bool = False) -> Change:
    """Release the approved draft with 发布 (issue) and 实施 (effective) dates; renders the final files."""
    issued_d = parse_date(issued, field="issued")
    effective_d = parse_date(effective, field="effective")
    if effective_d < issued_d:
        raise InvalidInput(f"the effective date {effective_d} is before the issue date {issued_d}; "
                       "实施 must be on or after 发布", field="effective")
    with writing(ws, purpose="doc release") as w:
        cat = w.cat
        _refuse_withdrawn(docstate.doc_row(cat, number))
        revs = docstate.revisions(cat, number)
        draft = revs[-1]
        if draft["state"] != "draft":
            state = "withdrawn" if draft["state"] == "withdrawn" else "already released"
            raise Conflict(f"{number} {draft['revision']} is {state}; nothing to release")
        approvals = [dict(a) for a in docstate.approvals(cat, draft["id"])]
        # Electronic signatures carry the moment they were made: a 发布 date before one of them means
        # the document is being back-dated. Said plainly (in the result and the journal), not refused:
        # an issue date is the quality manager's to choose, and an auditor sees both dates.
        late = [a for a in approvals if a["signed_on"] and a["signed_on"] > issued_d.isoformat()]
        warnings = [f"{a['role_label']} {a['name']} signed on {a['signed_on']}, after the 发布 date {issued_d}"
                    for a in late]
        have = {a["role"] for a in approvals}
        missing = [r for r in ws.config.roles if r.required and r.key not in have]
        if missing:
            raise Conflict(f"{number} {draft['revision']} cannot be released: not yet signed as "
                           + "、".join(f"{r.label} ({r.key})" for r in missing))
        changed = changed_since_signed(approvals, content_binding(ws, ws.root / draft["folder"], draft["source"],
                                                                  draft["revision"]))
        if changed:
            raise Conflict(f"{number} {draft['revision']} cannot be released: its content changed after the "
                           f"signature of {', '.join(changed)}; reject it (qms doc reject) and sign again")
        previous = [r for r in revs if r["state"] == "released"]
        if previous and previous[-1]["effective"] and effective_d <= dt.date.fromisoformat(previous[-1]["effective"]):
            raise InvalidInput(f"the effective date {effective_d} must be after the effective date "
                           f"{previous[-1]['effective']} of {previous[-1]['revision']}", field="effective")
        stem = f"{safe_name(number)}_{folder_name(draft['revision'])}"
        rel = draft["folder"]
        st = w.stage()
        _render_final(ws, st, number, draft, revs, approvals, issued_d, effective_d, stem, pdf=pdf,
                      signers=history_signers(ws, cat, revs))
        now = now_iso()
        st.manifest(rel, now=now)
        superseded = {}
        if previous and previous[-1]["pdf"]:
            # the master it replaces gets a reading copy stamped 已替代, in the same event
            superseded = stamp_superseded(ws, st, previous[-1], effective_d)
            st.manifest(previous[-1]["folder"], now=now)
        promise = st.promise()
        (entry,) = w.commit([{"action": "doc.release", "target": number,
                   "data": {"revision": draft["revision"], "issued": issued_d.isoformat(),
                            "effective": effective_d.isoformat(), "docx": f"{stem}.docx",
                            "pdf": f"{stem}.pdf" if pdf else None, **superseded,
                            **({"warnings": warnings} if warnings else {}),
                            **({"no_retraining": True} if no_retraining else {}), **promise}}], actor=actor)
        hashes = [k for k in promise["files"] if k.startswith(rel + "/") and not k.endswith("manifest.json")]
    pending = f" (待发布 until {issued_d})" if issued_d > today() else ""
    return Change(f"released {number} {draft['revision']}: 发布 {issued_d}, 实施 {effective_d}{pending} → "
                  f"{rel}/{stem}.docx",
                  {"number": number, "revision": draft["revision"], "issued": issued_d.isoformat(),
                   "effective": effective_d.isoformat(), "files": {k.rsplit("/", 1)[1]: k for k in hashes},
                   "warnings": warnings}, seq=entry.seq)



def _render_final(ws: Workspace, st, number: str, rev, revs: list, approvals: list, issued_d: dt.date,
                  effective_d: dt.date, stem: str, *, pdf: bool, signers: dict) -> None:
    """The released revision's .docx (and sealed PDF) with its 发布/实施 dates, staged under `stem`."""
    folder = ws.root / rev["folder"]
    source = parse_source_text((folder / rev["source"]).read_text(encoding="utf-8"), folder / rev["source"], ws)
    ctx = render_context(ws, source, revision=rev["revision"], draft=False, approvals=approvals,
                         issued=issued_d.isoformat(), effective=effective_d.isoformat(),
                         history=change_history(revs, rev["seq"], issued_d.isoformat(), effective_d.isoformat(),
                                                signers=signers))
    rel = rev["folder"]
    docx = render_docx(ws, ctx, st.at(f"{rel}/{stem}.docx"))
    st.add(f"{rel}/{stem}.docx")
    if pdf:
        (pdf_path,) = to_pdf([docx])
        # the organisation's PAdES seal, its reason listing the approvals (anyone can check it)
        seal_pdf(ws, pdf_path, f"{number} {rev['revision']} 发布 {issued_d} 实施 {effective_d}; " + "; ".join(
            f"{a['role_label']} {a['name']} ({a['login'] or '-'}) {a['signed_at']}" for a in approvals))
        st.add(f"{rel}/{stem}.pdf")


def redate(ws: Workspace, number: str, *, issued: str, effective: str, reason: str, actor: str) -> Change:
    """Correct the 发布/实施 dates of a release not yet issued (待发布), with a reason. The files are
    rendered again with the new dates beside the earlier ones (written once, never replaced); once
    the 发布 date is reached the dates are history and this is refused."""
    issued_d = parse_date(issued, field="issued")
    effective_d = parse_date(effective, field="effective")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("correcting the dates of a release needs --reason", field="reason")
    if effective_d < issued_d:
        raise InvalidInput(f"the effective date {effective_d} is before the issue date {issued_d}; "
                           "实施 must be on or after 发布", field="effective")
    if issued_d < today():
        raise InvalidInput(f"the new 发布 date {issued_d} is before today ({today()}); a revision not yet "
                           "issued cannot be issued in the past", field="issued")
    with writing(ws, purpose="doc redate") as w:
        cat = w.cat
        _refuse_withdrawn(docstate.doc_row(cat, number))
        revs = docstate.revisions(cat, number)
        released = [r for r in revs if r["state"] == "released"]
        if not released:
            raise Conflict(f"{number} has no released revision whose dates could be corrected")
        rev = released[-1]
        if dt.date.fromisoformat(rev["issued"]) <= today():
            raise Conflict(f"{number} {rev['revision']} was issued (发布) on {rev['issued']}; its dates can no "
                           "longer be corrected — release a new revision")
        if (rev["issued"], rev["effective"]) == (issued_d.isoformat(), effective_d.isoformat()):
            raise Conflict(f"{number} {rev['revision']} already carries 发布 {issued_d} and 实施 {effective_d}; "
                           "nothing to correct")
        if len(released) > 1 and released[-2]["effective"] and \
                effective_d <= dt.date.fromisoformat(released[-2]["effective"]):
            raise InvalidInput(f"the effective date {effective_d} must be after the effective date "
                               f"{released[-2]['effective']} of {released[-2]['revision']}", field="effective")
        approvals = [dict(a) for a in docstate.approvals(cat, rev["id"])]
        base = f"{safe_name(number)}_{folder_name(rev['revision'])}"
        n = 1
        while (ws.root / rev["folder"] / f"{base}_redate-{n}.docx").exists():
            n += 1
        stem = f"{base}_redate-{n}"
        st = w.stage()
        _render_final(ws, st, number, rev, revs, approvals, issued_d, effective_d, stem, pdf=bool(rev["pdf"]),
                      signers=history_signers(ws, cat, revs))
        st.manifest(rev["folder"], now=now_iso())
        copies = docstate.outstanding_copies(cat, number, revision=rev["revision"])
        (entry,) = w.commit([{"action": "doc.redate", "target": number,
                              "data": {"revision": rev["revision"], "issued": issued_d.isoformat(),
                                       "effective": effective_d.isoformat(), "previous_issued": rev["issued"],
                                       "previous_effective": rev["effective"], "reason": reason,
                                       "docx": f"{stem}.docx", "pdf": f"{stem}.pdf" if rev["pdf"] else None,
                                       **st.promise(rev["folder"])}}], actor=actor)
    warnings = [f"{copies} controlled copies of {rev['revision']} carry the earlier dates; recall and issue them "
                "again"] if copies else []
    return Change(f"redated {number} {rev['revision']}: 发布 {rev['issued']} → {issued_d}, 实施 {rev['effective']} → "
                  f"{effective_d} ({reason})",
                  {"number": number, "revision": rev["revision"], "issued": issued_d.isoformat(),
                   "effective": effective_d.isoformat(), "previous_issued": rev["issued"],
                   "previous_effective": rev["effective"], "reason": reason, "warnings": warnings}, seq=entry.seq)

def obsolete(ws: Workspace, number: str, *, reason: str, actor: str, on: str | None = None) -> Change:
    """Withdraw a document (作废): from `on` its current revision reads as obsolete."""
    if not reason or not reason.strip():
        raise InvalidInput("withdrawing a document needs --reason", field="reason")
    on_d = parse_date(on, field="on") if on else today()
    with writing(ws, purpose="doc obsolete") as w:
        cat = w.cat
        doc = docstate.doc_row(cat, number)
        if doc["obsolete_on"]:
            raise Conflict(f"{number} was already withdrawn on {doc['obsolete_on']}")
        revs = docstate.revisions(cat, number)
        released = [r for r in revs if r["state"] == "released"]
        if not released:
            raise Conflict(f"{number} has never been released; there is nothing to withdraw")
        if revs[-1]["state"] == "draft":
            # withdrawing now would leave a draft that could still be signed and released, and
            # then read as 作废 before it was ever issued
            raise Conflict(f"{number} {revs[-1]['revision']} is an open draft; release it first, or withdraw "
                           "the document once no revision is in progress")
        as_withdrawn = dict(doc) | {"obsolete_on": on_d.isoformat()}
        _, statuses = docstate.status_map(ws, cat, as_withdrawn, revs, on_d)
        withdrawn = [r for r in released if statuses[r["revision"]] == "obsolete"]
        st = w.stage()
        stamped = {}
        for r in withdrawn:
            name = stamp_obsolete(ws, st, r)
            if name:
                stamped[r["revision"]] = name
        now = now_iso()
        for r in withdrawn:
            if r["revision"] in stamped:
                st.manifest(r["folder"], now=now)
        (entry,) = w.commit([{"action": "doc.obsolete", "target": number,
                   "data": {"revisions": [r["revision"] for r in withdrawn], "on": on_d.isoformat(),
                            "reason": reason.strip(), "stamped": stamped, **st.promise()}}], actor=actor)
    return Change(f"made {number} obsolete (作废) on {on_d}: {reason.strip()}",
                  {"number": number, "obsolete_on": on_d.isoformat(),
                   "revisions": [r["revision"] for r in withdrawn]}, seq=entry.seq)


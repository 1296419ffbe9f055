"""The filer's electronic signature at filing time: a `signed_by: filer` field (e.g. 服务工程师)
is filled from the authenticated user's record, after their password, never typed. The
manifestation (field, name, login, time in the workspace's time zone) goes into the record's
data.yaml (`esign`) and its record.file event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..base.errors import InvalidInput
from ..identity.esign import confirm_password
from ..domain.labels import chinese
from ..store.workspace import Workspace

if TYPE_CHECKING:
    from ..identity import User

def filer_fields(form) -> list:
    fields = [f for f in form.fields if f.signed_by == "filer"]
    if not fields:
        raise InvalidInput(f"form {form.id} has no signature field signed by the filer "
                       "(signed_by: filer in its schema); file it without --sign", file=form.path)
    return fields


def sign_as_filer(ws: Workspace, filing, user: User, password) -> None:
    fields = filer_fields(filing.form)
    for f in fields:
        typed = filing.data.get(f.name)
        if typed not in (None, "", user.name):
            raise InvalidInput(f"{f.label} is the filer's signature, filled from your login ({user.name}); "
                           f"the data says {typed!r}", file=filing.origin, field=f.name)
    at = confirm_password(ws, user, password).isoformat()
    for f in fields:
        filing.data[f.name] = user.name
        filing.esign.append({"field": f.name, "label": f.label, "name": user.name, "login": user.login,
                             "signed_at": at, "meaning": _meaning(ws, f.label)})


def _meaning(ws: Workspace, label: str) -> str:
    return f"作为{label}签署本记录（填表人本人电子签名）" if chinese(ws.config.locale) else \
        f"signed as {label}, by the filer in person"


def others_named(ws: Workspace, filing, filer: User) -> list[str]:
    """Warnings for `signed_by: filer` fields naming someone other than the filer, when filing
    without --sign: the name is printed as typed, but nobody signed it (with --sign it is refused)."""
    out = []
    for f in filing.form.fields:
        typed = str(filing.data.get(f.name) or "").strip()
        if f.signed_by != "filer" or not typed or typed == filer.name:
            continue
        out.append(f"{f.label}（{f.name}）是填表人的签字栏，填的是 {typed}，而归档人是 {filer.name}（{filer.login}）："
                   "未经电子签名；本人填表请用 --sign 签署" if chinese(ws.config.locale) else
                   f"{f.label} ({f.name}) is the filer's signature but names {typed!r}, not you "
                   f"({filer.name}, {filer.login}): not signed electronically; file with --sign to sign it yourself")
    return out

"""The filer's electronic signature on a record: a `signed_by: filer` field (e.g. 服务工程师) is
filled from the authenticated user's record, after their password, never typed.

The manifestation (field, name, login, time in the workspace's time zone) goes into the
record's data.yaml (`esign`) and its record.file event; the customer's signature stays the
wet signature on the scan (qms record sign).
"""

from __future__ import annotations

from .errors import QmsError
from .identity import User
from .identity.users import authenticate
from .workspace import Workspace


def filer_fields(form) -> list:
    fields = [f for f in form.fields if f.signed_by == "filer"]
    if not fields:
        raise QmsError(f"form {form.id} has no signature field signed by the filer "
                       "(signed_by: filer in its schema); file it without --sign", file=form.path)
    return fields


def sign_as_filer(ws: Workspace, filing, user: User, password) -> None:
    from .esign import signing_time
    fields = filer_fields(filing.form)
    for f in fields:
        typed = filing.data.get(f.name)
        if typed not in (None, "", user.name):
            raise QmsError(f"{f.label} is the filer's signature, filled from your login ({user.name}); "
                           f"the data says {typed!r}", file=filing.origin, field=f.name)
    authenticate(ws, user.login, password() if callable(password) else password, purpose="sign")
    at = signing_time(ws).isoformat()
    for f in fields:
        filing.data[f.name] = user.name
        filing.esign.append({"field": f.name, "label": f.label, "name": user.name, "login": user.login,
                             "signed_at": at, "meaning": f"{f.label} / signed by the filer"})

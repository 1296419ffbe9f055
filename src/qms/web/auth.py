"""Who is asking: the session cookie, CSRF tokens and permission checks, over qms.identity.

Every route names the permission it needs; `require` answers 401 without a session and 403 without
the permission. The session itself (login, lockout, idle timeout, logout) belongs to qms.identity,
so the same rules hold for the CLI, the pages and the API, and for every worker process.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.requests import Request

COOKIE = "qms_session"
CSRF_HEADER = "x-csrf-token"

# Permission names are config.yaml's (identity.roles). Every logged-in user may read.
READ = "read"                  # search, documents, records, log, master list, verify
DOC_SIGN = "doc.sign"          # any of doc.sign.prepared … doc.sign.approved (the approval roles)
DOC_SUBMIT = "doc.submit"      # quality manager (author): upload and submit a procedure
DOC_RELEASE = "doc.release"
DOC_OBSOLETE = "doc.obsolete"  # 作废 a released document
DOC_WITHDRAW = "doc.withdraw"  # discard an unreleased draft
DOC_COPY = "doc.copy"          # issue and recall controlled copies
RECORD_FILE = "record.file"    # service engineer / clerk
RECORD_SIGN = "record.sign"    # attach the customer-signed scan
HOLD = "records.hold"          # records keeper
PURGE = "records.purge"        # proposes a disposal (销毁审批单)
DISPOSE_APPROVE = "records.dispose.approve"   # 管理者代表: approves a disposal proposed by someone else
COMPILE = "records.compile"


@dataclass
class WebUser:
    login: str
    name: str
    roles: list[str]
    token: str
    permissions: set[str] = field(default_factory=set)
    identity: object = None       # the qms.identity User, for library calls that take one

    @property
    def actor(self) -> str:
        """What the journal names: the login and the printed name, as the CLI writes it."""
        return f"{self.login} {self.name}"

    def can(self, perm: str) -> bool:
        if perm == READ:
            return True
        # a role limited to a department ('批准@质量部') still opens the page; the library checks the document
        return any(p == perm or p.startswith(perm + ".") or p.startswith(perm + "@") for p in self.permissions)

    @property
    def csrf_token(self) -> str:
        return csrf_for(self.token)


def csrf_for(token: str) -> str:
    """Derived from the secret session token: no state to keep, different for every session."""
    return hashlib.sha256(b"qms-csrf:" + token.encode()).hexdigest()


def current_user(request: Request) -> WebUser | None:
    cached = request.scope.get("qms.user", False)
    if cached is not False:
        return cached
    token = request.cookies.get(COOKIE) or ""
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        token = bearer[7:].strip()
    user = None
    if token:
        from . import backend
        user = backend.resume(request.app.state.ws, token)
    request.scope["qms.user"] = user
    return user


def require(request: Request, perm: str = READ) -> WebUser:
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "请先登录")
    if not user.can(perm):
        raise HTTPException(403, "没有权限")
    return user


def check_csrf(request: Request, user: WebUser, form=None) -> None:
    """The token from the form (pages) or the X-CSRF-Token header (API) must match the session's."""
    sent = request.headers.get(CSRF_HEADER) or (form.get("csrf_token") if form is not None else None) or ""
    if not hmac.compare_digest(str(sent), user.csrf_token):
        raise HTTPException(403, "CSRF 校验失败，请刷新页面后重试")


def flash_redirect(path: str, user: WebUser, message: str):
    """A 303 to PATH carrying a one-line result; signed with the session so that a link crafted by
    someone else cannot put words on our page (it would be escaped, but still read as ours)."""
    from urllib.parse import urlencode
    from starlette.responses import RedirectResponse
    sig = hmac.new(user.token.encode(), message.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
    return RedirectResponse(f"{path}?{urlencode({'done': message, 'sig': sig})}", status_code=303)


def flash_message(request: Request) -> str:
    """The result message of the redirect that brought the user here, if it is genuinely ours."""
    user = current_user(request)
    message = request.query_params.get("done", "")
    if not user or not message:
        return ""
    sig = hmac.new(user.token.encode(), message.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
    return message if hmac.compare_digest(sig, request.query_params.get("sig", "")) else ""

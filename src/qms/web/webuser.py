"""The logged-in user as the web sees it (a session token and its permissions), and the
permission names the pages ask for."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..identity.permissions import permits

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
        """May open the page or show the button: the permission, a narrower one ('doc.sign' for
        'doc.sign.approved') or a department's ('批准@质量部'); the library checks the document."""
        return perm == READ or permits(self.permissions, perm, narrower=True)

    @property
    def csrf_token(self) -> str:
        return csrf_for(self.token)


def csrf_for(token: str) -> str:
    """Derived from the secret session token: no state to keep, different for every session."""
    return hashlib.sha256(b"qms-csrf:" + token.encode()).hexdigest()

"""Routes, one module per job; ROUTES is what the application mounts."""

from . import api, approver, auditor, engineer, files, keeper, login, quality
from . import scan as _scan

ROUTES = [*login.ROUTES, *auditor.ROUTES, *files.ROUTES, *api.ROUTES, *approver.ROUTES, *engineer.ROUTES,
          *quality.ROUTES, *keeper.ROUTES,
          *_scan.ROUTES]
from . import drafts  # noqa: E402  (issue 25: the source editor and the approver's redline)
ROUTES += drafts.ROUTES

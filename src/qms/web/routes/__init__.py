"""Routes, one module per job; ROUTES is what the application mounts."""

from . import api, approver, auditor, engineer, files, keeper, login, quality
from . import scan as _scan

ROUTES = [*login.ROUTES, *auditor.ROUTES, *files.ROUTES, *api.ROUTES, *approver.ROUTES, *engineer.ROUTES,
          *quality.ROUTES, *keeper.ROUTES,
          *_scan.ROUTES]

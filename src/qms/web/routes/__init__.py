"""Routes, one module per job; ROUTES is what the application mounts."""

from . import api, approver, auditor, engineer, files, keeper, login, quality
from . import capa, todo  # 我的待办 is the home page: its routes come first
from . import scan_pages as _scan

ROUTES = [*todo.ROUTES, *capa.ROUTES, *login.ROUTES, *auditor.ROUTES, *files.ROUTES, *api.ROUTES, *approver.ROUTES,
          *engineer.ROUTES, *quality.ROUTES, *keeper.ROUTES, *_scan.ROUTES]
from . import drafts  # noqa: E402  (issue 25: the source editor and the approver's redline)
ROUTES += drafts.ROUTES


from . import kpi_pages as _kpi  # noqa: E402  (issue 24: the KPI dashboard)

ROUTES += _kpi.ROUTES

from .common import limited  # noqa: E402
# every plain-function page runs on the routes' own few threads (common.ROUTE_THREADS)
ROUTES = [limited(r) for r in ROUTES]

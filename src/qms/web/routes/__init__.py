"""Routes, one module per job; ROUTES is what the application mounts."""

from . import api, auditor, files

ROUTES = [*auditor.ROUTES, *files.ROUTES, *api.ROUTES]

"""Routes, one module per job; ROUTES is what the application mounts."""

from . import api, approver, auditor, engineer, files, login

ROUTES = [*login.ROUTES, *auditor.ROUTES, *files.ROUTES, *api.ROUTES, *approver.ROUTES, *engineer.ROUTES]

"""`qms serve`: uvicorn over the application of one workspace (by path, so --workers N can re-import it)."""

from __future__ import annotations

import os
from pathlib import Path


def app_from_env():
    """The factory uvicorn calls in each worker: the workspace comes from $QMS_WORKSPACE."""
    from ..notify.scheduler import start_background
    from .app import create_app
    app = create_app(os.environ["QMS_WORKSPACE"])
    start_background(app.state.ws)      # reminders and due items; exactly once across workers (the journal)
    return app


def run(root: Path, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    import uvicorn
    os.environ["QMS_WORKSPACE"] = str(root)
    print(f"qms web: http://{host}:{port}/  (workspace {root}; Ctrl-C stops)", flush=True)
    from ..scan.watch import start          # the scan inbox (scan.inbox) and the job worker, one each
    from ..workspace import open_workspace
    start(open_workspace(root))
    uvicorn.run("qms.web.serve:app_from_env", factory=True, host=host, port=port, workers=max(1, workers),
                proxy_headers=True, server_header=False, log_level="info")

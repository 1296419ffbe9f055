"""`qms serve`: uvicorn over the application of one workspace (by path, so --workers N can re-import it)."""

from __future__ import annotations

import os
from pathlib import Path
from .app import create_app


def app_from_env():
    """The factory uvicorn calls in each worker: the workspace comes from $QMS_WORKSPACE."""
    return create_app(os.environ["QMS_WORKSPACE"])


def run(root: Path, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    import uvicorn
    os.environ["QMS_WORKSPACE"] = str(root)
    print(f"qms web: http://{host}:{port}/  (workspace {root}; Ctrl-C stops)", flush=True)
    uvicorn.run("qms.web.serve:app_from_env", factory=True, host=host, port=port, workers=max(1, workers),
                proxy_headers=True, server_header=False, log_level="info")

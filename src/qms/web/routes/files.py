"""Downloads: only files a manifest lists, by number and manifest name (/files/{number}/{name})."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from ...store.downloads import find_file
from ...base.errors import QmsError
from ..auth import READ, require
from starlette.exceptions import HTTPException

_INLINE = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def download(request: Request):
    require(request, READ)
    number, name = request.path_params["number"], request.path_params["name"]
    try:
        f = find_file(request.app.state.ws, number, name, request.query_params.get("v") or None)
    except QmsError:
        raise HTTPException(404, f"{number} 没有文件 {name}") from None
    suffix = f.path.suffix.lower()
    base = f.name.rsplit("/", 1)[-1]
    # PDFs and pictures open in the browser; everything else (docx, yaml, json) is an attachment.
    disposition = "inline" if suffix in _INLINE else "attachment"
    return FileResponse(f.path, media_type=_INLINE.get(suffix), headers={
        "content-disposition": f"{disposition}; filename*=UTF-8''{quote(base)}",
        "x-content-sha256": f.sha256})


ROUTES = [Route("/files/{number}/{name:path}", download)]

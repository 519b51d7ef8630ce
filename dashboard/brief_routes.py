"""Downloads of stored 工作简报 (PDF, Excel): the brief id is screened by the request guard (a brief of
another area answers 404, like an unknown one) and checked again here; every download is logged."""
from __future__ import annotations

from flask import Blueprint, Response, abort

from governance.reports.briefs import brief_file

from .runtime import current

briefs = Blueprint("briefs", __name__)
MIMETYPES = {"pdf": "application/pdf",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _download(brief_id: int, fmt: str) -> Response:
    """A stored report's file, when it lies in the principal's scope (else 404)."""
    from governance.accounts.accounts import log_access

    from .auth import client_ip, covers, principal

    rt = current()
    with rt.engine.connect() as conn:
        found = brief_file(conn, brief_id, fmt)
    if found is None or not covers(found[1]):
        abort(404, description="unknown brief")
    data, _path, name = found
    with rt.engine.begin() as conn:
        log_access(conn, principal().name, "brief_download", rt.now(), target=f"brief:{brief_id}", detail=name,
                   ip=client_ip())
    return Response(data, mimetype=MIMETYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})


@briefs.get("/api/v1/briefs/<int:brief_id>.pdf")
def brief_pdf(brief_id: int):
    """A stored 工作简报 as PDF."""
    return _download(brief_id, "pdf")


@briefs.get("/api/v1/briefs/<int:brief_id>.xlsx")
def brief_xlsx(brief_id: int):
    """A stored 工作简报 as Excel."""
    return _download(brief_id, "xlsx")

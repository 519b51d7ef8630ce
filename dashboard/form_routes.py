"""Export of a pushed form's answers (CSV / Excel) for roles that push forms; the form id is screened by the
request guard (kind "form": it lies where it was pushed), and every export is logged (a photo answer is
exported as its address). GET /api/v1/form-photos/<id> serves a photo answer (?thumb=1 its thumbnail) to
roles that push forms whose scope holds its assignment (kind "form_photo", screened by the request guard)."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, request

from governance.people import forms
from governance.accounts.accounts import log_access
from governance.events.event_search import spreadsheet_safe
from governance.core.timeutil import format_local

from .runtime import current
from .worker_routes import send_stored_photo

form_export = Blueprint("form_export", __name__)


def _rows(form_id: int, fmt: str):
    from .auth import client_ip, principal

    rt = current()
    with rt.engine.begin() as conn:
        host = request.host_url.rstrip("/")
        header, rows = forms.answer_rows(conn, form_id, link=lambda pid: host + forms.photo_url(pid))
        log_access(conn, principal().name, "form_export", rt.now(), target=f"form:{form_id}",
                   detail=f"{fmt} rows={len(rows)}", ip=client_ip())
    return header, [[spreadsheet_safe(c) for c in r] for r in rows], f"form-{form_id}-{format_local(rt.now(), '%Y%m%d%H%M')}"


@form_export.get("/api/v1/forms/<int:form_id>/answers.csv")
def form_csv(form_id: int):
    """A form's assignments and answers as UTF-8 CSV (with BOM, for Excel)."""
    header, rows, name = _rows(form_id, "csv")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@form_export.get("/api/v1/forms/<int:form_id>/answers.xlsx")
def form_xlsx(form_id: int):
    """A form's assignments and answers as an Excel workbook."""
    from openpyxl import Workbook

    header, rows, name = _rows(form_id, "xlsx")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("回答")
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return Response(buf.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@form_export.get("/api/v1/form-photos/<int:form_photo_id>")
def form_photo(form_photo_id: int):
    """A form's photo answer (or ?thumb=1 its thumbnail), for principals whose scope holds its assignment."""
    with current().engine.connect() as conn:
        found = forms.stored_photo(conn, form_photo_id, thumb=request.args.get("thumb") == "1")
    return send_stored_photo(found)

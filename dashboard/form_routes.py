"""Export of a pushed form's answers (CSV / Excel) for roles that push forms; the form id is screened by the
request guard (kind "form": it lies where it was pushed), and every export is logged."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response

from governance.people import forms
from governance.accounts.accounts import log_access
from governance.events.event_search import spreadsheet_safe
from governance.core.timeutil import format_local

from .runtime import current

form_export = Blueprint("form_export", __name__)


def _rows(form_id: int, fmt: str):
    from .auth import client_ip, principal

    rt = current()
    with rt.engine.begin() as conn:
        header, rows = forms.answer_rows(conn, form_id)
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

"""CSV and Excel export of exactly the events the laptop view's filters select."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, request

from governance.events.event_search import EXPORT_COLUMNS, export_rows, spreadsheet_safe
from governance.events.queries import area_by_code
from governance.core.timeutil import format_local

from .event_filters import filter_from_args, labelled
from .runtime import current

export = Blueprint("export", __name__)
PHOTO_COLUMN = "现场照片"  # links to the events' photos (each scope-checked when opened)


def _rows_with_photos(conn, area, f):
    """The export's cells per event, its photo links last (absolute URLs, space-separated)."""
    from governance.events.photos import ids_by_event, url

    base, batch = request.host_url.rstrip("/"), []

    def cells(rows):
        shots = ids_by_event(conn, [r["id"] for r in rows])
        return ([spreadsheet_safe(r[k]) for k, _ in EXPORT_COLUMNS]
                + [" ".join(base + url(p) for p in shots.get(r["id"], []))] for r in rows)

    for row in map(labelled, export_rows(conn, area.path, f)):
        batch.append(row)
        if len(batch) == 900:
            yield from cells(batch)
            batch = []
    yield from cells(batch)


def _scope():
    """The area asked for, which must lie in the principal's scope (else 404, like an unknown one)."""
    from .auth import covers, home_code

    with current().engine.connect() as conn:
        area = area_by_code(conn, request.args.get("area") or home_code())
    if area is None or not covers(area.path):
        abort(404, description="unknown area")
    from governance.accounts.accounts import log_access

    from .auth import client_ip, principal

    with current().engine.begin() as conn:  # bulk reads of citizen cases are accounted for
        log_access(conn, principal().name, "export", current().now(), target=area.code,
                   detail=request.query_string.decode()[:500], ip=client_ip())
    return area


@export.get("/api/v1/events.csv")
def events_csv():
    """The filtered events as UTF-8 CSV with BOM (opens correctly in Excel)."""
    area = _scope()
    f = filter_from_args(request.args)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([label for _, label in EXPORT_COLUMNS] + [PHOTO_COLUMN])
    with current().engine.connect() as conn:
        writer.writerows(_rows_with_photos(conn, area, f))
    name = f"events-{area.code}-{format_local(current().now(), '%Y%m%d%H%M')}.csv"
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@export.get("/api/v1/events.xlsx")
def events_xlsx():
    """The filtered events as an Excel workbook."""
    from openpyxl import Workbook

    area = _scope()
    f = filter_from_args(request.args)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("事件")
    ws.append([label for _, label in EXPORT_COLUMNS] + [PHOTO_COLUMN])
    with current().engine.connect() as conn:
        for cells in _rows_with_photos(conn, area, f):
            ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    name = f"events-{area.code}-{format_local(current().now(), '%Y%m%d%H%M')}.xlsx"
    return Response(out.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

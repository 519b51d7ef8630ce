"""Export of the people page's masked list as CSV, for roles with export_people; every export is logged."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, request

from governance.people import people_list
from governance.accounts.accounts import log_access
from governance.events.event_search import spreadsheet_safe
from governance.people.groups import groups
from governance.events.queries import area_by_code
from governance.core.timeutil import format_local

from .runtime import current

people_export = Blueprint("people_export", __name__)


@people_export.get("/api/v1/people.csv")
def people_csv():
    """The page's list (special-group households or premises) of an area in scope, masked, as UTF-8 CSV."""
    from .auth import client_ip, covers, home_code, principal

    with current().engine.connect() as conn:
        area = area_by_code(conn, request.args.get("area") or home_code())
    if area is None or not covers(area.path):
        abort(404, description="unknown area")
    view = request.args.get("view", "households")
    group = request.args.get("group") if request.args.get("group") in groups() else None
    with current().engine.begin() as conn:
        if view == "premises":
            rows, columns = people_list.premises(conn, area.path, request.args.get("category"), limit=100_000), \
                people_list.PREMISES_COLUMNS
        else:
            rows, columns = people_list.special_households(conn, area.path, group, limit=100_000), \
                people_list.HOUSEHOLD_COLUMNS
        log_access(conn, principal().name, "people_export", current().now(), target=area.code,
                   detail=f"{request.query_string.decode()[:400]} rows={len(rows)}", ip=client_ip())
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([label for _, label in columns])
    for r in rows:
        w.writerow([spreadsheet_safe(str(r[k])) for k, _ in columns])
    name = f"people-{view}-{area.code}-{format_local(current().now(), '%Y%m%d%H%M')}.csv"
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

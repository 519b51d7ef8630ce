"""HTTP routes of issue #20: the riders' points export for the 兑换 desk and the printable drill report."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template_string, request

from governance.core.access import scope_condition
from governance.events.drills import drill_report, expire_drills, worker_results
from governance.models import Event
from governance.events.queries import area_by_code
from governance.core.timeutil import format_local
from governance.events.verification import export_csv, leaderboard

from .runtime import current

participation = Blueprint("participation", __name__)


@participation.get("/api/v1/rider-points.csv")
def rider_points_csv():
    """The riders' leaderboard of an area as CSV (UTF-8 with BOM); the export is logged."""
    from governance.accounts.accounts import log_access

    from .auth import client_ip, covers, home_code, principal

    rt = current()
    with rt.engine.connect() as conn:
        area = area_by_code(conn, request.args.get("area") or home_code())
        if area is None or not covers(area.path):
            abort(404, description="unknown area")
        board = leaderboard(conn, area.path)
    with rt.engine.begin() as conn:
        log_access(conn, principal().name, "export", rt.now(), target=area.code, detail="rider-points", ip=client_ip())
    name = f"rider-points-{area.code}-{format_local(rt.now(), '%Y%m%d')}.csv"
    return Response(export_csv(board, format_local), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


PRINT = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>网格赶考报告 {{ drill }}</title>
<style>body{font-family:"Noto Sans CJK SC",sans-serif;margin:2em;color:#111}table{border-collapse:collapse;width:100%;
margin-bottom:1.5em}th,td{border:1px solid #999;padding:4px 6px;font-size:12px;text-align:left}h2{page-break-before:auto}
.missed{color:#b00}@media print{a{display:none}}</style></head><body>
<h1>网格赶考报告 {{ drill }}</h1><p>打印时间：{{ printed }}；演练事件不计入办结率、预警和排名。</p>
<h2>各社区</h2><table><tr><th>社区</th><th>派出</th><th>已签收</th><th>已完成</th><th>签收中位（分钟）</th>
<th>最慢（分钟）</th></tr>{% for r in communities %}<tr><td>{{ r.community }}</td><td>{{ r.sent }}</td>
<td>{{ r.accepted }}</td><td>{{ r.finished }}</td><td>{{ r.median_minutes if r.median_minutes is not none else "—" }}</td>
<td>{{ r.slowest_minutes if r.slowest_minutes is not none else "—" }}</td></tr>{% endfor %}</table>
{% for community, rows in workers %}<h2>{{ community }} · 每人结果</h2><table><tr><th>网格员</th><th>微网格</th>
<th>是否响应</th><th>签收用时（分钟）</th><th>提交结果用时（分钟）</th></tr>{% for w in rows %}<tr>
<td>{{ w.worker }}</td><td>{{ w.grid }}</td><td class="{{ 'missed' if w.missed else '' }}">{{ "已签收" if w.responded
else ("超时未签收" if w.missed else "未签收") }}</td><td>{{ w.accept_minutes if w.accept_minutes is not none else "—" }}</td>
<td>{{ w.submit_minutes if w.submit_minutes is not none else "—" }}</td></tr>{% endfor %}</table>{% endfor %}
</body></html>"""


@participation.get("/drill/<drill_id>/print")
def drill_print(drill_id: str):
    """A printable drill report: per community, then every worker's result (the guard checked the drill)."""
    from itertools import groupby

    from .auth import principal

    rt = current()
    with rt.engine.begin() as conn:
        expire_drills(conn, rt.now())
    cond = scope_condition(principal(), Event.area_path)
    with rt.engine.connect() as conn:
        communities = drill_report(conn, drill_id, rt.now(), cond)
        workers = worker_results(conn, drill_id, rt.now(), cond)
    if not communities:
        abort(404, description="unknown drill")
    grouped = [(k, list(g)) for k, g in groupby(workers, key=lambda w: w["community"])]
    return render_template_string(PRINT, drill=drill_id, communities=communities, workers=grouped,
                                  printed=format_local(rt.now(), "%Y-%m-%d %H:%M"))

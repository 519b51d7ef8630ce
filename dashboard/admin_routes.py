"""Routes of the admin console: the one-time password page (/reset/<token>) and the audit export."""
from __future__ import annotations

import csv
import io

import flask
from flask import Blueprint, Response, abort, request
from markupsafe import escape

from governance.accounts.accounts import log_access
from governance.accounts.admin_ops import AdminError, reset_link_user, use_reset_link
from governance.accounts.audit_log import COLUMNS, KINDS, display, filter_from, rows
from governance.events.event_search import spreadsheet_safe
from governance.events.queries import area_by_code
from governance.core.timeutil import format_local

from .auth import client_ip, principal
from .auth_pages import _cross_site
from .refusals import page as _page
from .runtime import current

admin_routes = Blueprint("admin_routes", __name__)


def _reset_form(token: str, username: str, message: str = "", status: int = 200) -> flask.Response:
    error = f'<p class="auth-error" role="alert">{escape(message)}</p>' if message else ""
    csrf = principal().csrf or ""
    body = f"""<p>为账号 <b>{escape(username)}</b> 设置新密码（至少 10 位）。此链接只能使用一次。</p>{error}
<form method="post" class="auth-form"><input type="hidden" name="csrf_token" value="{escape(csrf)}">
<label>新密码<input name="password" type="password" autocomplete="new-password" required></label>
<label>再次输入<input name="repeat" type="password" autocomplete="new-password" required></label>
<button type="submit" class="action-button primary">设置密码</button></form>"""
    resp = _page("设置密码", body, status)
    resp.headers["Referrer-Policy"] = "no-referrer"  # the link is the credential: never sent onwards
    return resp


@admin_routes.get("/reset/<token>")
def reset_form(token: str):
    """The set-password form of a live one-time link (an unknown, used or expired link is refused)."""
    rt = current()
    with rt.engine.connect() as conn:
        username = reset_link_user(conn, token, rt.now())
    if username is None:
        return _page("无法访问", '<p class="auth-error">链接无效、已使用或已过期，请联系管理员重新发放</p>', 404)
    return _reset_form(token, username)


@admin_routes.post("/reset/<token>")
def reset_submit(token: str):
    """Set the new password (the link is spent and the person's sessions end), then go to sign-in."""
    rt = current()
    if _cross_site():
        return _page("无法访问", '<p class="auth-error">请从本站的页面提交</p>', 403)
    try:
        with rt.engine.begin() as conn:
            use_reset_link(conn, token, request.form.get("password", ""), request.form.get("repeat", ""), rt.now(),
                           client_ip())
    except (AdminError, ValueError) as exc:
        with rt.engine.connect() as conn:
            username = reset_link_user(conn, token, rt.now())
        if username is None:
            return _page("无法访问", f'<p class="auth-error">{escape(str(exc))}</p>', 404)
        return _reset_form(token, username, str(exc), 400)
    return _page("密码已设置", '<p>密码已设置。</p><p><a href="/login">去登录</a></p>')


def _audit_filter():
    """The export's filter (the same arguments as the audit page); the area is screened by the gate."""
    area_path = None
    if request.args.get("area"):
        with current().engine.connect() as conn:
            area = area_by_code(conn, request.args["area"])
        if area is None:
            abort(404)
        area_path = area.path
    a = request.args
    return filter_from(a.get("kind"), a.get("person"), area_path, a.get("action"), a.get("start"), a.get("end"))


def _export_rows(f):
    rt, p = current(), principal()
    with rt.engine.begin() as conn:
        found = [display(f.kind, r) for r in rows(conn, p, f, limit=100_000)]
        log_access(conn, p.name, "audit_export", rt.now(), target=request.args.get("area") or None,
                   detail=request.query_string.decode()[:500], ip=client_ip())
    return found


def _name(f, ext: str) -> str:
    return f"audit-{f.kind}-{format_local(current().now(), '%Y%m%d%H%M')}.{ext}"


@admin_routes.get("/api/v1/audit.csv")
def audit_csv():
    """The filtered audit entries as UTF-8 CSV with BOM."""
    f = _audit_filter()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([label for _, label in COLUMNS[f.kind]])
    for row in _export_rows(f):
        writer.writerow([spreadsheet_safe(row[k]) for k, _ in COLUMNS[f.kind]])
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_name(f, "csv")}"'})


@admin_routes.get("/api/v1/audit.xlsx")
def audit_xlsx():
    """The filtered audit entries as an Excel workbook."""
    from openpyxl import Workbook

    f = _audit_filter()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(KINDS[f.kind])
    ws.append([label for _, label in COLUMNS[f.kind]])
    for row in _export_rows(f):
        ws.append([spreadsheet_safe(row[k]) for k, _ in COLUMNS[f.kind]])
    out = io.BytesIO()
    wb.save(out)
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{_name(f, "xlsx")}"'})

"""工作简报: the PDF's text and the Excel cells hold the cockpit's KPI values for the same area and period
(through the cockpit's own code path, and independently from the events table); the PDF renders Chinese
with an embedded font; downloads are scoped; the scheduler writes each finished period once."""
from __future__ import annotations

import io
import json
import re
import subprocess
from datetime import datetime, timedelta

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import select, text

from governance.reports.briefs import REPORT_KPIS, generate, generate_due, period_of
from governance.figures.kpis import period_bounds, same_time_last_year
from governance.models import AccessLog, Brief, Outbox
from governance.core.notify import deliver_outbox
from governance.core.timeutil import to_local

from .conftest import ARTIFACTS, WORLD_NOW, http_session

LABELS = {key: label for key, label, _ in REPORT_KPIS}
CARD_KEYS = ("closure_rate", "on_time_rate", "satisfaction_rate", "cases_yoy", "open_count", "overdue")


def pdf_text(data: bytes) -> str:
    """The PDF's text as pdftotext (poppler-utils) extracts it, laid out."""
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def pdf_kpi(txt: str, label: str) -> tuple[str, str]:
    """(this period, last year) of a KPI row in the PDF's text."""
    value = r"([-+]?[\d,]+(?:\.\d)?%?|样本不足|—)"
    for line in txt.splitlines():
        m = re.match(rf"^\s*{label}\s+{value}\s+{value}", line)
        if m:
            return m.group(1), m.group(2)
    raise AssertionError(f"{label} not found in the PDF text")


def xlsx_kpis(data: bytes) -> dict[str, tuple]:
    """Label → (this period, last year) from the workbook's KPI sheet."""
    ws = load_workbook(io.BytesIO(data))["核心指标"]
    return {row[0]: (row[1], row[2]) for row in ws.iter_rows(values_only=True) if row[0] in LABELS.values()}


def stored(engine, brief_id: int):
    with engine.connect() as conn:
        return conn.execute(select(Brief.__table__).where(Brief.id == brief_id)).one()


def independent_counts(engine, path: str, start: datetime, end: datetime) -> tuple[int, int]:
    """(received, closed) in [start, end] straight from the event table, written out in SQL."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT SUM(CASE WHEN status <> 'returned' THEN 1 ELSE 0 END), "
            "       SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END) FROM event "
            "WHERE area_path LIKE :p AND duplicate_of_id IS NULL AND is_drill = :f "
            "  AND reported_at >= :s AND reported_at <= :e"), {"p": path + "%", "f": False, "s": start, "e": end}).one()
    return int(row[0] or 0), int(row[1] or 0)


@pytest.mark.parametrize("kind,period", [("monthly", "month"), ("weekly", "week")])
def test_report_holds_the_cockpits_kpis(kind, period, cockpit_app, world_engine):
    """This month's (week's) sub-district report against the cockpit's 本月 (本周) strip at the same moment."""
    from dashboard import cockpit_data
    from dashboard.components.kpi_strip import kpi_values

    focus = world_engine.accounts["focus"]
    area = cockpit_data.area(focus)
    cards = kpi_values(cockpit_data.kpis(cockpit_data.stamp(fresh=True), area.path, period))
    brief_id = generate(world_engine, focus, kind, WORLD_NOW, which="current", actor="test")
    brief = stored(world_engine, brief_id)
    txt, cells = pdf_text(brief.pdf), xlsx_kpis(brief.xlsx)
    for key in CARD_KEYS:
        assert pdf_kpi(txt, LABELS[key])[0] == cards[key], key
        assert cells[LABELS[key]][0] == cards[key], key
    # one figure independently from the events table: received and 办结率 of the period
    start, end = period_bounds(period, WORLD_NOW)
    received, closed = independent_counts(world_engine, area.path, start, end)
    assert received > 100
    assert pdf_kpi(txt, "受理件数")[0] == f"{received:,}" == cells["受理件数"][0]
    assert pdf_kpi(txt, "办结率")[0] == f"{100 * closed / received:.1f}%"
    # the same period last year, also from the events table
    ly_received, ly_closed = independent_counts(world_engine, area.path, same_time_last_year(start),
                                                same_time_last_year(end))
    assert pdf_kpi(txt, "受理件数")[1] == f"{ly_received:,}" == cells["受理件数"][1]
    assert pdf_kpi(txt, "办结率")[1] == f"{100 * ly_closed / ly_received:.1f}%" == cells["办结率"][1]
    assert brief.content["period"] in txt.replace("\n", " ") or "截至" in txt
    for title in ("社区（总网格）排名", "高发类别", "热点微网格", "预警", "升级事件", "督办事项", "网格赶考"):
        assert title in txt, title


def test_finished_month_equals_the_cockpit_at_its_last_instant(world_engine):
    """A finished period's report is the cockpit's strip as it stood at the period's last microsecond."""
    from governance.figures.kpis import compute_kpis

    focus = world_engine.accounts["focus"]
    period = period_of("monthly", WORLD_NOW)
    assert to_local(period.start).day == 1 and to_local(period.end + timedelta(microseconds=1)).day == 1
    brief = stored(world_engine, generate(world_engine, focus, "monthly", WORLD_NOW, actor="test"))
    with world_engine.begin() as conn:
        path = conn.execute(text("SELECT path FROM area WHERE code = :c"), {"c": focus}).scalar()
        snap = compute_kpis(conn, path, "month", period.end)
    received, closed = independent_counts(world_engine, path, period.start, period.end)
    assert (snap.total, snap.closed) == (received, closed)
    cells = xlsx_kpis(brief.xlsx)
    assert cells["受理件数"][0] == f"{received:,}"
    assert cells["办结率"][0] == pdf_kpi(pdf_text(brief.pdf), "办结率")[0] == f"{100 * closed / received:.1f}%"


def test_pdf_is_a4_with_an_embedded_chinese_font_and_renders(world_engine):
    focus = world_engine.accounts["focus"]
    brief = stored(world_engine, generate(world_engine, focus, "monthly", WORLD_NOW, actor="test"))
    info = subprocess.run(["pdfinfo", "-"], input=brief.pdf, capture_output=True, check=True).stdout.decode()
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info
    fonts = subprocess.run(["pdffonts", "-"], input=brief.pdf, capture_output=True, check=True).stdout.decode()
    cjk = [line for line in fonts.splitlines() if "WenQuanYi" in line]
    assert cjk and all(" yes yes yes " in f" {' '.join(line.split()[-5:])} " for line in cjk), fonts
    ARTIFACTS.mkdir(exist_ok=True)
    for page in (1, 2):
        prefix = ARTIFACTS / f"brief-monthly-page{page}"
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile", "-",
                        str(prefix)], input=brief.pdf, check=True)
        assert prefix.with_suffix(".png").stat().st_size > 20_000
    assert "工作月报" in pdf_text(brief.pdf)


def test_citizen_text_is_printed_not_interpreted():
    """Table cells go through Paragraph markup escaping: a title with tags and entities prints as typed."""
    from governance.reports.brief_pdf import render_pdf
    from governance.reports.brief_xlsx import render_xlsx

    nasty = '=HYPERLINK("x") <b>井盖</b> & <font size="40">丢失</font>'
    content = {"title": "测试工作周报", "area": {"code": "1", "name": "测试街道", "level": "subdistrict"},
               "kind": "weekly", "period": "第 1 周", "generated_at": "2026-11-20 12:00",
               "kpis": [{"key": "total", "label": "受理件数", "definition": "定义", "value": "1", "last_year": "—"}],
               "tables": [{"key": "chronic", "title": "督办事项", "columns": ["事件", "标题"], "rows": [[1, nasty]],
                           "note": ""}],
               "map": {"features": [], "counts": {}, "hot": []}}
    txt = pdf_text(render_pdf(content))
    assert '<b>井盖</b> & <font size="40">丢失</font>' in txt
    ws = load_workbook(io.BytesIO(render_xlsx(content)))["督办事项"]
    assert ws.cell(row=4, column=2).value == "'" + nasty  # never a formula


def test_downloads_are_scoped_and_logged(world_engine, live_server):
    acc = world_engine.accounts
    a, b = acc["communities"][0], acc["communities"][1]
    own = generate(world_engine, a, "weekly", WORLD_NOW, actor="test")
    street = generate(world_engine, acc["focus"], "weekly", WORLD_NOW, actor="test")
    for who, brief, ok in [("community", own, True), ("leader", own, True), ("admin", own, True),
                           ("community_b", own, False), ("community", street, False), ("viewer", own, False),
                           ("gridworker", own, False), ("leader", street, True), ("community", 10 ** 9, False)]:
        s = http_session(world_engine, live_server, who)
        for fmt in ("pdf", "xlsx"):
            resp = s.get(f"{live_server}/api/v1/briefs/{brief}.{fmt}", timeout=30)
            assert (resp.status_code == 200) == ok, (who, brief, fmt, resp.status_code)
            if ok:
                assert resp.content.startswith(b"%PDF" if fmt == "pdf" else b"PK")
            elif who in ("community_b", "community"):
                assert resp.status_code == 404  # another area's report looks exactly like an unknown one
    assert requests.get(f"{live_server}/api/v1/briefs/{own}.pdf", timeout=30).status_code == 401
    with world_engine.connect() as conn:
        actions = conn.execute(select(AccessLog.actor, AccessLog.action).where(
            AccessLog.target.in_([f"brief:{own}", f"brief:{street}"]))).all()
    assert ("测试community", "brief_download") in actions and ("测试community_b", "brief_download") not in actions
    assert ("测试community_b", "scope_refused") in {(r.actor, r.action) for r in _refusals(world_engine, own)}


def _refusals(engine, brief_id):
    with engine.connect() as conn:
        return conn.execute(select(AccessLog.actor, AccessLog.action).where(
            AccessLog.target == f"brief:{brief_id}")).all()


def test_generate_callback_is_scoped(world_engine, live_server, cockpit_app):
    """A community's staff may generate its own report but not, by a forged request, the sub-district's."""
    from .test_access_matrix import _callback_name, _server_callbacks

    requests.get(live_server + "/login")
    key, entry = next((k, e) for k, e in _server_callbacks(cockpit_app).items()
                      if _callback_name(e) == "generate_brief")
    acc = world_engine.accounts

    def body(area):
        vals = {"brief-area": area, "brief-kind": "monthly", "brief-which": "current"}
        return {"output": key, "outputs": [{"id": "brief-msg", "property": "children"},
                                           {"id": "brief-list", "property": "children"}],
                "inputs": [{"id": "brief-generate", "property": "n_clicks", "value": 1}],
                "state": [{"id": d["id"], "property": d["property"], "value": vals[d["id"]]} for d in entry["state"]],
                "changedPropIds": ["brief-generate.n_clicks"]}
    s = http_session(world_engine, live_server, "community")
    with world_engine.connect() as conn:
        before = conn.execute(select(Brief.id).order_by(Brief.id.desc())).scalar() or 0
    assert s.post(live_server + "/_dash-update-component", json=body(acc["focus"]), timeout=60).status_code == 403
    resp = s.post(live_server + "/_dash-update-component", json=body(acc["community"]), timeout=60)
    assert resp.status_code == 200 and "已生成" in resp.text
    with world_engine.connect() as conn:
        made = conn.execute(select(Brief.area_code, Brief.generated_by).where(Brief.id > before)).all()
        logged = conn.execute(select(AccessLog.action).where(AccessLog.actor == "测试community",
                                                            AccessLog.action == "brief_generate")).all()
    assert made == [(acc["community"], "测试community")] and logged  # by the person's display name


def test_scheduler_writes_each_finished_period_once_and_announces_it(engine, server):
    new_month = datetime(2026, 11, 30, 16, 30)  # Tue 2026-12-01 00:30 in Shanghai: a new month, week 49 begun
    made = generate_due(engine, new_month)
    with engine.connect() as conn:
        rows = conn.execute(select(Brief.id, Brief.kind, Brief.period_label, Brief.area_code)
                            .where(Brief.generated_by == "系统（定时）")).all()
        outbox = conn.execute(select(Outbox.payload).where(Outbox.dedupe_key.like("brief:%"))).scalars().all()
        subdistricts = conn.execute(text("SELECT COUNT(*) FROM area WHERE level = 'subdistrict'")).scalar()
    assert len(made) == len(rows) == 2 * subdistricts
    assert {r.period_label for r in rows} == {"2026年11月", "2026年11月23日—11月29日（第 48 周）"}
    assert len(outbox) == len(made) and all("办结率" in p["text"] and "/briefs" in p["text"] for p in outbox)
    assert generate_due(engine, new_month + timedelta(hours=1)) == []
    server.add("/robot", json.dumps({"errcode": 0, "errmsg": "ok"}))
    deliver_outbox(engine, server.url + "/robot", "wecom", new_month, timeout=5)
    sent = [json.loads(body)["markdown"]["content"] for status, body in server.answered]
    briefs_sent = [m for m in sent if "工作简报" in m]
    assert len(briefs_sent) == len(made)
    with engine.connect() as conn:
        focus_name = conn.execute(text("SELECT a.name FROM area a JOIN world_info w ON w.value = a.code "
                                       "WHERE w.key = 'focus_code'")).scalar()
    assert any(m.startswith(f"### {focus_name}工作月报 2026年11月\n受理件数 ") for m in briefs_sent), briefs_sent[:2]


def test_bench_summary_judges_the_report_target():
    """`python -m bench` lists the sub-district monthly report against its 10 s target."""
    from bench.__main__ import summary_rows

    rows = summary_rows({"briefs": {"sqlite": {"monthly_subdistrict_s_max": 2.4},
                                    "postgresql": {"monthly_subdistrict_s_max": 10.5}}})
    by = {r[1]: r for r in rows}
    assert by["sub-district monthly 工作简报 (PDF + Excel), slowest, sqlite"][2:] == ["2.40 s", "≤ 10 s", "✓"]
    assert by["sub-district monthly 工作简报 (PDF + Excel), slowest, postgresql"][4] == "✗"

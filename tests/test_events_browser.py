"""The laptop event ledger: filters match SQL, exports hold exactly the filtered events, detail."""
import csv
import io
from urllib.parse import urljoin

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import text

from .conftest import http_session, screenshot
from .test_kpis import FOCUS

pytestmark = pytest.mark.browser


def sql_count(engine, status, like):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT COUNT(*) FROM event WHERE duplicate_of_id IS NULL AND NOT is_drill AND area_path LIKE :p "
            "AND status = :s AND (title LIKE :q OR description LIKE :q OR address LIKE :q OR source_key LIKE :q)"),
            {"p": FOCUS + "%", "s": status, "q": f"%{like}%"}).scalar()


def test_filters_export_and_detail(world_engine, live_server, page_factory):
    page = page_factory(1366, 768)
    page.goto(live_server + "/events?status=handle&q=楼道")
    page.wait_for_selector("#events-table td")
    want = sql_count(world_engine, "handle", "楼道")
    page.wait_for_function(f"document.querySelector('#events-total').innerText === '共 {want:,} 件'")
    assert want > 0

    # Read both links in the same check that finds them ready (the page may re-render them in between).
    hrefs = page.wait_for_function(
        "(() => { const x = document.querySelector('#export-xlsx')?.getAttribute('href');"
        " const c = document.querySelector('#export-csv')?.getAttribute('href');"
        " return x?.includes('events.xlsx') && c?.includes('events.csv') ? [x, c] : null; })()").json_value()
    xlsx_href, csv_href = hrefs
    http = http_session(world_engine, live_server, "leader")
    assert requests.get(urljoin(live_server, csv_href)).status_code == 401  # exports need a signed-in role
    body = http.get(urljoin(live_server, csv_href)).content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["事件ID", "上报时间", "来源"] and len(rows) - 1 == want
    assert all(r[8] == "协同处置" for r in rows[1:])

    resp = http.get(urljoin(live_server, xlsx_href))
    assert resp.status_code == 200, (resp.status_code, resp.text[:300])
    xlsx = resp.content
    ws = load_workbook(io.BytesIO(xlsx), read_only=True).active
    assert sum(1 for _ in ws.iter_rows()) - 1 == want

    page.click("#events-table tbody tr:nth-child(2) td:nth-child(4)")
    page.wait_for_selector("#events-detail:not(.hidden) .detail-history li")
    title = page.inner_text("#events-detail .detail-title")
    with world_engine.connect() as conn:
        _, n_audit = conn.execute(text(
            "SELECT e.id, (SELECT COUNT(*) FROM event_audit a WHERE a.event_id = e.id) FROM event e "
            "WHERE e.title = :t ORDER BY e.reported_at DESC LIMIT 1"), {"t": title}).one()
    assert page.locator("#events-detail .detail-history li").count() == n_audit
    screenshot(page, "events-laptop-detail")
    page.click("#close-events-detail")
    page.wait_for_selector("#events-detail.hidden", state="attached")


def test_export_neutralises_formulas(world_engine, live_server):
    from governance.events.event_search import spreadsheet_safe

    assert spreadsheet_safe("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert spreadsheet_safe("正常文本") == "正常文本"
    resp = http_session(world_engine, live_server, "leader").get(live_server + "/api/v1/events.csv?area=nope")
    assert resp.status_code == 404

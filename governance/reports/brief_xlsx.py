"""The 工作简报 as an Excel workbook: the KPI table and one sheet per report table, same values as the PDF."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from ..events.event_search import spreadsheet_safe

HEAD_FILL = PatternFill("solid", fgColor="16457A")
HEAD_FONT = Font(bold=True, color="FFFFFF")
SHEET_NAMES = {"areas": "区域排名", "categories": "高发类别", "hotspots": "热点微网格", "warnings": "预警",
               "escalations": "升级事件", "chronic": "督办事项", "drills": "网格赶考"}


def _safe(value):
    """Numbers stay numbers; text (citizen titles included) cannot start a formula."""
    return value if isinstance(value, (int, float)) else spreadsheet_safe(value)


def _sheet(wb: Workbook, title: str, caption: list[str], columns: list[str], rows: list[list],
           safe: bool = True) -> None:
    ws = wb.create_sheet(title)
    for line in caption:
        ws.append([_safe(line)])
    ws.append(columns)
    head = ws.max_row
    for cell in ws[head]:
        cell.fill, cell.font = HEAD_FILL, HEAD_FONT
    for row in rows:
        ws.append([_safe(v) for v in row] if safe else row)
    for i, col in enumerate(columns, start=1):
        longest = max([len(str(col))] + [len(str(r[i - 1])) for r in rows])
        ws.column_dimensions[ws.cell(row=head, column=i).column_letter].width = min(60, 4 + 1.8 * longest)
    for row in ws.iter_rows(min_row=head + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = ws.cell(row=head + 1, column=1)


def render_xlsx(content: dict) -> bytes:
    """The report's tables as an .xlsx workbook (first sheet: the KPIs with definitions and last year)."""
    wb = Workbook()
    wb.remove(wb.active)
    caption = [content["title"], f"{content['area']['name']} · {content['period']} · 生成于 {content['generated_at']}"]
    _sheet(wb, "核心指标", caption, ["指标", "本期", "去年同期", "口径"],
           [[k["label"], k["value"], k["last_year"], k["definition"]] for k in content["kpis"]],
           safe=False)  # the cockpit's own figures ("+3.5%" is a value, not a formula), as the cards show them
    for table in content["tables"]:
        _sheet(wb, SHEET_NAMES.get(table["key"], table["key"])[:31], [table["title"], table["note"]],
               table["columns"], table["rows"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

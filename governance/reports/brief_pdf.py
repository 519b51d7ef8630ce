"""The 工作简报 as an A4 PDF (reportlab): Chinese font embedded from a system package, a vector map of
the area's micro-grids coloured by events, and the report's tables. No network, no tiles.

reportlab embeds TrueType-outline fonts only; Debian's fonts-wqy-zenhei (文泉驿正黑, a TrueType
collection) is one (fonts-noto-cjk ships CFF outlines, which reportlab cannot embed).
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Table, TableStyle

FONT = "BriefCJK"
# TrueType CJK fonts from Debian packages, first found wins (scripts/install_system_deps.sh installs the first).
FONT_FILES = [("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
              ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
              ("/usr/share/fonts/truetype/arphic/uming.ttc", 0)]
PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
WIDTH = PAGE_W - 2 * MARGIN
# Sequential colours of the map (few → many events); grids without events are light grey.
RAMP = ["#fde9c9", "#fbc98a", "#f59e4c", "#e4632c", "#b8261d"]
EMPTY = "#eceff3"
INK = colors.HexColor("#1f2a37")
MUTED = colors.HexColor("#5b6675")
HEAD = colors.HexColor("#16457a")


class FontMissing(RuntimeError):
    """No TrueType CJK font is installed (run scripts/install_system_deps.sh: fonts-wqy-zenhei)."""


def register_font() -> str:
    """Register the first installed TrueType CJK font under FONT (once) and return its name."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    for path, index in FONT_FILES:
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=index))
            return FONT
    raise FontMissing("未找到可嵌入的中文 TrueType 字体：请安装 Debian 软件包 fonts-wqy-zenhei"
                      "（scripts/install_system_deps.sh）")


def _styles() -> dict[str, ParagraphStyle]:
    base = dict(fontName=FONT, textColor=INK, wordWrap="CJK")
    return {"title": ParagraphStyle("title", fontSize=20, leading=26, alignment=TA_CENTER, spaceAfter=4, **base),
            "sub": ParagraphStyle("sub", fontSize=10, leading=14, alignment=TA_CENTER, textColor=MUTED,
                                  fontName=FONT, spaceAfter=8),
            "h2": ParagraphStyle("h2", fontSize=13, leading=18, spaceBefore=10, spaceAfter=4,
                                 **{**base, "textColor": HEAD}),
            "note": ParagraphStyle("note", fontSize=8.5, leading=12, textColor=MUTED, fontName=FONT,
                                   wordWrap="CJK", spaceAfter=3),
            "cell": ParagraphStyle("cell", fontSize=8.5, leading=11, **base),
            "head": ParagraphStyle("head", fontSize=8.5, leading=11, **{**base, "textColor": colors.white}),
            "big": ParagraphStyle("big", fontSize=11, leading=14, **base)}


def _p(value, style) -> Paragraph:
    """A table cell: any text (citizen titles included) is escaped, never read as markup."""
    return Paragraph(escape("" if value is None else str(value)), style)


def _col_widths(columns: list[str], rows: list[list], size: float) -> list[float]:
    """Column widths that fit the page: each as wide as its longest text, the widest ones shrunk to fit."""
    def width(text) -> float:
        return pdfmetrics.stringWidth(str(text), FONT, size) + 14  # cell padding 6 + 6, and a little air
    want = [max([width(c)] + [width(r[i]) for r in rows]) for i, c in enumerate(columns)]
    want = [min(w, WIDTH * 0.45) for w in want]
    while sum(want) > WIDTH:
        i = max(range(len(want)), key=want.__getitem__)
        others = sum(want) - want[i]
        want[i] = max(WIDTH - others, want[i] * 0.8, 14 * mm)
        if sum(want) > WIDTH and want[i] <= 14 * mm:
            return [WIDTH * w / sum(want) for w in want]
    spare = (WIDTH - sum(want)) / len(want)
    return [w + spare for w in want]


def _table(columns: list[str], rows: list[list], st: dict) -> Table:
    data = [[_p(c, st["head"]) for c in columns]] + [[_p(v, st["cell"]) for v in r] for r in rows]
    t = Table(data, colWidths=_col_widths(columns, rows, 8.5), repeatRows=1)
    t.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f3f6fa")]),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#c9d2dc")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]))
    return t


def _rings(geometry: dict) -> list[list]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def class_breaks(values: list[int], classes: int = len(RAMP)) -> list[int]:
    """Upper bounds of the map's colour classes: quantiles of the non-zero counts (ascending, distinct)."""
    positive = sorted(v for v in values if v > 0)
    if not positive:
        return []
    breaks = []
    for k in range(1, classes + 1):
        b = positive[min(len(positive) - 1, math.ceil(k * len(positive) / classes) - 1)]
        if not breaks or b > breaks[-1]:
            breaks.append(b)
    return breaks


def colour_of(count: int, breaks: list[int]) -> str:
    """The map colour of a grid with `count` events."""
    if count <= 0 or not breaks:
        return EMPTY
    for i, b in enumerate(breaks):
        if count <= b:
            return RAMP[min(len(RAMP) - 1, i + len(RAMP) - len(breaks))]
    return RAMP[-1]


def map_drawing(features: list[dict], counts: dict[str, int], hot: list[str], height: float = 120 * mm) -> Drawing:
    """A vector map of micro-grids coloured by events in the period, the hot spots numbered, with a legend."""
    legend_h = 12 * mm
    d = Drawing(WIDTH, height + legend_h)
    rings = [(f["properties"]["code"], ring) for f in features for ring in _rings(f["geometry"])]
    if not rings:
        d.add(String(WIDTH / 2, height / 2, "（无微网格边界）", fontName=FONT, fontSize=10, textAnchor="middle"))
        return d
    lons = [x for _, ring in rings for x, _y in ring]
    lats = [y for _, ring in rings for _x, y in ring]
    kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x, span_y = (max(lons) - min(lons)) * kx or 1e-9, (max(lats) - min(lats)) or 1e-9
    scale = min(WIDTH / span_x, height / span_y)
    ox = (WIDTH - span_x * scale) / 2
    oy = legend_h + (height - span_y * scale) / 2

    lon0, lat0 = min(lons), min(lats)

    def xy(lon, lat):
        return ox + (lon - lon0) * kx * scale, oy + (lat - lat0) * scale
    breaks = class_breaks(list(counts.values()))
    centres: dict[str, tuple[float, float, float]] = {}
    for code, ring in rings:
        pts = [c for lon, lat in ring for c in xy(lon, lat)]
        d.add(Polygon(pts, fillColor=colors.HexColor(colour_of(counts.get(code, 0), breaks)),
                      strokeColor=colors.white, strokeWidth=0.15))
        area = abs(sum(pts[i] * pts[i + 3] - pts[i + 2] * pts[i + 1] for i in range(0, len(pts) - 3, 2)))
        if code in hot and area > centres.get(code, (0, 0, -1))[2]:
            n = len(pts) // 2
            centres[code] = (sum(pts[0::2]) / n, sum(pts[1::2]) / n, area)
    for rank, code in enumerate(hot, start=1):
        if code in centres:
            x, y, _ = centres[code]
            d.add(String(x, y - 2.5, str(rank), fontName=FONT, fontSize=7, fillColor=colors.black,
                         textAnchor="middle"))
    x = 0.0
    lows = [1] + [b + 1 for b in breaks[:-1]]
    items = [(EMPTY, "无事件")] + [(colour_of(b, breaks), f"{lo}–{b} 件" if lo < b else f"{b} 件")
                                   for lo, b in zip(lows, breaks)]
    for colour, text in items:
        d.add(Rect(x, 3 * mm, 5 * mm, 4 * mm, fillColor=colors.HexColor(colour), strokeColor=MUTED, strokeWidth=0.2))
        d.add(String(x + 6.5 * mm, 3.8 * mm, text, fontName=FONT, fontSize=8, fillColor=INK))
        x += 7 * mm + pdfmetrics.stringWidth(text, FONT, 8) + 5 * mm
    d.add(String(WIDTH, 3.8 * mm, "数字为热点微网格名次", fontName=FONT, fontSize=8, fillColor=MUTED, textAnchor="end"))
    return d


def _footer(title: str):
    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, 9 * mm, f"网格驾驶舱 · {title}")
        canvas.drawRightString(PAGE_W - MARGIN, 9 * mm, f"第 {doc.page} 页")
        canvas.restoreState()
    return draw


NUMERALS = "一二三四五六七八九十"


def render_pdf(content: dict) -> bytes:
    """The report as A4 PDF bytes (Chinese font embedded, subset)."""
    register_font()
    st = _styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=16 * mm, title=content["title"], author="网格驾驶舱",
                            subject=content["period"])
    story = [_p(content["title"], st["title"]),
             _p(f"{content['area']['name']} · {content['period']} · 生成于 {content['generated_at']}", st["sub"])]
    story.append(_p(f"{NUMERALS[0]}、核心指标（与去年同期对比）", st["h2"]))
    kpi_rows = [[k["label"], k["value"], k["last_year"], k["definition"]] for k in content["kpis"]]
    story.append(_table(["指标", "本期", "去年同期", "口径"], kpi_rows, st))
    hot = content["map"].get("hot", [])
    story.append(KeepTogether([_p(f"{NUMERALS[1]}、事件分布（微网格，期内受理件数）", st["h2"]),
                               map_drawing(content["map"]["features"], content["map"]["counts"], hot)]))
    for i, table in enumerate(content["tables"], start=2):
        head = [_p(f"{NUMERALS[i] if i < len(NUMERALS) else i + 1}、{table['title']}", st["h2"])]
        if table["note"]:
            head.append(_p(table["note"], st["note"]))
        if table["rows"]:
            story.append(KeepTogether(head + [_table(table["columns"], table["rows"], st)]))
        else:
            story.append(KeepTogether(head + [_p("本期无。", st["note"])]))
    doc.build(story, onFirstPage=_footer(content["title"]), onLaterPages=_footer(content["title"]))
    return out.getvalue()

"""Reading population-platform exports: CSV (UTF-8 or GBK) and Excel, each table recognised by its header."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from governance.people.groups import config


class PeopleFileError(ValueError):
    """A file that cannot be read at all (its rows are not quarantined one by one)."""


@dataclass
class Table:
    """One table of a file: its kind (resident, rental, premises) and rows as {field: text or date}."""

    kind: str
    name: str
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (row number in the file, fields)
    raw_header: list[str] = field(default_factory=list)


def _decode(data: bytes) -> str:
    """Text of a CSV export: UTF-8 (with or without BOM), else GBK (GB 18030, its superset)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise PeopleFileError("文件既不是 UTF-8 也不是 GBK 编码的 CSV") from exc


def _kind_of(header: list[str]) -> tuple[str, dict[int, str]]:
    """(kind, column index → field) for a header row; PeopleFileError when no kind matches."""
    cols = config()["columns"]
    clean = [str(h or "").strip() for h in header]
    best = None
    for kind in ("resident", "premises", "rental"):
        mapping = {}
        for fld, aliases in cols[kind].items():
            for i, h in enumerate(clean):
                if h in aliases and i not in mapping:
                    mapping[i] = fld
                    break
        key = {"resident": "id_number", "premises": "category", "rental": "tenants"}[kind]
        if key in mapping.values() and "address" in mapping.values():
            best = best or (kind, mapping)
    if best is None:
        raise PeopleFileError("无法识别表头：居民表需有“身份证号”和“地址”，经营场所表需有“场所类型”和“地址”，"
                              "出租房表需有“租住人数”和“地址”")
    return best


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _table(name: str, header: list, body, first_row: int) -> Table:
    kind, mapping = _kind_of(header)
    table = Table(kind, name, raw_header=[str(h or "") for h in header])
    for n, values in enumerate(body, start=first_row):
        if not any(str(v or "").strip() for v in values):
            continue  # blank line
        table.rows.append((n, {fld: _cell(values[i]) if i < len(values) else "" for i, fld in mapping.items()}))
    return table


def read_tables(path: Path) -> list[Table]:
    """Every table of a CSV or Excel (.xlsx) file."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise PeopleFileError(f"无法打开 Excel 文件：{exc.__class__.__name__}") from exc
        tables = []
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None)
            if header and any(header):
                tables.append(_table(ws.title, list(header), (list(r) for r in rows), 2))
        wb.close()
        if not tables:
            raise PeopleFileError("Excel 文件中没有数据表")
        return tables
    if suffix in (".csv", ".txt"):
        text = _decode(path.read_bytes())
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if not header:
            raise PeopleFileError("CSV 文件为空")
        return [_table(path.name, header, reader, 2)]
    raise PeopleFileError(f"不支持的文件类型 {suffix or '（无扩展名）'}：请用 .csv 或 .xlsx")

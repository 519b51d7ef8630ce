"""Write a generated demo world into an empty database, with progress bars."""
from __future__ import annotations

from datetime import datetime

import numpy as np
import shapely
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from governance import models as m
from governance.figures import rollups
from governance.core.db import sync_sequences
from governance.core.progress import progress
from governance.core.taxonomy import load_taxonomy
from governance.core.timeutil import utcnow
from governance.alerts.warning_jobs import store_warnings

from .areas import focus_area, generate_areas, walk
from .escalations import replay_escalations
from .history import GridInfo, generate_events
from .people_registry import seed_people
from .people import SHIFTS, department_rows, generate_staff
from .whistles import whistle_rows as demo_whistles
from .tessellate import sample_points

CHUNK = 5000


def geometry_json(geom) -> str:
    """Serialise a shapely geometry to GeoJSON text, keeping full precision (no slivers)."""
    return shapely.to_geojson(geom)


def _insert_chunks(conn, table, rows, desc):
    with progress(total=len(rows), desc=desc, unit="行") as bar:
        if rows and conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            _copy_rows(conn, table, rows, bar)
            return
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i:i + CHUNK]
            conn.execute(insert(table), chunk)
            bar.update(len(chunk))


def _copy_rows(conn, table, rows, bar) -> None:
    """PostgreSQL bulk path: COPY (a city-scale world's ~3 million rows in a fraction of the INSERT time).

    Columns a row leaves out get their scalar column default, as an INSERT through SQLAlchemy would.
    """
    seen = set().union(*(r.keys() for r in rows))
    given = [k for k in rows[0]] + sorted(seen - set(rows[0]))
    defaults = {c.name: c.default.arg for c in table.columns
                if c.name not in given and c.default is not None and c.default.is_scalar}
    cols = given + list(defaults)
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for i in range(0, len(rows), CHUNK):
                chunk = rows[i:i + CHUNK]
                for r in chunk:
                    copy.write_row([r.get(c, defaults.get(c)) for c in cols])
                bar.update(len(chunk))


# Event volume per scale: a full street-scale history per micro-grid would make a city-scale
# demo database of ~5 million events; the wider scales keep the rhythms with fewer events.
VOLUME = {"street": 1.0, "district": 0.5, "city": 0.1}


def seed_world(engine: Engine, scale: str = "street", seed: int = 20231,
               now: datetime | None = None, history_start: datetime | None = None,
               volume: float | None = None) -> dict:
    """Generate and store a whole demo world; return a summary of what was written."""
    volume = VOLUME.get(scale, 1.0) if volume is None else volume
    now = now or utcnow()
    rng = np.random.default_rng(seed)
    taxonomy = load_taxonomy()
    root = generate_areas(scale, seed, progress_factory=progress)
    focus = focus_area(root)

    area_rows, id_of = [], {}
    for i, spec in enumerate(walk(root), start=1):
        id_of[spec.code] = i
        c = spec.geometry.centroid
        if not spec.geometry.contains(c):
            c = spec.geometry.representative_point()
        min_x, min_y, max_x, max_y = spec.geometry.bounds
        area_rows.append({
            "id": i, "code": spec.code, "name": spec.name, "level": spec.level,
            "parent_id": id_of.get(spec.parent_code), "path": spec.path,
            "dedicated_kind": spec.dedicated_kind, "households": spec.households,
            "residents": spec.residents, "geometry": geometry_json(spec.geometry),
            "min_lon": min_x, "min_lat": min_y, "max_lon": max_x, "max_lat": max_y,
            "centroid_lon": c.x, "centroid_lat": c.y,
        })
    specs = list(walk(root))
    staff_input = [{"id": id_of[s.code], "level": s.level, "code": s.code,
                    "populated": bool(s.children)} for s in specs]
    staff_rows = generate_staff(staff_input, rng)
    for i, row in enumerate(staff_rows, start=1):
        row["id"] = i

    category_rows = []
    for cat in taxonomy.categories.values():
        if not any(r["code"] == cat.major_code for r in category_rows):
            category_rows.append({"code": cat.major_code, "name": cat.major_name, "parent_code": None,
                                  "family": cat.family, "sla_hours": None, "severity": None,
                                  "level": None})
        category_rows.append({"code": cat.code, "name": cat.name, "parent_code": cat.major_code,
                              "family": cat.family, "sla_hours": cat.sla_hours,
                              "severity": cat.severity, "level": cat.level})

    micro = [s for s in specs if s.level == "micro_grid"]
    worker_of = {r["area_id"]: r["id"] for r in staff_rows if r["role"] == "micro_grid_worker"}
    comm_index: dict[str, int] = {}
    comm_name = {s.code: s for s in specs if s.level in ("community", "subdistrict")}
    addr = []
    for s in micro:
        gcode = s.parent_code
        ccode = gcode.rsplit("-", 1)[0]
        comm = comm_name[ccode]
        addr.append(f"{comm_name[comm.parent_code].name}{comm.name}{s.name}")
        comm_index.setdefault(ccode, len(comm_index))
    pts_rng = np.random.default_rng(seed + 1)
    points = np.stack([sample_points(s.geometry, 12, pts_rng) for s in
                       progress(iterable=micro, desc="采样位置", unit="网格")])
    grids = GridInfo(
        ids=np.array([id_of[s.code] for s in micro]), paths=[s.path for s in micro], names=addr,
        households=np.array([s.households for s in micro], float),
        community_idx=np.array([comm_index[s.parent_code.rsplit("-", 1)[0]] for s in micro]),
        points=points, worker_ids=np.array([worker_of[id_of[s.code]] for s in micro]))
    if history_start is None:
        history_start = datetime(now.year - 1, 1, 1)
    events, audits = generate_events(grids, taxonomy, history_start, now, rng, volume=volume)
    audits += replay_escalations(events, taxonomy, now)  # 分级预控 as the clock would have done it (#18)

    with engine.begin() as conn:
        conn.execute(insert(m.Shift.__table__), SHIFTS)
        conn.execute(insert(m.Department.__table__), department_rows(taxonomy, rng))
        conn.execute(insert(m.Category.__table__), category_rows)
        _insert_chunks(conn, m.Area.__table__, area_rows, "写入区域")
        _insert_chunks(conn, m.Staff.__table__, staff_rows, "写入人员")
        _insert_chunks(conn, m.Event.__table__, events, "写入事件")
        _insert_chunks(conn, m.EventAudit.__table__, audits, "写入流转记录")
        _insert_chunks(conn, m.Whistle.__table__, demo_whistles(events, taxonomy, np.random.default_rng(seed + 2)),
                       "写入吹哨报到")  # issue #20: the 部门响应 page has history from the start
        info = {"scale": scale, "seed": str(seed), "focus_code": focus.code,
                "generated_at": now.isoformat(), "history_start": history_start.isoformat()}
        conn.execute(insert(m.WorldInfo.__table__), [{"key": k, "value": v} for k, v in info.items()])
        seed_people(conn, specs, id_of, seed, now)  # people registry (#19)
        sync_sequences(conn)  # rows were written with explicit ids
        rollups.rebuild(conn)
        store_warnings(conn, now)  # the wall reads the warning table from its first start (#18)
    if engine.dialect.name == "postgresql":  # planner statistics now, not after autovacuum's next round
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return {"areas": len(area_rows), "micro_grids": len(micro), "staff": len(staff_rows),
            "events": len(events), "audit": len(audits), "focus": focus.code}

"""The generated world: nesting invariants checked geometrically, counts, ranges, determinism."""
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
import shapely
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from demo_world.areas import generate_areas, walk
from governance.models import Event

REL_TOL = 1e-9  # relative area tolerance: rounding of doubles only (≈ 0.001 m² per community)


@pytest.fixture(scope="module")
def areas(world_engine):
    with world_engine.connect() as conn:
        rows = conn.execute(text("SELECT id, code, name, level, parent_id, path, households, "
                                 "residents, geometry FROM area")).mappings().all()
    out = {}
    for r in rows:
        d = dict(r)
        d["geom"] = shapely.from_geojson(r["geometry"])
        out[r["id"]] = d
    return out


@pytest.fixture(scope="module")
def children(areas):
    kids = defaultdict(list)
    for a in areas.values():
        if a["parent_id"] is not None:
            kids[a["parent_id"]].append(a)
    return kids


def _tessellation_faults(parent, kids):
    """Return a list of faults: gaps, overlaps or children leaving the parent."""
    faults = []
    geoms = [k["geom"] for k in kids]
    pa = parent["geom"].area
    for k in kids:
        outside = k["geom"].difference(parent["geom"]).area
        if outside > REL_TOL * pa:
            faults.append(f"{k['code']} leaves {parent['code']} by {outside / pa:.2e}")
    union = shapely.union_all(geoms)
    gap = parent["geom"].difference(union).area
    if gap > REL_TOL * pa:
        faults.append(f"gap of {gap / pa:.2e} in {parent['code']}")
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left, right):
        if i < j:
            overlap = geoms[i].intersection(geoms[j]).area
            if overlap > REL_TOL * pa:
                faults.append(f"{kids[i]['code']} overlaps {kids[j]['code']}")
    return faults


def test_every_level_tessellates_its_parent(areas, children):
    faults = []
    checked = 0
    for parent in areas.values():
        kids = [k for k in children[parent["id"]] if k["level"] != "dedicated_grid"]
        if parent["level"] in ("subdistrict", "community", "general_grid") and kids:
            faults += _tessellation_faults(parent, kids)
            checked += 1
    assert checked > 300, "expected every populated sub-district, community and general grid"
    assert faults == []


def test_dedicated_grids_lie_inside_their_community(areas):
    dedicated = [a for a in areas.values() if a["level"] == "dedicated_grid"]
    assert dedicated, "the street world should have dedicated grids (schools, markets …)"
    for d in dedicated:
        parent = areas[d["parent_id"]]
        assert parent["level"] == "community"
        assert d["geom"].difference(parent["geom"]).area <= REL_TOL * parent["geom"].area


def test_paths_follow_parents(areas):
    for a in areas.values():
        if a["parent_id"] is None:
            assert a["level"] == "city"
            continue
        parent = areas[a["parent_id"]]
        assert a["path"] == f"{parent['path']}{a['code']}/"


def test_counts_and_household_ranges(areas, children):
    levels = defaultdict(list)
    for a in areas.values():
        levels[a["level"]].append(a)
    assert len(levels["city"]) == 1 and len(levels["district"]) == 20
    populated = [s for s in levels["subdistrict"] if children[s["id"]]]
    assert len(populated) == 1
    comms = children[populated[0]["id"]]
    assert 20 <= len(comms) <= 30
    micro_total = 0
    for c in comms:
        generals = [k for k in children[c["id"]] if k["level"] == "general_grid"]
        micros = [m for g in generals for m in children[g["id"]]]
        assert 10 <= len(generals) <= 20, c["name"]
        assert 45 <= len(micros) <= 135, c["name"]
        micro_total += len(micros)
        assert c["households"] == sum(m["households"] for m in micros)
    assert 1500 <= micro_total <= 3000
    for m in levels["micro_grid"]:
        assert 30 <= m["households"] <= 100
        assert 2.0 * m["households"] <= m["residents"] <= 3.2 * m["households"]


def test_generation_is_deterministic_for_a_seed():
    first = {a.code: a.geometry.wkb for a in walk(generate_areas("street", 11))}
    again = {a.code: a.geometry.wkb for a in walk(generate_areas("street", 11))}
    other = {a.code: a.geometry.wkb for a in walk(generate_areas("street", 12))}
    assert first == again
    assert first != other


def test_every_grid_has_its_staff(world_engine):
    with world_engine.connect() as conn:
        bad = conn.execute(text("""
            SELECT a.level, a.code, COUNT(s.id) AS n FROM area a
            LEFT JOIN staff s ON s.area_id = a.id AND s.role = CASE a.level
                WHEN 'micro_grid' THEN 'micro_grid_worker' WHEN 'general_grid' THEN 'grid_worker'
                WHEN 'community' THEN 'grid_leader' END
            WHERE a.level IN ('micro_grid', 'general_grid', 'community')
            GROUP BY a.id, a.level, a.code HAVING COUNT(s.id) != 1""")).all()
        shifts = dict(conn.execute(text(
            "SELECT shift_code, COUNT(*) FROM staff WHERE role='grid_worker' GROUP BY shift_code")).all())
    assert bad == []
    assert shifts.get("staggered", 0) > 0 and shifts.get("extended", 0) > 0


def test_event_points_lie_in_their_micro_grid(world_engine, areas):
    with world_engine.connect() as conn:
        rows = conn.execute(text("SELECT lon, lat, area_id FROM event WHERE duplicate_of_id IS NULL "
                                 "ORDER BY id LIMIT 3000")).all()
    misplaced = [r for r in rows if not areas[r.area_id]["geom"].contains(shapely.Point(r.lon, r.lat))]
    assert rows and misplaced == []


def _scalar(conn, sql, **params):
    return conn.execute(text(sql), params).scalar()


def test_history_has_plausible_kpis_and_rhythms(world_engine):
    with world_engine.connect() as conn:
        closure = _scalar(conn, """SELECT 100.0 * SUM(CASE WHEN status='closed' THEN 1 ELSE 0 END)
                                          / SUM(CASE WHEN status!='returned' THEN 1 ELSE 0 END) FROM event
                                   WHERE duplicate_of_id IS NULL AND reported_at >= '2026-01-01'""")
        satisfied = _scalar(conn, "SELECT 100.0 * SUM(CASE WHEN satisfaction >= 4 THEN 1 ELSE 0 END) "
                                  "/ COUNT(satisfaction) FROM event")
        # Local (Asia/Shanghai) clock times, computed here so the check reads the same on any database.
        safety = [t + timedelta(hours=8) for (t,) in conn.execute(
            select(Event.reported_at).where(Event.source == "safety"))]
        night = sum(0 <= t.hour <= 5 for t in safety)
        day = sum(9 <= t.hour <= 11 for t in safety)
        weekend = sum(t.weekday() >= 5 for t in safety)
        weekday = len(safety) - weekend
        fumes = Counter(f"{(t + timedelta(hours=8)).month:02d}" for (t,) in conn.execute(
            select(Event.reported_at).where(Event.category_code == "2102")))
        this_year = _scalar(conn, "SELECT COUNT(*) FROM event WHERE source='cases' AND "
                                  "reported_at BETWEEN '2026-01-01' AND '2026-06-30'")
        last_year = _scalar(conn, "SELECT COUNT(*) FROM event WHERE source='cases' AND "
                                  "reported_at BETWEEN '2025-01-01' AND '2025-06-30'")
        overdue_closed = _scalar(conn, "SELECT COUNT(*) FROM event WHERE status='closed' AND closed_at > due_at")
        returned = _scalar(conn, "SELECT COUNT(*) FROM event WHERE status='returned'")
    assert 80 <= closure <= 92
    assert 80 <= satisfied <= 95
    assert night < day / 20
    assert weekend / 2 < weekday / 5 / 2
    assert fumes["07"] > 1.5 * fumes["01"]
    assert -30 < 100 * (this_year - last_year) / last_year < -10
    assert overdue_closed > 0 and returned > 0


def test_audit_trail_ends_in_the_current_status(world_engine):
    with world_engine.connect() as conn:
        mismatched = conn.execute(text("""
            SELECT e.id FROM event e JOIN event_audit a ON a.event_id = e.id AND a.field = 'status'
            WHERE a.id = (SELECT MAX(id) FROM event_audit WHERE event_id = e.id AND field = 'status')
              AND a.to_value != e.status LIMIT 5""")).all()
        # every event has a history: audit rows, or the intake batch that a feed stored it in
        without = _scalar(conn, "SELECT COUNT(*) FROM event e WHERE NOT EXISTS "
                                "(SELECT 1 FROM event_audit a WHERE a.event_id = e.id) AND NOT EXISTS "
                                "(SELECT 1 FROM intake i WHERE i.id = e.intake_id)")
    assert mismatched == [] and without == 0


def test_each_event_steps_through_its_trail_in_time_order(world_engine):
    """A seeded history never shows a step (核实立案, 派单, 签收…) before the one it follows."""
    with world_engine.connect() as conn:
        backwards = _scalar(conn, """
            SELECT COUNT(*) FROM event_audit a JOIN event_audit b
              ON b.event_id = a.event_id AND b.field = 'status' AND b.from_value = a.to_value
            WHERE a.field = 'status' AND b.at < a.at""")
    assert backwards == 0


def test_source_key_is_unique_per_source(world_engine):
    with world_engine.connect() as conn:
        source, key = conn.execute(text("SELECT source, source_key FROM event LIMIT 1")).one()
    row = {"source": source, "source_key": key, "category_code": "0102", "title": "重复",
           "reported_at": datetime(2026, 1, 1), "updated_at": datetime(2026, 1, 1)}
    with pytest.raises(IntegrityError):
        with world_engine.begin() as conn:
            conn.execute(insert(Event.__table__), [row])

"""Generate the area tree: real district outlines, generated sub-districts, communities and grids."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from shapely.geometry import box, shape

from governance.core.geo import geometry_gcj02_to_wgs84, metres_per_deg_lon, METRES_PER_DEG_LAT
from governance.models import DEDICATED_KINDS

from . import names
from .tessellate import partition, sample_points, snap

DISTRICTS_FILE = Path(__file__).with_name("data") / "chengdu-admin-gcj02.geojson"

# Which districts get sub-districts, and which sub-districts get communities and grids.
SCALES = {
    "street": {"districts": ["武侯区"], "populate": "focus"},
    "district": {"districts": ["武侯区"], "populate": "all"},
    "city": {"districts": ["锦江区", "青羊区", "金牛区", "武侯区", "成华区"], "populate": "all"},
}
FOCUS_SUBDISTRICT = "机投桥街道"


@dataclass
class AreaSpec:
    """One generated area before it is written to the database."""

    code: str
    name: str
    level: str
    parent_code: str | None
    path: str
    geometry: object
    households: int | None = None
    residents: int | None = None
    dedicated_kind: str | None = None
    children: list = field(default_factory=list, repr=False)


def load_districts() -> tuple[dict, list[dict]]:
    """Return the city feature and the district features, geometry converted to WGS84."""
    doc = json.loads(DISTRICTS_FILE.read_text(encoding="utf-8"))
    city, districts = None, []
    for feat in doc["features"]:
        item = {"adcode": feat["properties"]["adcode"], "name": feat["properties"]["name"],
                "geometry": snap(geometry_gcj02_to_wgs84(shape(feat["geometry"])))}
        if feat["properties"]["level"] == "city":
            city = item
        else:
            districts.append(item)
    return city, districts


def _dedicated_grids(community: AreaSpec, rng: np.random.Generator) -> list[AreaSpec]:
    specs = []
    kinds = list(DEDICATED_KINDS)
    for i in range(int(rng.choice([0, 1, 1, 2, 2, 3]))):
        kind = kinds[int(rng.integers(len(kinds)))]
        (x, y), = sample_points(community.geometry, 1, rng)
        half_w = rng.uniform(50, 120) / metres_per_deg_lon(y)
        half_h = rng.uniform(50, 120) / METRES_PER_DEG_LAT
        geom = box(x - half_w, y - half_h, x + half_w, y + half_h).intersection(community.geometry)
        if geom.is_empty:
            continue
        code = f"{community.code}-Z{i + 1:02d}"
        specs.append(AreaSpec(code, names.dedicated_name(rng, community.name, kind), "dedicated_grid",
                              community.code, f"{community.path}{code}/", geom, dedicated_kind=kind))
    return specs


def _populate_community(comm: AreaSpec, rng: np.random.Generator) -> None:
    n_general = int(rng.integers(10, 21))
    n_micro = int(np.clip(rng.normal(78, 18), 50, 130))
    generals = partition(comm.geometry, n_general, rng)
    areas = np.array([g.area for g in generals])
    alloc = np.maximum(2, np.round(areas / areas.sum() * n_micro)).astype(int)
    used: set[str] = set()
    for gi, (ggeom, n_units) in enumerate(zip(generals, alloc), start=1):
        estate = names.estate_name(rng, used)
        gcode = f"{comm.code}-{gi:02d}"
        general = AreaSpec(gcode, estate, "general_grid", comm.code, f"{comm.path}{gcode}/", ggeom)
        for mi, mgeom in enumerate(partition(ggeom, int(n_units), rng, lloyd=1), start=1):
            households = int(rng.integers(30, 101))
            mcode = f"{gcode}-{mi:03d}"
            building, unit = (mi - 1) // 3 + 1, (mi - 1) % 3 + 1
            general.children.append(AreaSpec(
                mcode, f"{estate}{building}栋{unit}单元", "micro_grid", gcode,
                f"{general.path}{mcode}/", mgeom, households=households,
                residents=int(households * rng.uniform(2.2, 3.1))))
        general.households = sum(m.households for m in general.children)
        general.residents = sum(m.residents for m in general.children)
        comm.children.append(general)
    comm.households = sum(g.households for g in comm.children)
    comm.residents = sum(g.residents for g in comm.children)
    comm.children.extend(_dedicated_grids(comm, rng))


def _populate_subdistrict(sub: AreaSpec, rng: np.random.Generator, progress=None) -> None:
    n_comm = int(rng.integers(20, 31))
    used: set[str] = set()
    preset = list(names.COMMUNITIES.get(sub.name, []))
    for ci, cgeom in enumerate(partition(sub.geometry, n_comm, rng), start=1):
        cname = preset.pop(0) if preset else names.place_name(rng, used, "社区")
        used.add(cname)
        code = f"{sub.code}{ci:03d}"
        comm = AreaSpec(code, cname, "community", sub.code, f"{sub.path}{code}/", cgeom)
        _populate_community(comm, rng)
        sub.children.append(comm)
    if progress is not None:
        progress.update(1)
    sub.households = sum(c.households or 0 for c in sub.children)
    sub.residents = sum(c.residents or 0 for c in sub.children)


def generate_areas(scale: str, seed: int, progress_factory=None) -> AreaSpec:
    """Build the whole area tree for a scale ('street', 'district', 'city') from a seed."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    plan = SCALES[scale]
    rng = np.random.default_rng(seed)
    city_feat, district_feats = load_districts()
    city = AreaSpec(city_feat["adcode"], "成都市", "city", None, f"/{city_feat['adcode']}/",
                    city_feat["geometry"])
    to_populate: list[AreaSpec] = []
    for feat in district_feats:
        dist = AreaSpec(feat["adcode"], feat["name"], "district", city.code,
                        f"{city.path}{feat['adcode']}/", feat["geometry"])
        city.children.append(dist)
        if feat["name"] not in plan["districts"]:
            continue
        public = list(names.SUBDISTRICTS.get(feat["name"], []))
        n_sub = len(public) or int(rng.integers(8, 14))
        used: set[str] = set(public)
        for si, sgeom in enumerate(partition(dist.geometry, n_sub, rng), start=1):
            sname = public[si - 1] if si <= len(public) else names.place_name(rng, used, "街道")
            code = f"{feat['adcode']}{si:03d}"
            sub = AreaSpec(code, sname, "subdistrict", dist.code, f"{dist.path}{code}/", sgeom)
            dist.children.append(sub)
            if plan["populate"] == "all" or sname == FOCUS_SUBDISTRICT:
                to_populate.append(sub)
    bar = progress_factory(total=len(to_populate), desc="生成网格", unit="街道") \
        if progress_factory else None
    for sub in to_populate:
        _populate_subdistrict(sub, rng, bar)
    if bar is not None:
        bar.close()
    return city


def walk(root: AreaSpec):
    """Yield every area of a tree, parents before children."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def focus_area(root: AreaSpec) -> AreaSpec:
    """Return the area the cockpit opens on: the focus sub-district, or the populated district."""
    populated = [a for a in walk(root) if a.level == "subdistrict" and a.children]
    if len(populated) == 1:
        return populated[0]
    districts = {a.parent_code for a in populated}
    if len(districts) == 1:
        return next(a for a in walk(root) if a.code == districts.pop())
    return root

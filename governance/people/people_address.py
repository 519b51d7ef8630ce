"""Addresses of the people registry resolved to building → micro-grid.

A micro-grid of the 微网实格 model is one 楼栋单元 ("锦绣花园3栋2单元"), under the estate's general grid
and its community. An address such as "机投桥街道明湖社区锦绣花园3栋2单元501室" is read as estate + building
(+ unit): the building's unit gives the micro-grid; without a unit, the building's first unit. Same-named
estates in two communities need the community (in the address or its own column). What cannot be
placed is returned as None with the reason, and the caller keeps the row flagged.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..models import Area

_MICRO = re.compile(r"^(.*?)(\d+)栋(\d+)单元$")
_BUILDING = re.compile(r"(\d+)栋(?:(\d+)单元)?")


def normalise(address: str) -> str:
    """Address text in one spelling: full-width digits folded, spaces gone, 幢/号楼 read as 栋."""
    text = unicodedata.normalize("NFKC", str(address or "")).replace(" ", "").replace("\u3000", "")
    return re.sub(r"(\d+)(?:幢|号楼|栋楼)", r"\1栋", text)


class AddressResolver:
    """Estate/building/unit index of every micro-grid, built once per import."""

    def __init__(self, micro_rows, community_names: dict[str, str]):
        self.units: dict[tuple, list] = defaultdict(list)  # (estate, building) → [(unit, community, id, path)]
        for area_id, name, path in micro_rows:
            m = _MICRO.match(normalise(name))
            if not m:
                continue
            parts = path.strip("/").split("/")
            community = community_names.get(parts[-3], "") if len(parts) >= 3 else ""
            self.units[(m.group(1), int(m.group(2)))].append((int(m.group(3)), community, area_id, path))
        self.estate_set = {k[0] for k in self.units}
        self.longest = max(map(len, self.estate_set), default=0)
        self.communities = sorted(set(community_names.values()), key=len, reverse=True)
        self._cache: dict[tuple, tuple] = {}

    @classmethod
    def from_conn(cls, conn: Connection) -> "AddressResolver":
        """Load the micro-grids and community names of the database."""
        micro = conn.execute(select(Area.id, Area.name, Area.path).where(Area.level == "micro_grid")).all()
        names = dict(conn.execute(select(Area.code, Area.name).where(Area.level == "community")).all())
        return cls(micro, names)

    def resolve(self, address: str, community: str | None = None) -> tuple[tuple[int, str] | None, str | None]:
        """((micro-grid id, path), None) or (None, reason) for an address and an optional community name."""
        key = (address, community)
        if key not in self._cache:
            self._cache[key] = self._resolve(normalise(address), normalise(community or ""))
        return self._cache[key]

    def _resolve(self, text: str, community: str):
        if not text:
            return None, "缺少地址"
        m = _BUILDING.search(text)
        if not m:
            return None, "地址中没有楼栋号"
        prefix = text[:m.start()]
        estate = next((prefix[-n:] for n in range(min(len(prefix), self.longest), 0, -1)
                       if prefix[-n:] in self.estate_set), None)  # the longest estate name the prefix ends with
        if estate is None:
            return None, "地址中的小区不在任何网格"
        candidates = self.units.get((estate, int(m.group(1))), [])
        if not candidates:
            return None, f"{estate}没有{m.group(1)}栋"
        community = community or next((c for c in self.communities if c in prefix), "")
        if community:
            candidates = [c for c in candidates if c[1] == community]
            if not candidates:
                return None, f"{community}没有{estate}{m.group(1)}栋"
        if len({c[1] for c in candidates}) > 1:
            return None, f"多个社区都有{estate}，请写明社区"
        if m.group(2):
            unit = int(m.group(2))
            hit = [c for c in candidates if c[0] == unit]
            if not hit:
                return None, f"{estate}{m.group(1)}栋没有{unit}单元"
        else:
            hit = sorted(candidates)
        return (hit[0][2], hit[0][3]), None

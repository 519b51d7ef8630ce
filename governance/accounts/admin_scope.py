"""Where accounts, wall devices and API clients are anchored in the area tree (for the request guard)."""
from __future__ import annotations

from sqlalchemy import select

from ..models import ApiClient, Area, KioskDevice, UserAccount

MODELS = {"user": UserAccount, "device": KioskDevice, "client": ApiClient}
ROOT = "/"  # no area: city-wide (only a city-wide principal covers it)


def anchored_paths(conn, kind: str, ids: list[int]) -> list[tuple[int, str]]:
    """(id, area path) of existing rows of `kind`; rows without an area get ROOT."""
    model = MODELS[kind]
    rows = conn.execute(select(model.id, Area.path).outerjoin(Area, Area.code == model.area_code)
                        .where(model.id.in_(ids))).all()
    return [(i, path or ROOT) for i, path in rows]

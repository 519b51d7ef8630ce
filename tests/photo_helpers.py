"""Test photos: real JPEGs (optionally with an EXIF GPS location) and a stored photo for the access matrix."""
from __future__ import annotations

import io

from sqlalchemy import text

from .conftest import WORLD_NOW

SHANGHAI_GPS = {1: "N", 2: (30.0, 39.0, 1.5), 3: "E", 4: (104.0, 3.0, 2.0)}


def make_jpeg(width: int = 640, height: int = 480, gps: bool = False, noise: bool = False) -> bytes:
    """A real JPEG (a colour gradient, or random noise to make it large), with a GPS location if asked."""
    import numpy as np
    from PIL import Image

    if noise:
        pixels = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        x = np.linspace(0, 255, width, dtype=np.uint8)
        pixels = np.stack([np.tile(x, (height, 1)), np.full((height, width), 120, np.uint8),
                           np.tile(x[::-1], (height, 1))], axis=-1)
    img = Image.fromarray(pixels, "RGB")
    exif = Image.Exif()
    exif[0x0110] = "TestPhone"
    if gps:
        exif.get_ifd(0x8825).update(SHANGHAI_GPS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def photo_in(world_engine, code: str, label: str, outside: str | None = None) -> int:
    """A stored photo (made once per label) of an event inside area `code` (and outside area `outside`)."""
    from dashboard.runtime import current
    from governance.events import photos

    with world_engine.begin() as conn:
        found = conn.execute(text("SELECT id FROM event_photo WHERE uploaded_by = :l"), {"l": label}).scalar()
        if found:
            return found
        eid = conn.execute(text(
            "SELECT e.id FROM event e JOIN area c ON e.area_path LIKE c.path || '%' LEFT JOIN area g ON g.code = :g "
            "WHERE c.code = :c AND (g.path IS NULL OR e.area_path NOT LIKE g.path || '%') ORDER BY e.id LIMIT 1"),
            {"c": code, "g": outside}).scalar()
        prepared = photos.prepare(make_jpeg(), "image/jpeg", 2 << 20, keep_location=False)
        names = photos.write_files(current().settings.photo_dir, prepared, WORLD_NOW)
        return photos.record(conn, eid, None, label, WORLD_NOW, prepared, names)


def matrix_photo(world_engine) -> int:
    """A stored photo of an event in community A outside the test grid worker's grid (made once)."""
    acc = world_engine.accounts
    return photo_in(world_engine, acc["communities"][0], "矩阵测试", outside=acc["grid"])

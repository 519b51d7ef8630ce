"""The declarative base, the area hierarchy and the organisation: areas, shifts, staff, departments, categories."""
from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Area levels of the "3+1" hierarchy, top to bottom; dedicated grids overlay a community.
AREA_LEVELS: dict[str, str] = {
    "city": "市",
    "district": "区（县）",
    "subdistrict": "街道",
    "community": "社区（总网格）",
    "general_grid": "一般网格",
    "micro_grid": "微网格",
    "dedicated_grid": "专属网格",
}
CHILD_LEVEL = {"city": "district", "district": "subdistrict", "subdistrict": "community",
               "community": "general_grid", "general_grid": "micro_grid"}
DEDICATED_KINDS = {"school": "学校", "market": "农贸市场", "office": "商务楼宇",
                   "hospital": "医院", "business_street": "商业街区"}
STAFF_ROLES = {
    "grid_leader": "网格长",
    "grid_worker": "网格员",
    "micro_grid_worker": "微网格员",
    "mobile_worker": "流动微网格员",
    "specialist": "下沉专员",
    "supervisor": "社区党风政风廉情监督员",
}


# Area paths ("/1/23/456/") compare byte by byte on every database: subtree filters are the range
# [path, path-with-'0'-for-its-last-'/') and rely on '/' sorting just before '0'. SQLite compares
# bytes already; on PostgreSQL a database created with a glibc locale such as en_US.UTF-8 or
# zh_CN.UTF-8 would ignore the slashes, and "/1/2/5/" would fall outside "/1/2/" (migration 0011).
AreaPath = String(400).with_variant(String(400, collation="C"), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of every Grid Cockpit table."""


class Area(Base):
    """One node of the area tree: city, district, sub-district, community, grid or dedicated grid."""

    __tablename__ = "area"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(20), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    # Materialised path of codes ("/510100/510107/…/"), for subtree queries and role scope.
    path: Mapped[str] = mapped_column(AreaPath, index=True)
    dedicated_kind: Mapped[str | None] = mapped_column(String(20))
    households: Mapped[int | None] = mapped_column(Integer)
    residents: Mapped[int | None] = mapped_column(Integer)
    # Geometry as WGS84 GeoJSON text (portable); bbox and centroid columns for cheap queries.
    geometry: Mapped[str] = mapped_column(Text)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)

    parent: Mapped[Area | None] = relationship(remote_side=[id])


class Shift(Base):
    """A duty shift pattern (常规班, 错时班, 延时班 …): weekdays 1–7 and local start/end times."""

    __tablename__ = "shift"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    weekdays: Mapped[str] = mapped_column(String(7))
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))


class Staff(Base):
    """A grid worker, grid leader, micro-grid volunteer, rider or sunk-down specialist."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(24), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    is_volunteer: Mapped[bool] = mapped_column(Boolean, default=False)
    is_party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    specialty: Mapped[str | None] = mapped_column(String(40))
    shift_code: Mapped[str] = mapped_column(ForeignKey("shift.code"))

    area: Mapped[Area] = relationship()
    shift: Mapped[Shift] = relationship()


class Department(Base):
    """A department that can be whistled in (吹哨报到)."""

    __tablename__ = "department"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(20))


class Category(Base):
    """An event category: a major class (大类, parent None) or a minor class (小类)."""

    __tablename__ = "category"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    family: Mapped[str] = mapped_column(String(30))
    sla_hours: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str | None] = mapped_column(String(20))

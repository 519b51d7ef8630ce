"""Personal rows of the people registry for the laptop page and its export: masked, scoped, filtered."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .groups import groups
from ..models import Household, Place, Resident
from ..core.privacy import mask_name, mask_phone
from ..core.scope import subtree

LIMIT = 500
HOUSEHOLD_COLUMNS = [("address", "地址"), ("members", "在册人数"), ("groups", "特殊人群"), ("names", "成员（脱敏）"),
                     ("phones", "联系电话（脱敏）")]
PREMISES_COLUMNS = [("name", "场所名称"), ("category", "类型"), ("licence", "营业执照号"), ("fire_checked_on", "最近消防检查"),
                    ("address", "地址"), ("contact_phone", "负责人电话（脱敏）")]


def special_households(conn: Connection, path: str, group: str | None = None, limit: int = LIMIT) -> list[dict]:
    """Open households in an area subtree with a member in a special group (or `group`), members masked."""
    like = f"%,{group},%" if group else "%,%"
    q = (select(Household.id, Household.address, Resident.name, Resident.phone, Resident.groups)
         .join(Resident, Resident.household_id == Household.id)
         .where(subtree(Household.area_path, path), Household.closed_at.is_(None), Resident.closed_at.is_(None),
                Household.id.in_(select(Resident.household_id).where(Resident.closed_at.is_(None),
                                                                     Resident.groups.like(like))))
         .order_by(Household.address, Household.id, Resident.id))
    names = groups()
    out: dict[int, dict] = {}
    for r in conn.execute(q):
        if r.id not in out:
            if len(out) >= limit:
                break
            out[r.id] = {"id": r.id, "address": r.address, "members": 0, "groups": set(), "names": [], "phones": []}
        h = out[r.id]
        h["members"] += 1
        h["groups"].update(c for c in r.groups.split(",") if c)
        h["names"].append(mask_name(r.name))
        if r.phone:
            h["phones"].append(mask_phone(r.phone))
    for h in out.values():
        h["groups"] = "、".join(names.get(c, c) for c in names if c in h["groups"])
        h["names"] = "、".join(h["names"])
        h["phones"] = "、".join(h["phones"])
    return list(out.values())


def premises(conn: Connection, path: str, category: str | None = None, limit: int = LIMIT) -> list[dict]:
    """Open business premises in an area subtree (optionally of one kind), contact masked."""
    q = select(Place).where(Place.kind == "premises", Place.closed_at.is_(None), subtree(Place.area_path, path))
    if category:
        q = q.where(Place.category == category)
    rows = conn.execute(q.order_by(Place.address, Place.id).limit(limit)).all()
    return [{"id": r.id, "name": r.name, "category": r.category or "", "licence": r.licence or "",
             "fire_checked_on": r.fire_checked_on.isoformat() if r.fire_checked_on else "无记录",
             "address": r.address, "contact_phone": mask_phone(r.contact_phone)} for r in rows]


def premises_kinds(conn: Connection, path: str) -> list[str]:
    """The kinds of premises found in an area subtree."""
    return [k for (k,) in conn.execute(select(Place.category).where(
        Place.kind == "premises", Place.closed_at.is_(None), subtree(Place.area_path, path), Place.category.isnot(None))
        .group_by(Place.category).order_by(func.count().desc()))]


MIN_REASON = 4


def unmask_household(conn: Connection, household_id: int, actor: str, reason: str | None, now, ip: str | None = None,
                     within=None) -> str:
    """Full names and phones of a household's active members, logged with the reason; or why not (Chinese).

    `within` is the SQL condition on Household.area_path of the caller's scope (access.scope_condition)."""
    from ..accounts.accounts import log_access

    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        return f"请先在上方填写查看原因（至少{MIN_REASON}个字）"
    if within is not None and conn.execute(select(Household.id).where(
            Household.id == household_id, within)).first() is None:
        return f"户 {household_id} 不存在或不在您的权限范围内"
    rows = conn.execute(select(Resident.name, Resident.phone).where(
        Resident.household_id == household_id, Resident.closed_at.is_(None)).order_by(Resident.id)).all()
    log_access(conn, actor, "people_unmask", now, target=f"household:{household_id}", detail=reason[:500], ip=ip)
    return "、".join(f"{r.name} {r.phone or ''}".strip() for r in rows) or "—"

"""Read models of alarm management: the supervised list (督办), shelved warnings, shelvable ones."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .alarm_mgmt import community_code
from ..models import Area, Event, Staff, RaisedWarning
from ..core.scope import subtree
from .warnings import RANK


def _events(conn: Connection, ids: list[int]) -> dict[int, dict]:
    out = {}
    for i in range(0, len(ids), 900):
        out.update({r.id: r._asdict() for r in conn.execute(
            select(Event.id, Event.title, Event.category_code, Event.due_at, Event.reported_at, Event.status)
            .where(Event.id.in_(ids[i:i + 900])))})
    return out


def _names(conn: Connection, codes) -> dict[str, str]:
    return dict(conn.execute(select(Area.code, Area.name).where(Area.code.in_(list(set(codes))))).all())


def supervision_count(conn: Connection, scope_path: str) -> int:
    """How many open warnings of a scope are under supervision (督办)."""
    return conn.execute(select(func.count()).select_from(RaisedWarning).where(
        RaisedWarning.cleared_at.is_(None), RaisedWarning.supervised_at.is_not(None),
        subtree(RaisedWarning.area_path, scope_path))).scalar() or 0


def supervision_list(conn: Connection, scope_path: str, now: datetime, limit: int = 200) -> list[dict]:
    """Supervised warnings of a scope: the earliest review date first, then the longest overdue."""
    rows = conn.execute(select(*RaisedWarning.__table__.c, Staff.name.label("owner"))
                        .outerjoin(Staff, Staff.id == RaisedWarning.supervisor_id)
                        .where(RaisedWarning.cleared_at.is_(None), RaisedWarning.supervised_at.is_not(None),
                               subtree(RaisedWarning.area_path, scope_path))
                        .order_by(RaisedWarning.review_at, RaisedWarning.id).limit(limit)).all()
    events = _events(conn, [int(r.subject) for r in rows])
    names = _names(conn, [community_code(r.area_path) for r in rows])
    out = []
    for r in rows:
        w, ev = r, events.get(int(r.subject), {})
        due = ev.get("due_at")
        out.append({"warning": w.id, "event": int(w.subject), "title": ev.get("title") or "",
                    "community": names.get(community_code(w.area_path), ""), "owner": r.owner or "街道督办",
                    "level": w.level, "since": w.supervised_at, "review_at": w.review_at,
                    "review_due": w.review_at is not None and w.review_at <= now,
                    "overdue_days": (now - due).days if due else None})
    return sorted(out, key=lambda r: (r["review_at"] or now, -(r["overdue_days"] or 0)))  # longest overdue first


def shelved_list(conn: Connection, scope_path: str, now: datetime) -> list[dict]:
    """Warnings shelved now in a scope: who, why, until when."""
    rows = conn.execute(select(RaisedWarning).where(RaisedWarning.cleared_at.is_(None), RaisedWarning.shelved_until > now,
                                              subtree(RaisedWarning.area_path, scope_path))
                        .order_by(RaisedWarning.shelved_until)).all()
    return [{"warning": w.id, "kind": w.kind, "subject": w.subject, "level": w.level, "by": w.shelved_by,
             "reason": w.shelve_reason, "at": w.shelved_at, "until": w.shelved_until} for w in rows]


def shelvable(conn: Connection, scope_path: str, now: datetime, limit: int = 20) -> list[dict]:
    """The open event warnings on the action list of a scope a person may shelve, most urgent first."""
    rows = conn.execute(select(RaisedWarning).where(
        RaisedWarning.cleared_at.is_(None), RaisedWarning.kind == "event", RaisedWarning.supervised_at.is_(None),
        RaisedWarning.flood_id.is_(None), (RaisedWarning.shelved_until.is_(None)) | (RaisedWarning.shelved_until <= now),
        RaisedWarning.level.in_(("red", "orange")), subtree(RaisedWarning.area_path, scope_path))).all()
    rows = sorted(rows, key=lambda w: (-RANK[w.level], -w.raised_at.timestamp(), -w.id))[:limit]
    events = _events(conn, [int(w.subject) for w in rows])
    return [{"warning": w.id, "event": int(w.subject), "level": w.level, "raised_at": w.raised_at,
             "title": (events.get(int(w.subject)) or {}).get("title") or "", "reason": (w.reasons or [""])[0]}
            for w in rows]

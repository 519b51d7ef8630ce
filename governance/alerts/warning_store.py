"""The one evaluated result every view reads: the open rows of the `warning` table the scheduler keeps.

Map colours (micro-grids from their grid rows, parents by the parent rules over those), markers,
the warnings list, the event card and the webhook all read these rows, so one colour is never
computed twice in two ways (#18). The web process does not evaluate the rules itself.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..models import Event, RaisedWarning
from ..core.scope import subtree
from .warning_eval import ScopeWarnings


def scope_from_table(conn: Connection, scope_path: str, now: datetime) -> ScopeWarnings:
    """ScopeWarnings of a scope read from the open warning rows (what the scheduler last evaluated)."""
    out = ScopeWarnings()
    rows = conn.execute(select(RaisedWarning.id, RaisedWarning.kind, RaisedWarning.subject, RaisedWarning.area_path, RaisedWarning.level,
                               RaisedWarning.reasons, RaisedWarning.shelved_until, RaisedWarning.supervised_at, RaisedWarning.flood_id)
                        .where(RaisedWarning.cleared_at.is_(None), RaisedWarning.kind.in_(("event", "grid")),
                               subtree(RaisedWarning.area_path, scope_path))).all()
    off = {"supervised": 0, "shelved": 0, "flooded": 0}
    for r in rows:
        reasons = list(r.reasons or [])
        if r.supervised_at is not None:
            off["supervised"] += 1
        elif r.shelved_until is not None and r.shelved_until > now:
            off["shelved"] += 1
        elif r.flood_id is not None:
            off["flooded"] += 1
        if r.kind == "grid":
            out.grids[r.area_path] = (r.level, reasons)
            continue
        eid = int(r.subject)
        out.events[eid] = (r.level, reasons)
        out.event_warning[eid] = r.id
        if r.area_path:
            out.event_grid[eid] = r.area_path
        if (r.shelved_until is not None and r.shelved_until > now) or r.supervised_at is not None \
                or r.flood_id is not None:
            out.hidden.add(eid)
    out.off_list = off
    out.floods = [(p, lv, list(reasons or [])) for p, lv, reasons in conn.execute(
        select(RaisedWarning.area_path, RaisedWarning.level, RaisedWarning.reasons).where(
            RaisedWarning.cleared_at.is_(None), RaisedWarning.kind == "flood", subtree(RaisedWarning.area_path, scope_path))
        .order_by(RaisedWarning.raised_at.desc()))]
    ids = [eid for eid, (lv, _) in out.events.items() if lv in ("red", "orange")]  # what most_urgent ranks
    for i in range(0, len(ids), 900):
        out.event_reported.update(conn.execute(select(Event.id, Event.reported_at)
                                               .where(Event.id.in_(ids[i:i + 900]))).all())
    return out

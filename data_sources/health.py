"""Feed health: freshness per source (ok / late / down), counts, errors (served by dashboard/health_routes.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from governance.models import Quarantine, SourceState
from governance.core.timeutil import to_local

from .registry import PULLED, SOURCE_ORDER, source_label, source_short

STATUS_LABELS = {"ok": "正常", "late": "延迟", "down": "中断", "idle": "未运行"}


def feed_status(state: SourceState | None, now: datetime) -> str:
    """ok: succeeded within 3 intervals; late: within 10 or one failure; down: otherwise."""
    if state is None or state.last_run_at is None:
        return "idle"
    interval = state.interval_seconds or 60
    if state.consecutive_failures >= 3:
        return "down"
    if state.last_success_at is None:
        return "late" if state.consecutive_failures < 3 else "down"
    lag = (now - state.last_success_at).total_seconds()
    if lag <= 3 * interval and state.consecutive_failures == 0:
        return "ok"
    if lag <= 10 * interval:
        return "late"
    return "down"


def source_health(engine: Engine, now: datetime) -> list[dict]:
    """One health row per known source (stored state joined with open quarantine counts)."""
    with engine.connect() as conn:
        states = {r.source: r for r in conn.execute(select(SourceState))}
        open_q = dict(conn.execute(select(Quarantine.source, func.count()).where(
            Quarantine.resolved.is_(False)).group_by(Quarantine.source)).all())
    rows = []
    order = lambda name: (SOURCE_ORDER.index(name), "") if name in SOURCE_ORDER else (len(SOURCE_ORDER), name)  # noqa: E731
    for name in sorted(set(states) | set(open_q) | set(PULLED), key=order):
        st = states.get(name)
        status = "ok" if name == "push" and st is None else feed_status(st, now)
        rows.append({
            "source": name, "label": source_label(name), "short_label": source_short(name), "status": status,
            "status_label": STATUS_LABELS[status],
            "last_success_at": to_local(st.last_success_at).isoformat() if st and st.last_success_at else None,
            "lag_seconds": int((now - st.last_success_at).total_seconds()) if st and st.last_success_at else None,
            "records_in": st.records_in if st else 0, "records_out": st.records_out if st else 0,
            "records_quarantined": st.records_quarantined if st else 0,
            "quarantine_open": open_q.get(name, 0),
            "last_error": st.last_error if st else None,
            "consecutive_failures": st.consecutive_failures if st else 0,
        })
    return rows


def database_reachable(engine: Engine) -> dict:
    """{"reachable": True, "dialect": …} when the database answers, else {"reachable": False, "error": …}."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - report, don't raise
        return {"reachable": False, "error": str(exc)[:300]}
    return {"reachable": True, "dialect": engine.dialect.name}

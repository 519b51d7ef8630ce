"""One deadline per event: the severity tiers of the warning rules (紧急 2 h, 严重 24 h) shorten a deadline when
the event is taken in, so the deadline a warning row shows, the KPIs' 超期 and the colour agree; an approved
extension (延期) then stands."""
from datetime import timedelta

from sqlalchemy import select, text

from data_sources.base import NormalisedEvent
from data_sources.upsert import capped_due, upsert_events
from dashboard.components.panels import warnings_panel
from governance.alerts.warning_eval import evaluate_scope
from governance.alerts.warnings import EventFacts, event_colour, load_rules
from governance.events.deadlines import tier_due
from governance.core.timeutil import format_deadline
from governance.figures.kpis import compute_kpis
from governance.models import Event

from .conftest import WORLD_NOW
from .feed_helpers import grid_points

RULES = load_rules()
T0 = WORLD_NOW


def test_a_tier_shortens_a_deadline_when_taken_in_and_an_extension_stands():
    tiers = RULES.sla_tiers_hours
    assert tier_due(T0, 3, T0 + timedelta(hours=72), tiers) == T0 + timedelta(hours=tiers[3])
    assert tier_due(T0, 3, None, tiers) == T0 + timedelta(hours=tiers[3])
    assert tier_due(T0, 2, T0 + timedelta(hours=72), tiers) == T0 + timedelta(hours=72)  # no tier for 一般
    # 路面塌陷 (0401): 紧急, its category gives 4 h, the 紧急 tier 2 h
    collapse = NormalisedEvent("cases", "T-1", "0401", "路面塌陷", T0, T0, due_at=T0 + timedelta(days=3))
    assert capped_due(collapse) == T0 + timedelta(hours=tiers[4])
    # a 严重 event: a feed's own deadline stands (an inspector's 整改期限); without one, its category's 72 h is tiered
    noise = NormalisedEvent("cases", "T-2", "2101", "噪音", T0, T0, severity=3)
    assert capped_due(noise) == T0 + timedelta(hours=tiers[3])
    noise.due_at = T0 + timedelta(days=3)
    assert capped_due(noise) == T0 + timedelta(days=3)
    # the colour is judged by the stored deadline: a 严重 event extended to 15 days is not overdue after a day
    extended = EventFacts("handle", 3, T0, T0 + timedelta(days=15))
    level, reasons = event_colour(extended, T0 + timedelta(hours=25), RULES)
    assert level == "none" and not reasons
    stored = EventFacts("handle", 3, T0, tier_due(T0, 3, T0 + timedelta(days=15), tiers))
    assert event_colour(stored, T0 + timedelta(hours=25), RULES)[0] == "red"


def test_the_row_the_kpis_and_the_colour_agree_on_a_tiered_deadline(engine):
    """A 紧急 路面塌陷 reported 3 h ago with the feed's 3-day deadline: stored with 2 h, counted 超期, shown
    with that deadline and coloured overdue (before, the row said 限 in 3 days beside 已超过办理时限)."""
    area_id, lon, lat = grid_points(engine, 1)[0]
    reported = WORLD_NOW - timedelta(hours=3)
    with engine.begin() as conn:
        path = conn.execute(text("SELECT path FROM area WHERE id=:i"), {"i": area_id}).scalar()
        before = compute_kpis(conn, path, "year", WORLD_NOW).overdue
        upsert_events(conn, [NormalisedEvent("cases", "TIER-1", "0401", "路面塌陷", reported, reported, lon=lon,
                                             lat=lat, due_at=reported + timedelta(days=3), status="handle")],
                      [(area_id, path)], "test", WORLD_NOW)
        eid, due = conn.execute(select(Event.id, Event.due_at).where(Event.source_key == "TIER-1")).one()
        after = compute_kpis(conn, path, "year", WORLD_NOW).overdue
        level, reasons = evaluate_scope(conn, path, WORLD_NOW, RULES).events[eid]
    assert due == reported + timedelta(hours=RULES.sla_tiers_hours[4])
    assert after == before + 1
    assert level == "red" and "已超过办理时限" in reasons
    row = warnings_panel([{"id": eid, "title": "路面塌陷", "level": level, "reasons": reasons, "due_at": due,
                           "reported_at": reported}], [], now=WORLD_NOW)[0]
    deadline = format_deadline(due, WORLD_NOW)
    assert "超期" in deadline and f"限 {deadline}" in str(row)  # the passed deadline, not a date in 3 days


def test_events_taken_in_before_are_given_their_tier_once_and_an_extension_stands(engine):
    """Migration 0027: open events stored with their category's deadline, or a 紧急 category's, get the tier's, in
    their history; a feed's own deadline, one set since (延期) and closed events keep theirs; a second run changes
    nothing."""
    from governance.events.deadlines import ACTION, retier_open_events
    from governance.figures import rollups
    from governance.models import EventAudit

    area_id, lon, lat = grid_points(engine, 1)[0]
    reported = WORLD_NOW - timedelta(hours=30)
    late = reported + timedelta(days=3)
    old = {  # as stored before the tiers were applied at intake
        "OLD-open": ("0401", 4, "handle", late),  # 路面塌陷 (紧急, 4 h) with a feed's 3 days
        "OLD-extended": ("0401", 4, "handle", late),  # … extended since (延期)
        "OLD-closed": ("0401", 4, "closed", late),
        "OLD-category": ("2101", 3, "handle", reported + timedelta(hours=72)),  # 严重, its category's 72 h
        "OLD-feed": ("2101", 3, "handle", reported + timedelta(days=5)),  # 严重, a 工单's or an inspector's own
    }
    with engine.begin() as conn:
        path = conn.execute(text("SELECT path FROM area WHERE id=:i"), {"i": area_id}).scalar()
        upsert_events(conn, [NormalisedEvent("cases", k, code, "测试", reported, reported, lon=lon, lat=lat,
                                             status=status, severity=sev) for k, (code, sev, status, _) in old.items()],
                      [(area_id, path)] * len(old), "test", WORLD_NOW)
        ids = dict(conn.execute(select(Event.source_key, Event.id).where(Event.source_key.like("OLD-%"))).all())
        for k, (*_, due) in old.items():
            conn.execute(Event.__table__.update().where(Event.id == ids[k]).values(due_at=due))
        conn.execute(EventAudit.__table__.insert().values(event_id=ids["OLD-extended"], at=reported, actor="网格员",
                                                          action="延期办理", field="due_at", to_value=str(late)))
        rollups.mark_events(conn, ids.values())
        rollups.flush(conn)
        before = compute_kpis(conn, path, "year", WORLD_NOW).overdue
        assert retier_open_events(conn, RULES.sla_tiers_hours, WORLD_NOW) == 2
        assert retier_open_events(conn, RULES.sla_tiers_hours, WORLD_NOW) == 0
        rollups.flush(conn)
        due = dict(conn.execute(select(Event.source_key, Event.due_at).where(Event.id.in_(ids.values()))).all())
        history = conn.execute(select(EventAudit.note).where(
            EventAudit.event_id == ids["OLD-open"], EventAudit.action == ACTION)).scalars().all()
        after = compute_kpis(conn, path, "year", WORLD_NOW).overdue
    tiers = RULES.sla_tiers_hours
    assert due == {"OLD-open": reported + timedelta(hours=tiers[4]), "OLD-extended": late, "OLD-closed": late,
                   "OLD-category": reported + timedelta(hours=tiers[3]), "OLD-feed": reported + timedelta(days=5)}
    assert len(history) == 1 and f"{tiers[4]:g} 小时" in history[0]
    assert after == before + 2  # 30 h after the report both are 超期, as their rows and colours say

"""Issue #18: a believable demo world — a few open events overdue, not nearly all of them."""
from datetime import timedelta

from sqlalchemy import text

from demo_world.history import SEVERE, SEVERE_CAP_DAYS

from .conftest import WORLD_NOW

OPEN = ("status NOT IN ('closed', 'returned') AND duplicate_of_id IS NULL AND NOT is_drill")


def test_between_5_and_15_percent_of_open_events_are_overdue(world_engine):
    with world_engine.connect() as conn:
        open_n, overdue = conn.execute(text(f"SELECT COUNT(*), SUM(CASE WHEN due_at < :now THEN 1 ELSE 0 END) "
                                            f"FROM event WHERE {OPEN}"), {"now": WORLD_NOW}).one()
    assert open_n > 0 and 5 <= 100 * overdue / open_n <= 15, (open_n, overdue)


def test_severe_hazards_are_not_left_open_for_months_nor_extended(world_engine):
    with world_engine.connect() as conn:
        old_severe = conn.execute(text(f"SELECT COUNT(*) FROM event WHERE {OPEN} AND severity >= :s "
                                       "AND reported_at < :since"),
                                  {"s": SEVERE, "since": WORLD_NOW - timedelta(days=SEVERE_CAP_DAYS + 1)}).scalar()
        extended_severe = conn.execute(text("SELECT COUNT(*) FROM event e JOIN event_audit a ON a.event_id = e.id "
                                            "WHERE a.action = '延期办理' AND e.severity >= :s"), {"s": SEVERE}).scalar()
    assert old_severe == 0 and extended_severe == 0


def test_every_extended_deadline_is_in_the_event_history(world_engine):
    with world_engine.connect() as conn:
        rows = conn.execute(text("SELECT e.due_at, a.to_value, a.at, e.reported_at FROM event e "
                                 "JOIN event_audit a ON a.event_id = e.id AND a.field = 'due_at' "
                                 "WHERE a.action = '延期办理' AND e.duplicate_of_id IS NULL LIMIT 500")).all()
    assert rows, "hard cases apply for 延期办理"
    for due, to_value, at, reported in rows:
        assert str(due).replace("T", " ").startswith(to_value[:19]) and reported < at < due

"""Deadlines: the warning rules' severity tiers (紧急 2 h, 严重 24 h) are applied when an event is taken in

Until this revision the tiers shortened a deadline only where an event was coloured, so a warning row showed
the stored (longer) deadline beside 已超过办理时限 and the KPIs' 超期 did not count it. Open events of a tiered
severity whose stored deadline is later than the tier allows, and whose deadline was never set since, are given
the tier's deadline, recorded in their history as 时限校正 (governance/events/deadlines.py). Data only.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 08:40:00
"""
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from governance.alerts.rules_in_force import current_rules
    from governance.core.timeutil import utcnow
    from governance.events.deadlines import retier_open_events

    conn = op.get_bind()
    retier_open_events(conn, current_rules(conn).sla_tiers_hours, utcnow())


def downgrade() -> None:
    pass  # the deadlines stay: each change is in its event's history (时限校正)

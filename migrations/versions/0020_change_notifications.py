"""change notifications on PostgreSQL: a write to event, warning or rule_override NOTIFYs cockpit_changes at commit

Every open cockpit learns of a change through its web process's change watcher
(dashboard/live_routes.py). On SQLite the watcher reads the data version twice a second; on
PostgreSQL it LISTENs on the `cockpit_changes` channel, so a change made by any process — the
scheduler's feeds, a push in another web worker, a dispatch — wakes it the moment it commits, and
the database is not polled. One statement-level trigger per table: a bulk import of 100,000 events
sends one notification per statement, and PostgreSQL folds identical notifications of one
transaction into one. SQLite: nothing to do.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 11:00:00
"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

CHANNEL = "cockpit_changes"
TABLES = ("event", "warning", "rule_override")  # rule_override: a threshold an admin changed (0018)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE FUNCTION cockpit_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
            RETURN NULL;
        END $$""")
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                   f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION cockpit_notify_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_change ON {table}")
    op.execute("DROP FUNCTION IF EXISTS cockpit_notify_change()")

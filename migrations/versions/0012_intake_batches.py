"""intake batches: an event records the feed batch that created it instead of a 接入 audit row

A bulk import wrote one event_audit row per new event just to say "arrived from feed X at T": on
PostgreSQL about 5 µs of each event's ~60 µs. Now each stored batch is one `intake` row (when, which
feed, how many events) and every event it created carries its id, as load ids work in dlt. The event's
history derives its 接入 entry from the two. Events stored before this keep their 接入 audit rows
(their intake_id stays NULL), so no history changes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('intake',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('at', sa.DateTime(), nullable=False),
                    sa.Column('actor', sa.String(length=60), nullable=False),
                    sa.Column('events', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.add_column('event', sa.Column('intake_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    # Back to one 接入 audit row per event, in the state it arrived in (as the history showed it).
    op.execute("""
        INSERT INTO event_audit (event_id, at, actor, action, field, from_value, to_value, note)
        SELECT e.id, i.at, i.actor, '接入', 'status', NULL,
               COALESCE((SELECT a.from_value FROM event_audit a WHERE a.event_id = e.id AND a.field = 'status'
                         ORDER BY a.at, a.id LIMIT 1), e.status),
               CASE WHEN e.outside_grid THEN '事件位于所有网格之外' END
        FROM event e JOIN intake i ON i.id = e.intake_id""")
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('intake_id')
    op.drop_table('intake')

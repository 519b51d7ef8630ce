"""duplicate links: partial index (only non-null), so IS NULL filters never choose it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 18:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_event_duplicate_of_id', table_name='event')
    op.create_index('ix_event_duplicate_of_id', 'event', ['duplicate_of_id'], unique=False,
                    sqlite_where=sa.text('duplicate_of_id IS NOT NULL'),
                    postgresql_where=sa.text('duplicate_of_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_event_duplicate_of_id', table_name='event')
    op.create_index('ix_event_duplicate_of_id', 'event', ['duplicate_of_id'], unique=False)

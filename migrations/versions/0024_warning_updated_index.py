"""warning.updated_at index: the data version reads max(updated_at) of the warnings at every change check

The warning table keeps every cleared warning, so without the index the version check (twice a
second per web process on SQLite, at each notification on PostgreSQL) scans a growing table.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 15:00:00
"""
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_warning_updated_at', 'warning', ['updated_at'])


def downgrade() -> None:
    op.drop_index('ix_warning_updated_at', table_name='warning')

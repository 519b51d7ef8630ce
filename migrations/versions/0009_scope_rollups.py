"""scope rollups: daily facets (status, category, hour, closed, open) per community and ancestor area

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 08:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scope_rollup',
                    sa.Column('area_path', sa.String(length=400), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('facet', sa.String(length=10), nullable=False),
                    sa.Column('key', sa.String(length=60), nullable=False),
                    sa.Column('level', sa.String(length=20), nullable=False),
                    sa.Column('n', sa.Integer(), nullable=False),
                    sa.Column('on_time', sa.Integer(), nullable=False),
                    sa.Column('rated', sa.Integer(), nullable=False),
                    sa.Column('satisfied', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('area_path', 'facet', 'day', 'key'))
    op.create_index('ix_scope_rollup_level_day', 'scope_rollup', ['level', 'day'], unique=False)
    op.create_index('ix_event_status_due', 'event', ['status', 'due_at'], unique=False)
    from governance.figures.scope_rollups import rebuild  # existing events are aggregated once, here

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_event_status_due', table_name='event')
    op.drop_index('ix_scope_rollup_level_day', table_name='scope_rollup')
    op.drop_table('scope_rollup')

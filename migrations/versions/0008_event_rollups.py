"""event rollups (area path × local day × source × category × status) and their dirty queue

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 19:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_rollup',
                    sa.Column('area_path', sa.String(length=400), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('source', sa.String(length=20), nullable=False),
                    sa.Column('category_code', sa.String(length=20), nullable=False),
                    sa.Column('status', sa.String(length=12), nullable=False),
                    sa.Column('n', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('area_path', 'day', 'source', 'category_code', 'status'))
    op.create_index('ix_event_rollup_day', 'event_rollup', ['day'], unique=False)
    op.create_table('rollup_dirty',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('area_path', sa.String(length=400), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    from governance.figures.rollups import rebuild_micro_grids  # existing events are aggregated once, here

    rebuild_micro_grids(op.get_bind())


def downgrade() -> None:
    op.drop_table('rollup_dirty')
    op.drop_index('ix_event_rollup_day', table_name='event_rollup')
    op.drop_table('event_rollup')

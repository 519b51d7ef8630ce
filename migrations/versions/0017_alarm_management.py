"""alarm management: shelving (搁置), supervision (督办) and flood summaries on the warning table

A warning can be shelved by a person with a reason until an expiry, moved to the supervised list
(督办) with an owner and a review date once its event is overdue past a set age, and collapsed into
a community's flood summary (kind 'flood') when more than 10 new warnings arrive in 10 minutes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('warning', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shelved_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('shelved_by', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('shelved_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('shelve_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('supervised_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('supervisor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('flood_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_warning_supervised_at'), ['supervised_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_warning_flood_id'), ['flood_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('warning', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warning_flood_id'))
        batch_op.drop_index(batch_op.f('ix_warning_supervised_at'))
        for col in ('flood_id', 'review_at', 'supervisor_id', 'supervised_at', 'shelve_reason',
                    'shelved_until', 'shelved_by', 'shelved_at'):
            batch_op.drop_column(col)

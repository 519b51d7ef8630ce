"""visit campaigns: 敲门行动 — a one-off visit per household of a group in an area, once per household

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-03 14:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0021'
branch_labels = None
depends_on = None


def _path():
    return sa.String(length=400).with_variant(sa.String(length=400, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table('visit_campaign',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('name', sa.String(length=60), nullable=False),
                    sa.Column('group_code', sa.String(length=40), nullable=False),
                    sa.Column('area_path', _path(), nullable=False),
                    sa.Column('due_at', sa.DateTime(), nullable=False),
                    sa.Column('created_by', sa.String(length=60), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('visit_campaign', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_campaign_area_path'), ['area_path'], unique=False)
        batch_op.create_index('ux_visit_campaign_key', ['area_path', 'group_code', 'name'], unique=True)
    with op.batch_alter_table('visit_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.create_index('ux_visit_task_campaign_household', ['campaign_id', 'household_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('visit_task', schema=None) as batch_op:
        batch_op.drop_index('ux_visit_task_campaign_household')
        batch_op.drop_column('campaign_id')
    op.drop_table('visit_campaign')

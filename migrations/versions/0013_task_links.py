"""task links: a worker's task page is opened by a per-task token (stored hashed), not a signed staff id

The old /worker/<signed staff id> link never expired, could not be revoked and showed every task of
that worker to whoever held it. A task_link row is one (event, assignee) link: its token is kept only
as SHA-256, it expires (the deadline + 7 days, 1–30 days from issue) and is revoked on 改派, 召回,
核查办结 or by a leader. Old signed links simply stop working; nothing to migrate.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('task_link',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('token_sha256', sa.String(length=64), nullable=False),
                    sa.Column('event_id', sa.Integer(), nullable=False),
                    sa.Column('staff_id', sa.Integer(), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('expires_at', sa.DateTime(), nullable=False),
                    sa.Column('revoked_at', sa.DateTime(), nullable=True),
                    sa.Column('revoked_by', sa.String(length=60), nullable=True),
                    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('token_sha256'))
    with op.batch_alter_table('task_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_link_event_id'), ['event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_link_event_id'))
    op.drop_table('task_link')

"""visit_task.recorded_at: when the server received a visit, beside the time the phone claimed (done_at);
form_photo: a 统一表单 photo answer, stored through the task-photo path and tied to its assignment

A worker's phone sends a visit with the time it says the visit happened; a visit recorded late could claim to
be on time. The receipt time is kept so that 按期走访率 counts a visit on time only when it was both claimed
and received within the offline allowance of its due time (docs/people.md). Visits recorded before this
revision are taken as received when done.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 17:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('visit_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE visit_task SET recorded_at = done_at WHERE done_at IS NOT NULL")
    op.create_table('form_photo',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('assignment_id', sa.Integer(), nullable=False),
                    sa.Column('question', sa.String(length=8), nullable=False),
                    sa.Column('staff_id', sa.Integer(), nullable=False),
                    sa.Column('file_name', sa.String(length=200), nullable=False),
                    sa.Column('thumb_name', sa.String(length=200), nullable=False),
                    sa.Column('content_type', sa.String(length=40), nullable=False),
                    sa.Column('size_bytes', sa.Integer(), nullable=False),
                    sa.Column('width', sa.Integer(), nullable=False),
                    sa.Column('height', sa.Integer(), nullable=False),
                    sa.Column('sha256', sa.String(length=64), nullable=False),
                    sa.Column('kept_location', sa.Boolean(), nullable=False),
                    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
                    sa.Column('uploaded_by', sa.String(length=60), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('form_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_photo_assignment_id'), ['assignment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('form_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_photo_assignment_id'))
    op.drop_table('form_photo')
    with op.batch_alter_table('visit_task', schema=None) as batch_op:
        batch_op.drop_column('recorded_at')

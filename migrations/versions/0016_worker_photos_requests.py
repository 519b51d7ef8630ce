"""worker phone: event photos (checked uploads with thumbnails) and idempotent phone requests

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_photo',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('event_id', sa.Integer(), nullable=False),
                    sa.Column('staff_id', sa.Integer(), nullable=True),
                    sa.Column('request_id', sa.String(length=64), nullable=True),
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
    with op.batch_alter_table('event_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_photo_event_id'), ['event_id'], unique=False)
    op.create_table('worker_request',
                    sa.Column('request_id', sa.String(length=64), nullable=False),
                    sa.Column('event_id', sa.Integer(), nullable=False),
                    sa.Column('staff_id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=12), nullable=False),
                    sa.Column('received_at', sa.DateTime(), nullable=False),
                    sa.Column('outcome', sa.String(length=200), nullable=False),
                    sa.PrimaryKeyConstraint('request_id'))
    with op.batch_alter_table('worker_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_request_event_id'), ['event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('worker_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_request_event_id'))
    op.drop_table('worker_request')
    with op.batch_alter_table('event_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_photo_event_id'))
    op.drop_table('event_photo')

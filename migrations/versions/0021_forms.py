"""forms: 统一表单推送 — a pushed form and one assignment per worker or premises, answered once

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 12:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def _path():
    return sa.String(length=400).with_variant(sa.String(length=400, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table('form_push',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('title', sa.String(length=60), nullable=False),
                    sa.Column('questions', sa.Text(), nullable=False),
                    sa.Column('target', sa.String(length=12), nullable=False),
                    sa.Column('area_path', _path(), nullable=False),
                    sa.Column('created_by', sa.String(length=60), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('due_at', sa.DateTime(), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('form_push', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_push_area_path'), ['area_path'], unique=False)
    op.create_table('form_assignment',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('form_id', sa.Integer(), nullable=False),
                    sa.Column('staff_id', sa.Integer(), nullable=True),
                    sa.Column('place_id', sa.Integer(), nullable=True),
                    sa.Column('label', sa.String(length=200), nullable=False),
                    sa.Column('area_path', _path(), nullable=False),
                    sa.Column('answered_at', sa.DateTime(), nullable=True),
                    sa.Column('answered_by', sa.String(length=60), nullable=True),
                    sa.Column('answers', sa.Text(), nullable=True),
                    sa.Column('event_ids', sa.String(length=200), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('form_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_assignment_form_id'), ['form_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_assignment_area_path'), ['area_path'], unique=False)
        batch_op.create_index('ix_form_assignment_staff_open', ['staff_id', 'answered_at'], unique=False)


def downgrade() -> None:
    op.drop_table('form_assignment')
    op.drop_table('form_push')

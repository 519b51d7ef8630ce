"""departments as participants (吹哨报到 with 报到), 核实 of reports and riders' 积分

department_account ties a `department` account to its department; whistle is one 报到 request with
its deadline, 报到, reply or hand-back; verification is the 核实 of a citizen's or rider's report;
rider_points holds the points a rider earned, one row per verified report.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

PATH = sa.String(length=400).with_variant(sa.String(length=400, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table('department_account',
                    sa.Column('user_id', sa.Integer(), nullable=False),
                    sa.Column('department_code', sa.String(length=30), nullable=False),
                    sa.ForeignKeyConstraint(['department_code'], ['department.code'], ),
                    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
                    sa.PrimaryKeyConstraint('user_id'))
    with op.batch_alter_table('department_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_department_account_department_code'), ['department_code'], unique=False)
    op.create_table('whistle',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('event_id', sa.Integer(), nullable=False),
                    sa.Column('department_code', sa.String(length=30), nullable=False),
                    sa.Column('area_path', PATH, nullable=True),
                    sa.Column('status', sa.String(length=12), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('created_by', sa.String(length=60), nullable=False),
                    sa.Column('due_at', sa.DateTime(), nullable=False),
                    sa.Column('checked_in_at', sa.DateTime(), nullable=True),
                    sa.Column('checked_in_by', sa.String(length=60), nullable=True),
                    sa.Column('replied_at', sa.DateTime(), nullable=True),
                    sa.Column('reply', sa.Text(), nullable=True),
                    sa.Column('handed_back_at', sa.DateTime(), nullable=True),
                    sa.Column('hand_back_reason', sa.Text(), nullable=True),
                    sa.ForeignKeyConstraint(['department_code'], ['department.code'], ),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('whistle', schema=None) as batch_op:
        batch_op.create_index('ix_whistle_dept_status', ['department_code', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistle_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistle_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistle_event_id'), ['event_id'], unique=False)
    op.create_table('verification',
                    sa.Column('event_id', sa.Integer(), nullable=False),
                    sa.Column('verdict', sa.Boolean(), nullable=False),
                    sa.Column('verified_by', sa.String(length=60), nullable=False),
                    sa.Column('verified_at', sa.DateTime(), nullable=False),
                    sa.Column('note', sa.Text(), nullable=True),
                    sa.Column('reporter_staff_id', sa.Integer(), nullable=True),
                    sa.ForeignKeyConstraint(['reporter_staff_id'], ['staff.id'], ),
                    sa.PrimaryKeyConstraint('event_id'))
    op.create_table('rider_points',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('staff_id', sa.Integer(), nullable=False),
                    sa.Column('event_id', sa.Integer(), nullable=False),
                    sa.Column('points', sa.Integer(), nullable=False),
                    sa.Column('reason', sa.String(length=80), nullable=False),
                    sa.Column('area_path', PATH, nullable=True),
                    sa.Column('awarded_at', sa.DateTime(), nullable=False),
                    sa.Column('awarded_by', sa.String(length=60), nullable=False),
                    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('event_id'))
    with op.batch_alter_table('rider_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rider_points_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_rider_points_staff_id'), ['staff_id'], unique=False)


def downgrade() -> None:
    op.drop_table('rider_points')
    op.drop_table('verification')
    op.drop_table('whistle')
    op.drop_table('department_account')

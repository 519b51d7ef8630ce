"""people registry: households, residents (ID numbers as keyed HMAC only), rentals and premises, imports, counts, visit tasks

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

AreaPath = sa.String(400).with_variant(sa.String(400, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table('household',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('hh_key', sa.String(length=64), nullable=False),
                    sa.Column('address', sa.String(length=200), nullable=False),
                    sa.Column('area_id', sa.Integer(), nullable=True),
                    sa.Column('area_path', AreaPath, nullable=True),
                    sa.Column('unplaced', sa.Boolean(), nullable=False),
                    sa.Column('closed_at', sa.DateTime(), nullable=True),
                    sa.Column('updated_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('hh_key'))
    op.create_index('ix_household_area_path', 'household', ['area_path'], unique=False)
    op.create_table('resident',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('id_hmac', sa.String(length=64), nullable=False),
                    sa.Column('id_masked', sa.String(length=20), nullable=False),
                    sa.Column('name', sa.String(length=40), nullable=False),
                    sa.Column('gender', sa.String(length=2), nullable=True),
                    sa.Column('birth_year', sa.Integer(), nullable=True),
                    sa.Column('phone', sa.String(length=20), nullable=True),
                    sa.Column('household_id', sa.Integer(), nullable=True),
                    sa.Column('residence', sa.String(length=10), nullable=False),
                    sa.Column('groups', sa.String(length=200), nullable=False),
                    sa.Column('status', sa.String(length=12), nullable=False),
                    sa.Column('closed_at', sa.DateTime(), nullable=True),
                    sa.Column('row_hash', sa.String(length=40), nullable=False),
                    sa.Column('updated_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('id_hmac'))
    op.create_index('ix_resident_household', 'resident', ['household_id'], unique=False)
    op.create_table('place',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=10), nullable=False),
                    sa.Column('place_key', sa.String(length=64), nullable=False),
                    sa.Column('name', sa.String(length=120), nullable=False),
                    sa.Column('category', sa.String(length=30), nullable=True),
                    sa.Column('licence', sa.String(length=40), nullable=True),
                    sa.Column('fire_checked_on', sa.Date(), nullable=True),
                    sa.Column('contact_name', sa.String(length=40), nullable=True),
                    sa.Column('contact_phone', sa.String(length=20), nullable=True),
                    sa.Column('tenants', sa.Integer(), nullable=True),
                    sa.Column('address', sa.String(length=200), nullable=False),
                    sa.Column('area_id', sa.Integer(), nullable=True),
                    sa.Column('area_path', AreaPath, nullable=True),
                    sa.Column('unplaced', sa.Boolean(), nullable=False),
                    sa.Column('status', sa.String(length=12), nullable=False),
                    sa.Column('closed_at', sa.DateTime(), nullable=True),
                    sa.Column('row_hash', sa.String(length=40), nullable=False),
                    sa.Column('updated_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('kind', 'place_key', name='uq_place_kind_key'))
    op.create_index('ix_place_area_path', 'place', ['area_path'], unique=False)
    op.create_table('people_import',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('at', sa.DateTime(), nullable=False),
                    sa.Column('actor', sa.String(length=60), nullable=False),
                    sa.Column('file_name', sa.String(length=200), nullable=False),
                    sa.Column('summary', sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_table('people_rollup',
                    sa.Column('area_path', AreaPath, nullable=False),
                    sa.Column('metric', sa.String(length=30), nullable=False),
                    sa.Column('n', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('area_path', 'metric'))


    op.create_table('visit_task',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('household_id', sa.Integer(), nullable=False),
                    sa.Column('plan', sa.String(length=40), nullable=False),
                    sa.Column('campaign', sa.String(length=60), nullable=True),
                    sa.Column('area_path', AreaPath, nullable=False),
                    sa.Column('staff_id', sa.Integer(), nullable=True),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('due_at', sa.DateTime(), nullable=False),
                    sa.Column('done_at', sa.DateTime(), nullable=True),
                    sa.Column('done_by', sa.String(length=60), nullable=True),
                    sa.Column('note', sa.Text(), nullable=True),
                    sa.Column('needs', sa.Text(), nullable=True),
                    sa.Column('event_id', sa.Integer(), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_visit_task_area_path', 'visit_task', ['area_path'], unique=False)
    op.create_index('ix_visit_task_due_at', 'visit_task', ['due_at'], unique=False)
    op.create_index('ix_visit_task_household_plan', 'visit_task', ['household_id', 'plan'], unique=False)
    op.create_index('ix_visit_task_staff_open', 'visit_task', ['staff_id', 'done_at'], unique=False)


def downgrade() -> None:
    op.drop_table('visit_task')
    op.drop_table('people_rollup')
    op.drop_table('people_import')
    op.drop_index('ix_place_area_path', table_name='place')
    op.drop_table('place')
    op.drop_index('ix_resident_household', table_name='resident')
    op.drop_table('resident')
    op.drop_index('ix_household_area_path', table_name='household')
    op.drop_table('household')

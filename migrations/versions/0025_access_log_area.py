"""access_log.area_path: the area of whoever acted, so a scoped admin's audit reads by place, not by name

Display names are not unique (two 王芳 in two communities; an admin may name an account anything), so
matching access-log rows to a scope by the actor's name showed one community's admin another's
sign-ins, unmasks and exports. Rows written from now on carry the acting principal's area; older
rows (NULL) are still matched by the names that are unique: usernames, wall and client names.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 15:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def _path():
    return sa.String(length=400).with_variant(sa.String(length=400, collation='C'), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_path', _path(), nullable=True))
        batch_op.create_index(batch_op.f('ix_access_log_area_path'), ['area_path'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_log_area_path'))
        batch_op.drop_column('area_path')

"""admin console: one-time password links, warning-rule overrides, admin changes, API client last use

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

AREA_PATH = sa.String(length=400).with_variant(sa.String(length=400, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table('password_reset',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('token_sha256', sa.String(length=64), nullable=False),
                    sa.Column('user_id', sa.Integer(), nullable=False),
                    sa.Column('created_by', sa.String(length=80), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('expires_at', sa.DateTime(), nullable=False),
                    sa.Column('used_at', sa.DateTime(), nullable=True),
                    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('token_sha256'))
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_user_id'), ['user_id'], unique=False)
    op.create_table('rule_override',
                    sa.Column('path', sa.String(length=80), nullable=False),
                    sa.Column('value', sa.JSON(), nullable=True),
                    sa.Column('revision', sa.Integer(), nullable=False),
                    sa.Column('updated_at', sa.DateTime(), nullable=False),
                    sa.Column('updated_by', sa.String(length=80), nullable=False),
                    sa.PrimaryKeyConstraint('path'))
    op.create_table('admin_change',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('at', sa.DateTime(), nullable=False),
                    sa.Column('actor', sa.String(length=80), nullable=False),
                    sa.Column('action', sa.String(length=30), nullable=False),
                    sa.Column('target', sa.String(length=120), nullable=False),
                    sa.Column('area_path', AREA_PATH, nullable=False),
                    sa.Column('before', sa.JSON(), nullable=True),
                    sa.Column('after', sa.JSON(), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('admin_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_change_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_change_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_change_at'), ['at'], unique=False)
    op.create_table('api_client_use',
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('last_used_at', sa.DateTime(), nullable=False),
                    sa.ForeignKeyConstraint(['client_id'], ['api_client.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('client_id'))


def downgrade() -> None:
    op.drop_table('api_client_use')
    with op.batch_alter_table('admin_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_change_at'))
        batch_op.drop_index(batch_op.f('ix_admin_change_area_path'))
        batch_op.drop_index(batch_op.f('ix_admin_change_action'))
    op.drop_table('admin_change')
    op.drop_table('rule_override')
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_user_id'))
    op.drop_table('password_reset')

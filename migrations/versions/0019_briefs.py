"""briefs: stored 工作简报 (weekly and monthly reports per area) with their PDF and Excel files

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 11:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('brief',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('area_code', sa.String(length=40), nullable=False),
                    sa.Column('area_path', sa.String(length=400).with_variant(sa.String(length=400, collation='C'),
                                                                              'postgresql'), nullable=False),
                    sa.Column('kind', sa.String(length=10), nullable=False),
                    sa.Column('period_start', sa.DateTime(), nullable=False),
                    sa.Column('period_end', sa.DateTime(), nullable=False),
                    sa.Column('period_label', sa.String(length=80), nullable=False),
                    sa.Column('generated_at', sa.DateTime(), nullable=False),
                    sa.Column('generated_by', sa.String(length=80), nullable=False),
                    sa.Column('content', sa.JSON(), nullable=False),
                    sa.Column('pdf', sa.LargeBinary(), nullable=False),
                    sa.Column('xlsx', sa.LargeBinary(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('brief', schema=None) as batch_op:
        batch_op.create_index('ix_brief_area_kind_period', ['area_code', 'kind', 'period_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_brief_area_path'), ['area_path'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('brief', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_brief_area_path'))
        batch_op.drop_index('ix_brief_area_kind_period')
    op.drop_table('brief')

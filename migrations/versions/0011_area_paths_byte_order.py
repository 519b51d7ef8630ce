"""area paths compare byte by byte on PostgreSQL (COLLATE "C"), whatever the database's locale

Subtree filters select the paths in [path, path-with-'0'-for-its-last-'/'), which relies on '/'
sorting just before '0' (byte order). A PostgreSQL database created with a glibc locale such as
en_US.UTF-8 or zh_CN.UTF-8 compares text with the slashes ignored at first: there "/1/2/5/" sorts
after "/1/20", so every KPI, map figure and scope filter of area "/1/2/" would silently leave that
child out. The path columns now use the "C" collation (indexes are rebuilt with them). SQLite
compares bytes already: nothing to do there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 14:00:00
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

PATH_COLUMNS = (("area", "path"), ("event", "area_path"), ("warning", "area_path"),
                ("event_rollup", "area_path"), ("scope_rollup", "area_path"), ("rollup_dirty", "area_path"))


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in PATH_COLUMNS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar(400) COLLATE {collation}')


def upgrade() -> None:
    _collate('"C"')


def downgrade() -> None:
    _collate('"default"')

"""a county's towns as its setting (issue 21): ``counties.towns``

The towns and townships (乡镇) a county's policies may be pushed to were 大姚县's list in code;
now each county keeps its own (the seeds list none). 大姚县, where it exists, gets the list the
code held, so nothing changes for it.

Revision ID: 0030_county_towns
Revises: 0028_work_item_county
"""
import sqlalchemy as sa
from alembic import op

revision = "0030_county_towns"
down_revision = "0028_work_item_county"
branch_labels = None
depends_on = None

DAYAO_TOWNS = ("金碧镇、石羊镇、六苴镇、龙街镇、赵家店镇、新街镇、三岔河镇、桂花镇、湾碧傣族傈僳族乡、"
               "铁锁乡、三台乡、昙华乡")


def upgrade() -> None:
    with op.batch_alter_table("counties") as batch:
        batch.add_column(sa.Column("towns", sa.Text(), nullable=False, server_default=""))
    op.get_bind().execute(sa.text("UPDATE counties SET towns = :towns WHERE code = 'dayao'"),
                          {"towns": DAYAO_TOWNS})


def downgrade() -> None:
    with op.batch_alter_table("counties") as batch:
        batch.drop_column("towns")

"""tenancy: users belong to a county (or, with none, to the prefecture)

``users.county`` names the county whose cases a user sees and works on; NULL is the
prefecture (州 leaders and departments: every county). Existing users get the installation's
default county, so an upgraded single-county installation behaves exactly as before: its
cases (``cases.county`` NULL, i.e. the default county) stay visible to all its users. An
installation with no default county keeps its users prefecture-wide, which is the same.
``ix_cases_county`` serves every scoped list (``cases.county IN (...)``). A report counts
one county's cases: ``reports.county`` ("" for the reports made before, which counted the
one county there was: the default county's, as a case with no county), unique per kind,
period, county and version. A reserve project belongs to the county whose bureau records it
(``reserve_projects.county``, NULL: the default county). Like
``cases.county``, ``users.county`` is a county code without a foreign key (the services that
set it check it), so emptying the counties never cascades into the users.

Revision ID: 0022_tenancy
Revises: 0021_dashboard_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_tenancy"
down_revision = "0021_dashboard_indexes"
branch_labels = None
# The reports and reserve tables (0016, 0018: sibling branches) must exist before their
# county is added.
depends_on = ("0016_reports", "0018_reserve")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("county", sa.String(20), nullable=True))
        batch.create_index("ix_users_county", ["county"])
    op.create_index("ix_cases_county", "cases", ["county"])
    op.add_column("reserve_projects", sa.Column("county", sa.String(20), nullable=True))
    op.create_index("ix_reserve_projects_county", "reserve_projects", ["county"])
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("county", sa.String(20), nullable=False, server_default=""))
        batch.drop_constraint("uq_reports_kind_period_version", type_="unique")
        batch.create_unique_constraint("uq_reports_kind_period_county_version",
                                       ["kind", "period", "county", "version"])
    default = op.get_bind().execute(
        sa.text("SELECT code FROM counties WHERE is_default ORDER BY code LIMIT 1")).scalar()
    if default is not None:
        op.get_bind().execute(sa.text("UPDATE users SET county = :code"), {"code": default})


def downgrade() -> None:
    op.drop_index("ix_reserve_projects_county", table_name="reserve_projects")
    with op.batch_alter_table("reserve_projects") as batch:
        batch.drop_column("county")
    with op.batch_alter_table("reports") as batch:
        batch.drop_constraint("uq_reports_kind_period_county_version", type_="unique")
        batch.create_unique_constraint("uq_reports_kind_period_version",
                                       ["kind", "period", "version"])
        batch.drop_column("county")
    op.drop_index("ix_cases_county", table_name="cases")
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_county")
        batch.drop_column("county")

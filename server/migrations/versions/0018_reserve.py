"""reserve: the project reserve (项目储备库) and after-care milestones of completed cases

Revision ID: 0018_reserve
Revises: 0012_accountability
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_reserve"
down_revision = "0012_accountability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reserve_projects",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("investor", sa.String(200), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("industry", sa.String(40), nullable=False),
        sa.Column("investment_wan", sa.Float(), nullable=False),
        sa.Column("area", sa.String(100), nullable=False),
        sa.Column("stage", sa.String(10), nullable=False),
        sa.Column("leader", sa.String(80), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("liaison", sa.String(80), nullable=False),
        sa.Column("next_step", sa.Text(), nullable=False),
        sa.Column("next_step_on", sa.Date(), nullable=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    for column in ("industry", "area", "stage", "case_id"):
        op.create_index(f"ix_reserve_projects_{column}", "reserve_projects", [column])
    op.create_table(
        "reserve_stage_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("reserve_id", sa.Integer(),
                  sa.ForeignKey("reserve_projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("from_stage", sa.String(10), nullable=False),
        sa.Column("to_stage", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(80), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_reserve_stage_changes_reserve_id", "reserve_stage_changes",
                    ["reserve_id"])
    op.create_table(
        "reserve_evaluations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("reserve_id", sa.Integer(),
                  sa.ForeignKey("reserve_projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=False),
        sa.Column("rating", sa.String(10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("evaluated_by", sa.String(80), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_reserve_evaluations_reserve_id", "reserve_evaluations", ["reserve_id"])
    op.create_table(
        "aftercare_settings",
        sa.Column("county", sa.String(20), primary_key=True),
        sa.Column("start_work_months", sa.Integer(), nullable=False),
        sa.Column("production_months", sa.Integer(), nullable=False),
        sa.Column("effect_months", sa.Integer(), nullable=False),
        sa.Column("warn_days", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "aftercare_projects",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("leader", sa.String(80), nullable=False),
        sa.Column("steward", sa.String(80), nullable=False),
        sa.Column("promised_investment_wan", sa.Float(), nullable=True),
        sa.Column("promised_intensity", sa.Float(), nullable=True),
        sa.Column("land_mu", sa.Float(), nullable=True),
        sa.Column("invested_wan", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "aftercare_milestones",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("aftercare_id", sa.Integer(),
                  sa.ForeignKey("aftercare_projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=True),
        sa.Column("warned_at", sa.DateTime(), nullable=True),
        sa.Column("missed_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("aftercare_id", "kind", name="uq_milestone_kind"),
    )
    op.create_index("ix_aftercare_milestones_aftercare_id", "aftercare_milestones",
                    ["aftercare_id"])
    op.create_index("ix_aftercare_milestones_due_on", "aftercare_milestones", ["due_on"])
    op.create_table(
        "aftercare_progress",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("aftercare_id", sa.Integer(),
                  sa.ForeignKey("aftercare_projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("milestone", sa.String(20), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("invested_wan", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_aftercare_progress_aftercare_id", "aftercare_progress",
                    ["aftercare_id"])
    op.create_table(
        "aftercare_supervision",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("milestone_id", sa.Integer(),
                  sa.ForeignKey("aftercare_milestones.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("aftercare_id", sa.Integer(),
                  sa.ForeignKey("aftercare_projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("assignee", sa.String(80), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(80), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=False),
    )
    op.create_index("ix_aftercare_supervision_aftercare_id", "aftercare_supervision",
                    ["aftercare_id"])
    op.create_index("ix_aftercare_supervision_assignee", "aftercare_supervision", ["assignee"])


def downgrade() -> None:
    for table in ("aftercare_supervision", "aftercare_progress", "aftercare_milestones",
                  "aftercare_projects", "aftercare_settings", "reserve_evaluations",
                  "reserve_stage_changes", "reserve_projects"):
        op.drop_table(table)

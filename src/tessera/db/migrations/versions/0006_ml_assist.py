"""ML assist: per-project settings and state, model versions with their metrics, possible label errors,
and the model version of a model prelabel

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 20:27:56.120995
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ml_settings",
        sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("target_precision", sa.Float(), nullable=False),
        sa.Column("first_training_labels", sa.Integer(), nullable=False),
        sa.Column("min_labels_per_class", sa.Integer(), nullable=False),
        sa.Column("retrain_every", sa.Integer(), nullable=False),
        sa.Column("active_learning", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("clustering", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("featurized_items", sa.Integer(), server_default="0", nullable=False),
        sa.Column("trained_at_labels", sa.Integer(), nullable=True),
        sa.Column("training_requested", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_ml_settings_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_ml_settings")),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("backbone", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            sa.Enum("training", "ready", "failed", name="modelstatus", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("trained_on", sa.Integer(), nullable=False),
        sa.Column("target_precision", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("message", sa.String(length=1000), nullable=False),
        sa.Column("labels_needed", sa.Integer(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("curve", sa.JSON(), nullable=False),
        sa.Column("head_file", sa.String(length=500), nullable=True),
        sa.Column("prelabeled", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_model_versions_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index("ix_model_versions_project_id_version", ["project_id", "version"], unique=True)

    op.create_table(
        "label_issues",
        sa.Column(
            "item_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("suggested_class_ids", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_label_issues_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_label_issues_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_label_issues")),
    )
    with op.batch_alter_table("label_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_issues_project_id"), ["project_id"], unique=False)

    with op.batch_alter_table("prelabels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prelabels", schema=None) as batch_op:
        batch_op.drop_column("model_version")

    with op.batch_alter_table("label_issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_issues_project_id"))

    op.drop_table("label_issues")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_model_versions_project_id_version")

    op.drop_table("model_versions")
    op.drop_table("ml_settings")

"""labeling workflow: tasks and leases, annotations and their history, the label that counts, counters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:08:49.071422
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "class_counts",
        sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("class_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_class_counts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "class_id", name=op.f("pk_class_counts")),
    )
    op.create_table(
        "item_counts",
        sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_item_counts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "name", name=op.f("pk_item_counts")),
    )
    op.create_table(
        "labeler_counts",
        sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_labeler_counts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_labeler_counts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_labeler_counts")),
    )
    op.create_table(
        "labeling_settings",
        sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("page_size", sa.Integer(), nullable=False),
        sa.Column("lease_seconds", sa.Integer(), nullable=False),
        sa.Column("min_labelers", sa.Integer(), nullable=False),
        sa.Column("max_labelers", sa.Integer(), nullable=False),
        sa.Column("agreement_threshold", sa.Float(), nullable=False),
        sa.Column("iou_threshold", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_labeling_settings_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_labeling_settings")),
    )
    op.create_table(
        "rate_counts",
        sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("labels", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_rate_counts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "hour", name=op.f("pk_rate_counts")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("manual", "clustered", "prelabeled", name="taskkind", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open", "submitted", "expired", "released", name="taskstatus", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_tasks_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tasks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_project_id_user_id_status", ["project_id", "user_id", "status"], unique=False
        )
        batch_op.create_index("ix_tasks_status_lease_until", ["status", "lease_until"], unique=False)

    op.create_table(
        "task_items",
        sa.Column(
            "task_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "item_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("pending", "submitted", "skipped", name="itemoutcome", native_enum=False, length=40),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_items_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "item_id", name=op.f("pk_task_items")),
    )
    with op.batch_alter_table("task_items", schema=None) as batch_op:
        batch_op.create_index("ix_task_items_item_id", ["item_id"], unique=False)

    op.create_table(
        "annotations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "rejected", name="annotationstatus", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_annotations_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_annotations_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_annotations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name=op.f("uq_annotations_user_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.create_index("ix_annotations_project_id_user_id", ["project_id", "user_id"], unique=False)
        batch_op.create_index(
            "uq_annotations_active_item_user",
            ["item_id", "user_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "item_labels",
        sa.Column(
            "item_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("single", "consensus", "review", name="labelsource", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("agreement", sa.Float(), nullable=True),
        sa.Column("prelabel_outcome", sa.String(length=20), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_item_labels_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_labels_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_item_labels_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_labels")),
    )
    with op.batch_alter_table("item_labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_labels_project_id"), ["project_id"], unique=False)

    op.create_table(
        "label_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_label_events_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_label_events_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_label_events_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_events")),
    )
    with op.batch_alter_table("label_events", schema=None) as batch_op:
        batch_op.create_index("ix_label_events_item_id", ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_label_events_project_id"), ["project_id"], unique=False)

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("claim_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("labels_needed", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("assigned_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cluster_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prelabeled", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("width", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("height", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_items_assigned",
            ["assigned_user_id", "project_id"],
            unique=False,
            sqlite_where=sa.text("assigned_user_id IS NOT NULL"),
            postgresql_where=sa.text("assigned_user_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_items_cluster",
            ["project_id", "cluster_id"],
            unique=False,
            sqlite_where=sa.text("cluster_id IS NOT NULL"),
            postgresql_where=sa.text("cluster_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_items_prelabeled",
            ["project_id", "state"],
            unique=False,
            sqlite_where=sa.text("prelabeled"),
            postgresql_where=sa.text("prelabeled"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_items_assigned_user_id_users"),
            "users",
            ["assigned_user_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "item_label_classes",
        sa.Column("project_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("class_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "item_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_label_classes_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_item_label_classes_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "class_id", "item_id", name=op.f("pk_item_label_classes")),
    )
    op.create_table(
        "prelabels",
        sa.Column(
            "item_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("previous", "model", name="prelabelsource", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_prelabels_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_prelabels_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_prelabels")),
    )
    with op.batch_alter_table("prelabels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prelabels_project_id"), ["project_id"], unique=False)
    op.execute(
        "INSERT INTO item_counts (project_id, name, value) "
        "SELECT project_id, state, count(*) FROM items GROUP BY project_id, state"
    )


def downgrade() -> None:
    op.drop_table("prelabels")
    op.drop_table("item_label_classes")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_items_assigned_user_id_users"), type_="foreignkey")
        batch_op.drop_index(
            "ix_items_prelabeled", sqlite_where=sa.text("prelabeled"), postgresql_where=sa.text("prelabeled")
        )
        batch_op.drop_index(
            "ix_items_cluster",
            sqlite_where=sa.text("cluster_id IS NOT NULL"),
            postgresql_where=sa.text("cluster_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_items_assigned",
            sqlite_where=sa.text("assigned_user_id IS NOT NULL"),
            postgresql_where=sa.text("assigned_user_id IS NOT NULL"),
        )
        batch_op.drop_column("height")
        batch_op.drop_column("width")
        batch_op.drop_column("prelabeled")
        batch_op.drop_column("cluster_id")
        batch_op.drop_column("assigned_user_id")
        batch_op.drop_column("version")
        batch_op.drop_column("labels_needed")
        batch_op.drop_column("claim_count")
        batch_op.drop_column("label_count")

    with op.batch_alter_table("label_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_events_project_id"))
        batch_op.drop_index("ix_label_events_item_id")

    op.drop_table("label_events")
    with op.batch_alter_table("item_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_labels_project_id"))

    op.drop_table("item_labels")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_annotations_active_item_user",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_annotations_project_id_user_id")

    op.drop_table("annotations")
    with op.batch_alter_table("task_items", schema=None) as batch_op:
        batch_op.drop_index("ix_task_items_item_id")

    op.drop_table("task_items")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_status_lease_until")
        batch_op.drop_index("ix_tasks_project_id_user_id_status")

    op.drop_table("tasks")
    op.drop_table("rate_counts")
    op.drop_table("labeling_settings")
    op.drop_table("labeler_counts")
    op.drop_table("item_counts")
    op.drop_table("class_counts")

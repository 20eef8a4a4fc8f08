"""item order apart from items; removals as dataset versions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:05:00.000000

The random ranks leave their index inside `items` (every insert landed on a random page of it) for a
table of their own, written sorted after each load. Items remember the version that removed them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_order",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_item_order_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "rank", "item_id", name=op.f("pk_item_order")),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO item_order (project_id, rank, item_id) "
        "SELECT project_id, rank, id FROM items ORDER BY project_id, rank, id"
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_project_id_rank")
        batch_op.create_index(
            "ix_items_set_aside",
            ["project_id", "id"],
            unique=False,
            sqlite_where=sa.text("health = 'missing' OR state = 'removed'"),
            postgresql_where=sa.text("health = 'missing' OR state = 'removed'"),
        )
        batch_op.add_column(sa.Column("removed_version_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_items_removed_version_id_dataset_versions"),
            "dataset_versions",
            ["removed_version_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("files_removed", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_column("files_removed")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_items_removed_version_id_dataset_versions"), type_="foreignkey"
        )
        batch_op.drop_index("ix_items_set_aside")
        batch_op.drop_column("removed_version_id")
        batch_op.create_index("ix_items_project_id_rank", ["project_id", "rank"], unique=False)
    op.drop_table("item_order")

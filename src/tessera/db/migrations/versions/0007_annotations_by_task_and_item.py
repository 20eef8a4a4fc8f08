"""Annotations by task and by item: a task's labels are read on every claim and submit, and without an
index each read scanned every active label of every project (the queue benchmark slowed down minute by
minute); an item's labels, rejected ones too, are read by the review, which scanned every label

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 05:55:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.create_index("ix_annotations_task_id", ["task_id"], unique=False)
        batch_op.create_index("ix_annotations_item_id", ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_index("ix_annotations_item_id")
        batch_op.drop_index("ix_annotations_task_id")

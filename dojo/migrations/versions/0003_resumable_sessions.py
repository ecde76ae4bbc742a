"""Sessions any process can continue: the scenario as it was when the session started, and with every turn
what continuing needs (the message as the session saw it, the customer's state after it, a reply's feedback).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: sessions stored before this revision (and imported transcripts) have neither; they are kept,
    # listed and scored as before, and are simply not resumable.
    op.add_column("sessions", sa.Column("scenario_json", sa.Text, nullable=True))
    op.add_column("turns", sa.Column("detail", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("detail")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("scenario_json")

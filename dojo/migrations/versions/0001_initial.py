"""Users, practice sessions, turns, scores, channel-rule checks and reviews.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("scenario_id", sa.String(80), nullable=False),
        sa.Column("scenario_version", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("difficulty", sa.Integer, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("rubric_version", sa.String(80), nullable=False),
        sa.Column("model_version", sa.String(80), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS),
        sa.Column("outcome", sa.String(20)),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id"), nullable=False, index=True),
        sa.Column("index", sa.Integer, nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("response_s", sa.Float),
        sa.Column("beat", sa.String(80)),
        sa.Column("guard", sa.String(80)),
        sa.Column("mood", sa.String(20)),
        sa.UniqueConstraint("session_id", "index"),
    )
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("turn_id", sa.Integer, sa.ForeignKey("turns.id"), nullable=False, index=True),
        sa.Column("criterion", sa.String(20), nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("verdict", sa.Boolean, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("scenario_id", sa.String(80), nullable=False),
        sa.Column("scenario_version", sa.Integer, nullable=False),
        sa.Column("rubric_version", sa.String(80), nullable=False),
        sa.Column("model_version", sa.String(80), nullable=False),
    )
    op.create_table(
        "rule_checks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("turn_id", sa.Integer, sa.ForeignKey("turns.id"), nullable=False, index=True),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("turn_id", sa.Integer, sa.ForeignKey("turns.id"), nullable=False, index=True),
        sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("criterion", sa.String(20), nullable=False),
        sa.Column("label", sa.Integer, nullable=False),
        sa.Column("round_id", sa.String(40)),
        sa.Column("note", sa.Text),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("reviews", "rule_checks", "scores", "turns", "sessions", "users"):
        op.drop_table(table)

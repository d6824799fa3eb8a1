"""index tasks.updated_at for the status read model

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 18:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tasks_updated_at', 'tasks', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tasks_updated_at', table_name='tasks')

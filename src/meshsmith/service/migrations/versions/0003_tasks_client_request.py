"""tasks.client_request: the request as its API dialect echoes it back

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('client_request', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('client_request')

"""auth failures: the brute-force throttle's counters per API key id and client address

Revision ID: 0004_auth_failures
Revises: 0003_audit_sealed
Create Date: 2026-12-01 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_auth_failures'
down_revision = '0003_audit_sealed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_failures',
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('kind', 'subject', name=op.f('pk_auth_failures')),
    )


def downgrade() -> None:
    op.drop_table('auth_failures')

"""audit entries carry the district they are about (a scoped auditor reads only its own);
after 0003, which rebuilds the table on SQLite

Revision ID: 0005_audit_district
Revises: 0004_auth_failures
Create Date: 2026-12-01 19:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_audit_district'
down_revision = '0004_auth_failures'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: city level (entries from before this column, or about several districts).
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('district', sa.String(length=64), nullable=True))
        batch.create_index('ix_audit_log_district', ['district'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_index('ix_audit_log_district')
        batch.drop_column('district')

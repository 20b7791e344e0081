"""audit entries carry the district they are about (a scoped auditor reads only its own)

Revision ID: 0403_audit_district_policy
Revises: 0402
Create Date: 2026-12-01 19:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0403_audit_district_policy'
down_revision = '0402'
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

"""guard spans: the dated guard state reports read, built from existing history

Revision ID: 0402
Revises: 0401
Create Date: 2026-11-26 13:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0402'
down_revision = '0401'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guard_spans',
    sa.Column('valid_to', sa.DateTime(), nullable=False),
    sa.Column('guard_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(), nullable=False),
    sa.Column('duty_status', sa.String(length=32), nullable=True),
    sa.Column('employer_id', sa.Integer(), nullable=True),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('post_site', sa.String(length=200), nullable=True),
    sa.Column('on_duty_since', sa.DateTime(), nullable=True),
    sa.Column('face_at', sa.DateTime(), nullable=True),
    sa.Column('fingers', sa.Integer(), nullable=False),
    sa.Column('fingers_exc', sa.Integer(), nullable=False),
    sa.Column('certificate', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('valid_to', 'guard_id', name=op.f('pk_guard_spans')),
    sqlite_with_rowid=False,
    )
    op.create_index(op.f('ix_guard_spans_guard_id'), 'guard_spans', ['guard_id'], unique=False)
    # Existing history becomes spans here (the same code that keeps them in step afterwards).
    from reporting import spans
    spans.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index(op.f('ix_guard_spans_guard_id'), table_name='guard_spans')
    op.drop_table('guard_spans')

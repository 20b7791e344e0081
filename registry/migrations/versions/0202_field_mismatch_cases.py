"""mismatch cases: a biometric no-match is recaptured, then reviewed, before it counts

Revision ID: 0202_field_mismatch_cases
Revises: 0201
Create Date: 2026-12-01 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0202_field_mismatch_cases'
down_revision = '0201'
branch_labels = None
depends_on = None

STATUS = ('recapture', 'cleared', 'suspected', 'confirmed', 'dismissed')


def upgrade() -> None:
    op.create_table(
        'mismatch_cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('guard_id', sa.Integer(), nullable=False),
        sa.Column('certificate_number', sa.String(length=64), nullable=False),
        sa.Column('district', sa.String(length=64), nullable=False),
        sa.Column('site', sa.String(length=200), nullable=True),
        sa.Column('inspector', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Enum(*STATUS, name='mismatchstatus', native_enum=False,
                                    length=32), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('violation_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['guard_id'], ['guards.id'],
                                name=op.f('fk_mismatch_cases_guard_id_guards')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mismatch_cases')))
    with op.batch_alter_table('mismatch_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mismatch_cases_guard_id'), ['guard_id'])
        batch_op.create_index(batch_op.f('ix_mismatch_cases_district'), ['district'])
        batch_op.create_index(batch_op.f('ix_mismatch_cases_status'), ['status'])
    with op.batch_alter_table('spot_checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mismatch_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('attempt', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_spot_checks_mismatch_id'), ['mismatch_id'])
        batch_op.create_foreign_key(batch_op.f('fk_spot_checks_mismatch_id_mismatch_cases'),
                                    'mismatch_cases', ['mismatch_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('spot_checks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_spot_checks_mismatch_id_mismatch_cases'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_spot_checks_mismatch_id'))
        batch_op.drop_column('attempt')
        batch_op.drop_column('mismatch_id')
    op.drop_table('mismatch_cases')
